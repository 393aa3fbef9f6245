"""Checks for exercise 11: isolation. Two or more trips book the same flight, hotel and car
while one of them is halfway, and another request acts on a booking.

The interleavings are decided by the check, never by the machine's load: a trip's car desk is
held (Lab.book(held=..., released_by=...)) until the check has run what it wants meanwhile (a
whole other trip, another trip up to its own held desk, an upgrade request), and only then is
it released (to say no, for the trips that fail). Every scenario books items of its own
(load_inventory), so the stock it judges is exact: what it started with, less what the
reservations still holding one take, after every interleaving.

What the README teaches, and what proves it:

| README point                                       | scenario (check)                                | what fails when it is violated                          |
| -------------------------------------------------- | ----------------------------------------------- | ------------------------------------------------------- |
| B: an undo puts back with an increment, never      | lost_update: A halfway while B books everything; | "a booking was lost" / "was put back twice" / "not put  |
|    writes back a number read earlier               | A and B both halfway, A undone first; B fails   | back": the stock, per item, with the undo that wrote it |
|                                                    | while A is halfway                              |                                                         |
| C1: bookings are pending while the saga runs       | dirty_read (looked at while the car is held)    | "are held, not pending"                                 |
| C2: confirm_trip confirms them                     | booked; dirty_read (an upgrade after the trip)  | "still pending after the trip was confirmed"            |
| C3: the upgrade desk refuses a pending room, and   | dirty_read: an upgrade while A is halfway, then | "the upgrade desk upgraded trip ...'s room while its    |
|     upgrades a confirmed one                       | A fails; an upgrade of a confirmed trip         | saga was halfway"; "refused the upgrade of a confirmed" |
| D: the itinerary goes out after the pivot; if it   | booked; itinerary_after_pivot: a declined card; | "emailed before the trip stood"; "undid a confirmed     |
|    fails the trip still stands, with a notice      | the email service down for good                 | trip"; "no notice"                                      |
| zero orphans, Failed after a failure, exact stock  | every scenario                                  | orphans, status, stock                                  |

A source scan never fails an answer: the checks judge the world (stock, statuses, what the
upgrade desk acted on, the mail sent) and the event history (the order of the steps).
"""

from __future__ import annotations

import asyncio
import uuid

from temporalio.client import WorkflowFailureError

from workbook import world
from workbook.checks import (
    CheckFailed, CodeError, Outcome, Suite, arrow, expect, expect_itinerary_matches, expect_no_orphans,
)  # fmt: skip
from workbook.checks.saga import expect_status_failed

suite = Suite("11", "Isolation: what other trips see while a saga runs")

BOOKINGS = ["book_flight", "book_hotel", "book_car"]
STEPS = [*BOOKINGS, "charge_payment", "confirm_trip"]
NO_CAR = "book_car: no car of this type is left for these dates"
UNDO_OF = {"flight": "cancel_flight", "hotel": "cancel_hotel", "car": "cancel_car"}


class Items:
    """A flight, a hotel (deluxe rooms and two suites) and a car type of one scenario's own."""

    def __init__(self, lab, seats: int = 40):
        tag = f"{lab.prefix}-{uuid.uuid4().hex[:4]}"
        self.flight, self.hotel, self.car_type = f"F-{tag}", f"h-{tag}", f"c-{tag}"
        world.load_inventory(
            flights=[(self.flight, "SFO", "JFK", "2026-12-18", 28000, seats)],
            hotel_rooms=[(self.hotel, "Check Hotel", "New York", "deluxe", 31500, 20),
                         (self.hotel, "Check Hotel", "New York", "suite", 52000, 2)],
            cars=[("New York", self.car_type, 5500, 20)],
        )  # fmt: skip
        self.lab = lab
        self.stock = {("flight", self.flight): seats, ("hotel", f"{self.hotel}/deluxe"): 20,
                      ("hotel", f"{self.hotel}/suite"): 2, ("car", f"New York/{self.car_type}"): 20}  # fmt: skip

    def trip(self, **changes):
        return self.lab.trip(flight=self.flight, hotel=self.hotel, room_type="deluxe", car_type=self.car_type, **changes)

    def expect_exact(self, story: str, trips) -> None:
        """Every item shows what it started with, less what the reservations holding one take."""
        for (kind, item), start in self.stock.items():
            holding = [r for r in world.reservations() if r.item == item and r.status in world.HOLDING]
            free = world.available(kind, item)
            if free == start - len(holding):
                continue
            names = ", ".join(t.trip_id for t in trips)
            shown = f"{kind} {item} shows {free} free; it should show {start - len(holding)} ({start} at the start, {len(holding)} still booked{' by ' + ', '.join(sorted({r.trip_id for r in holding})) if holding else ''})"
            if free > start - len(holding):
                raise CheckFailed(
                    f"{story} ({names}), {shown}: a booking was lost, its {kind} is on sale again while a trip holds it. "
                    f"{UNDO_OF[kind]} wrote back a count it read earlier (the receipt's number + 1), erasing what other "
                    f"trips booked since. Put it back with an increment: the desk's cancel (world.cancel_{kind}(key=...)) "
                    "adds one to whatever the stock is now (Part B).",
                    mistake="lost update",
                )
            raise CheckFailed(
                f"{story} ({names}), {shown}: an undo released its {kind} without putting it back on sale. "
                f"world.cancel_{kind}(key=...) releases the reservation and adds one back, in one step (Part B).",
                mistake="not put back",
            )


