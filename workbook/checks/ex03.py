"""Checks for exercise 03: the compensations list."""

from workbook import world
from workbook.checks import (
    Suite, arrow, expect, expect_compensations, expect_no_orphans, expect_status,
    expect_trip_booked,
)  # fmt: skip

suite = Suite("03", "Compensations: undo what was done, newest first")

RERAISE = "After compensating, re-raise the error (`raise`) so the workflow is marked Failed."


@suite.check("A good card books flight, hotel and car once, runs no compensation, confirms the trip")
async def happy_path(lab):
    expect_trip_booked(await lab.book(lab.trip()))


@suite.check("A bad card number undoes payment → car → hotel → flight and ends Failed")
async def bad_card(lab):
    outcome = await lab.book(lab.trip(card_number="424242424242424"))
    expected = ["refund_payment", "cancel_car", "cancel_hotel", "cancel_flight"]
    expect_compensations(outcome, expected, "charge_payment", lab.source)
    expect_status(outcome, "Failed", RERAISE)
    expect(not world.payments(outcome.trip.trip_id), "the card was charged although it is invalid.")
    expect_no_orphans(outcome)


@suite.check("A hotel with no such room undoes only what was started: hotel → flight")
async def hotel_fails(lab):
    outcome = await lab.book(lab.trip(room_type="penthouse"))
    expected = ["cancel_hotel", "cancel_flight"]
    ran = outcome.timeline.compensations
    expect(
        "cancel_car" not in ran and "refund_payment" not in ran,
        f"the compensations ran {arrow(ran)}, but the car and the payment never started: "
        "only undo the steps whose undo you registered.",
    )
    expect_compensations(outcome, expected, "book_hotel", lab.source)
    expect_status(outcome, "Failed", RERAISE)
    expect_no_orphans(outcome)


@suite.check("A car booked whose reply was lost is cancelled too (undo registered before the step)")
async def lost_reply(lab):
    world.inject("book_car", "lose_reply")  # every attempt books, then the answer is lost
    outcome = await lab.book(lab.trip())
    expected = ["cancel_car", "cancel_hotel", "cancel_flight"]
    if not outcome.timeline.compensations:  # a more basic mistake comes first
        expect_compensations(outcome, expected, "book_car", lab.source)
    car_held = [r for r in world.reservations(outcome.trip.trip_id) if r.kind == "car" and r.status == "held"]
    expect(
        not car_held,
        f"book_car reserved car {car_held[0].id if car_held else ''} but its reply was lost, "
        "and nobody cancelled it: register each undo *before* its step, because a step "
        "that fails may still have done its work.",
    )
    expect_compensations(outcome, expected, "book_car", lab.source)
    expect_status(outcome, "Failed", RERAISE)
    expect_no_orphans(outcome)
