"""Checks for exercise 03: the compensations list.

Every failure scenario also makes one undo meet a short outage (it fails three times,
then works), because undos run when things are already going wrong.
"""

import asyncio

from workbook import world
from workbook.checks import Suite, expect_trip_booked
from workbook.checks.saga import expect_typed_undos, expect_undone, undo_meets_outage

suite = Suite("03", "Compensations: undo what was done, newest first")


@suite.check("A good card books flight, hotel and car once, runs no compensation, confirms the trip")
async def happy_path(lab):
    expect_trip_booked(await lab.book(lab.trip()))


@suite.check("Undos are registered as functions (typed), never as name strings")
async def typed_undos(lab):
    expect_typed_undos(lab)


@suite.check("A bad card number undoes payment → car → hotel → flight, one after another, and ends Failed")
async def bad_card(lab):
    undo_meets_outage("cancel_car")
    outcome = await lab.book(lab.trip(card_number="424242424242424"))
    expect_undone(outcome, lab)


@suite.check("A hotel with no such room undoes only what was started: hotel → flight")
async def hotel_fails(lab):
    undo_meets_outage("cancel_flight")
    expect_undone(await lab.book(lab.trip(room_type="penthouse")), lab)


@suite.check("A step that books but loses its reply is undone too, whichever step it is (undo registered before the step)")
async def lost_reply(lab):
    # One trip per step: every attempt of that step does its work, then the answer is lost.
    trips = {operation: lab.trip() for operation in ("book_flight", "book_hotel", "book_car", "charge_card")}
    for operation, trip in trips.items():
        world.inject(operation, "lose_reply", scope=trip.trip_id)
    undo_meets_outage("cancel_hotel")
    for outcome in await asyncio.gather(*(lab.book(trip) for trip in trips.values())):
        expect_undone(outcome, lab, lost_reply=True)


@suite.check("A confirmation that keeps failing, the very last step, undoes all four steps")
async def confirm_fails(lab):
    world.inject("confirm_trip", "fail")  # an outage that outlasts the step's retries
    undo_meets_outage("refund_payment")
    expect_undone(await lab.book(lab.trip()), lab)


@suite.check("Business errors fail at once and are undone: a sold-out flight, a declined card")
async def business_errors(lab):
    undo_meets_outage("cancel_flight")
    expect_undone(await lab.book(lab.trip(flight="TW305")), lab)
    undo_meets_outage("cancel_hotel")
    expect_undone(await lab.book(lab.trip(card_number=world.DECLINED_CARD)), lab)