async def book(lab, trip, held=(), released_by=None) -> Outcome:
    outcome = await lab.book(trip, held=held, released_by=released_by)
    for run in outcome.timeline.runs:
        if run.outcome in ("failed", "timed out") and run.error_type not in ("NoAvailability", "CardDeclined", "Refused", "UnknownItem", "InvalidCardNumber", "ServiceUnavailable", "BookingPending", "ApplicationError", ""):
            raise CodeError(f"{run.name} failed with {run.error_type}: {run.error}")
    return outcome


def _refuse_car(trip) -> None:
    world.inject("book_car", "refuse", message=NO_CAR, scope=trip.trip_id)


def expect_undone(outcome: Outcome) -> None:
    expect_status_failed(outcome)
    confirmed = [f"{r.kind} {r.id}" for r in world.reservations(outcome.trip.trip_id) if r.status == "confirmed"]
    expect(not confirmed, f"trip {outcome.trip.trip_id} failed ({outcome.error}), yet its {', '.join(confirmed)} "
           "had been confirmed before: an undo leaves a confirmed booking alone, so it stays taken. Confirm the "
           "bookings only at the pivot, in confirm_trip, once the trip is confirmed (Part C).")  # fmt: skip
    expect_no_orphans(outcome)


async def upgrade(lab, trip) -> tuple[bool, str]:
    """Ask the upgrade desk for ``trip``'s room, as another customer request (the exercise's
    UpgradeRoomWorkflow on the same worker). (upgraded?, its result or why it was refused)."""
    upgrade_class = getattr(lab.modules.workflow, "UpgradeRoomWorkflow", None)
    if upgrade_class is None:
        raise CodeError("workflow.py has no UpgradeRoomWorkflow: did you rename it? It is the upgrade request (Part A).")
    handle = await lab.client.start_workflow(
        upgrade_class.run, trip, id=f"{trip.trip_id}-upgrade-{uuid.uuid4().hex[:4]}", task_queue=lab.task_queue
    )
    try:
        return True, str(await asyncio.wait_for(handle.result(), 20))
    except WorkflowFailureError as failure:
        cause = failure.cause
        while getattr(cause, "cause", None) is not None:
            cause = cause.cause
        return False, getattr(cause, "message", "") or str(cause)
    except asyncio.TimeoutError:
        await handle.terminate()
        raise CheckFailed(
            "the upgrade request (UpgradeRoomWorkflow) did not finish within 20 seconds: is it registered on the "
            "worker (workflows=[...] in worker.py's create_worker())?"
        ) from None


def _statuses(trip_id: str) -> dict[str, str]:
    return {r.kind: r.status for r in world.reservations(trip_id)}


def expect_confirmed(outcome: Outcome) -> None:
    statuses = _statuses(outcome.trip.trip_id)
    pending = [kind for kind, status in statuses.items() if status == "pending"]
    expect(not pending, f"trip {outcome.trip.trip_id} is confirmed, yet its {', '.join(pending)} booking is still "
           "pending: nobody can act on it, and the saga is over. In confirm_trip, confirm each booking "
           "(world.confirm_booking(key=...)) once the trip is confirmed (Part C).")  # fmt: skip


@suite.check("A trip with nothing going wrong is booked; its bookings end confirmed, and the itinerary goes out after the pivot")
async def booked(lab):
    items = Items(lab)
    outcome = await book(lab, items.trip())
    expect(outcome.status == "Completed", f"the workflow ended {outcome.status}; expected Completed. It failed with: {outcome.error}")
    steps = [name for name in outcome.timeline.steps if name != "send_itinerary"]
    expect(steps == STEPS, f"the steps ran {arrow(outcome.timeline.steps)}; expected {arrow([*STEPS, 'send_itinerary'])}, each once.")
    expect(not outcome.timeline.compensations, f"nothing failed, yet {arrow(outcome.timeline.compensations)} ran.")
    expect_confirmed(outcome)
    _expect_itinerary_after_pivot(outcome)
    expect_itinerary_matches(outcome)
    expect_no_orphans(outcome)
    items.expect_exact("after one trip was booked", [outcome.trip])


def _expect_itinerary_after_pivot(outcome: Outcome) -> None:
    runs = {r.name: r for r in outcome.timeline.runs if not r.compensation}
    email, confirm = runs.get("send_itinerary"), runs.get("confirm_trip")
    expect(email is not None, "the trip was booked, but send_itinerary never ran: email the itinerary once the trip stands (Part D).")
    if confirm is None or email.scheduled_event < (confirm.closed_event or 0):
        raise CheckFailed(
            "the itinerary was emailed before the trip stood (send_itinerary started before confirm_trip had "
            "finished): the customer acts on it at once, and an email cannot be unsent, yet the saga could still "
            "undo the trip. Send it after the pivot, after confirm_trip (Part D).",
            mistake="email early",
        )


@suite.check("Two trips interleaved: after every interleaving the stock is exact, and no booking is lost")
async def lost_update(lab):
    items = Items(lab)
    # 1. A holds its flight and room; B books everything; then A's car says no and A is undone.
    a, b = items.trip(), items.trip(customer="Grace Hopper")
    _refuse_car(a)
    other = {}

    async def b_books():
        try:
            other["b"] = await book(lab, b)
        except BaseException as error:  # raised after A is judged, not lost in the helper task
            other["error"] = error

    first = await book(lab, a, held=("book_car",), released_by=b_books)
    expect(other, f"trip {a.trip_id} never reached its car booking: {first.error or first.status}")
    if "error" in other:
        raise other["error"]
    expect_undone(first)
    expect(other["b"].status == "Completed", f"trip {b.trip_id} ended {other['b'].status}: {other['b'].error}")
    items.expect_exact(f"after trip {a.trip_id} was undone while trip {b.trip_id} booked the same items", [a, b])

    # 2. Both halfway (A's car held, then B's), A undone first, then B: both fail.
    items = Items(lab)
    a, b = items.trip(), items.trip(customer="Grace Hopper")
    _refuse_car(a)
    _refuse_car(b)
    a_done, b_picked, later = asyncio.Event(), asyncio.Event(), {}

    async def b_halfway():
        async def until_a_is_undone():
            b_picked.set()
            await a_done.wait()

        later["b"] = asyncio.ensure_future(book(lab, b, held=("book_car",), released_by=until_a_is_undone))
        await asyncio.wait([later["b"], asyncio.ensure_future(b_picked.wait())], return_when=asyncio.FIRST_COMPLETED)

    try:
        first = await book(lab, a, held=("book_car",), released_by=b_halfway)
    finally:
        a_done.set()
    expect(later, f"trip {a.trip_id} never reached its car booking: {first.error or first.status}")
    second = await later["b"]
    for outcome in (first, second):
        expect_undone(outcome)
    items.expect_exact(f"after trips {a.trip_id} and {b.trip_id} were both halfway, and undone in the order they booked", [a, b])


@suite.check(
    "Another request meets a pending booking: the upgrade desk refuses a room whose saga is halfway, "
    "and upgrades it once the trip is confirmed"
)
async def dirty_read(lab):
    items = Items(lab)
    a = items.trip()
    _refuse_car(a)
    seen = {}

    async def meanwhile():
        seen["statuses"] = _statuses(a.trip_id)
        try:
            seen["upgrade"] = await upgrade(lab, a)
        except BaseException as error:  # raised after the trip is judged, not lost in the helper task
            seen["error"] = error

    outcome = await book(lab, a, held=("book_car",), released_by=meanwhile)
    expect(seen, f"trip {a.trip_id} never reached its car booking: {outcome.error or outcome.status}")
    if "error" in seen:
        raise seen["error"]
    held = [kind for kind, status in seen["statuses"].items() if status != "pending"]
    acted = [u for u in world.upgrades(a.trip_id) if not u.trip_confirmed]
    if held:
        raise CheckFailed(
            f"while trip {a.trip_id}'s saga was halfway (its car still being booked), its {' and '.join(held)} "
            f"bookings were {seen['statuses'][held[0]]}, not pending: nobody else can tell them from bookings that "
            "stand" + (", and the upgrade desk upgraded its room; then the saga undid the trip" if acted else "")
            + ". Book them pending (pending=True), a semantic lock that confirm_trip lifts (Part C).",
            mistake="not pending",
        )
    if acted:
        raise CheckFailed(
            f"the upgrade desk upgraded trip {a.trip_id}'s room while its saga was halfway (the room was "
            f"{acted[0].status}); then the saga undid the trip: the upgrade acted on a booking that never stood. "
            "In upgrade_room, look at the booking first (world.booking(...)) and refuse a pending one with a "
            "non-retryable ApplicationError (Part C).",
            mistake="dirty read",
        )
    upgraded, said = seen["upgrade"]
    expect(not upgraded, f"the upgrade of trip {a.trip_id}'s pending room completed ({said}), yet the desk did nothing?")
    expect_undone(outcome)
    items.expect_exact(f"after trip {a.trip_id} was undone", [a])

    # Once the trip stands, the same request goes through.
    c = items.trip()
    booked = await book(lab, c)
    expect(booked.status == "Completed", f"trip {c.trip_id} ended {booked.status}: {booked.error}")
    expect_confirmed(booked)
    upgraded, said = await upgrade(lab, c)
    expect(upgraded, f"the upgrade desk refused the upgrade of a confirmed trip's room ({c.trip_id}): {said}. Refuse "
           "only a room that is still pending; a confirmed one is the customer's to upgrade (Part C).")  # fmt: skip
    done = world.upgrades(c.trip_id)
    expect(done and done[-1].trip_confirmed, f"the upgrade of trip {c.trip_id} completed, but the desk never upgraded its room.")
    items.expect_exact(f"after trip {c.trip_id}'s room was upgraded", [a, c])
    expect_no_orphans(booked)


@suite.check("The itinerary goes out only once the trip stands: none after a declined card; an email outage undoes nothing")
async def itinerary_after_pivot(lab):
    items = Items(lab)
    declined, email_down = items.trip(card_number=world.DECLINED_CARD), items.trip()
    unconfirmed = items.trip()
    world.inject("send_email", "fail", scope=email_down.trip_id)
    world.inject("confirm_trip", "refuse", message="confirm_trip: the trip can no longer be confirmed", scope=unconfirmed.trip_id)
    failed, stood, refused = await asyncio.gather(book(lab, declined), book(lab, email_down), book(lab, unconfirmed))
    sent = [key for operation, key, _ in world.journal() if operation == "send_email" and key.startswith(f"{declined.trip_id}:")]
    if sent or any(r.name == "send_itinerary" for r in failed.timeline.runs):
        raise CheckFailed(
            f"trip {declined.trip_id}'s card was declined and the trip undone, yet its itinerary was emailed to the "
            "customer first: they act on a trip that never stood, and an email cannot be unsent. Send the itinerary "
            "after the pivot, after confirm_trip (Part D).",
            mistake="email early",
        )
    expect_undone(failed)
    expect_undone(refused)
    undone = stood.timeline.compensations
    expect(not undone, f"the email service was down, and the saga undid a confirmed trip ({arrow(undone)}): after the "
           "pivot nothing is undone. Catch the email's failure and add a notice instead (Part D).")  # fmt: skip
    expect(stood.status == "Completed", f"the email service was down, and the workflow ended {stood.status} ({stood.error}): "
           "the trip stands whatever the email does. Catch the email's failure and add a notice (Part D).")  # fmt: skip
    notices = stood.result.get("notices") if isinstance(stood.result, dict) else None
    expect(notices, "the email service was down, and the itinerary came back with no notice: the customer never hears "
           "that their itinerary was not sent. Add a notice to Itinerary(..., notices) (Part D).")  # fmt: skip
    expect_confirmed(stood)
    expect_no_orphans(stood)
    items.expect_exact("after a declined card, an email outage and a refused confirmation", [declined, email_down, unconfirmed])
