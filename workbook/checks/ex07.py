"""Checks for exercise 07: the flight, the hotel and the car booked at once.

The three bookings don't depend on each other, so they must be started together: their
ActivityTaskScheduled events come from one workflow task (one
workflow_task_completed_event_id). When one fails, another may still be in flight: the
checks slow the desks down (world.inject(..., "slow", seconds=...)) so that the hotel
fails while the car is still being booked. A saga that compensates at once undoes a car
that does not exist yet, and the car booked a moment later stays held: the checks wait
for every booking to settle in the world before they audit the trip.

What must be undone is read from history and the world: every booking that did
something (it completed, or it holds a reservation although its reply was lost), each
after it settled. The undo of a step that failed is accepted (registered before its
step, it finds nothing); an undo of a step that never started is not. The payment's
undo closes before any booking's undo starts; the bookings' undos may run together or
one after another.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from workbook import world
from workbook.audit import audit
from workbook.checks import CheckFailed, CodeError, Outcome, Suite, arrow, expect, expect_no_orphans
from workbook.checks.saga import (
    BUSINESS_ERRORS, OUTAGES, _activity_bug, _why_nothing_ran, expect_status_failed, undo_meets_outage,
)  # fmt: skip
from workbook.source import unawaited_activity_calls
from workbook.timeline import ActivityRun, timeline_of

suite = Suite("07", "Parallel booking: book at once, settle, then undo")

BOOKINGS = ["book_flight", "book_hotel", "book_car"]
UNDO_OF = {"book_flight": "cancel_flight", "book_hotel": "cancel_hotel", "book_car": "cancel_car",
           "charge_payment": "refund_payment"}  # fmt: skip
STEP_OF = {undo: step for step, undo in UNDO_OF.items()}
KIND = {"book_flight": "flight", "book_hotel": "hotel", "book_car": "car"}
SETTLE_MARGIN = 5.0  # real seconds, beyond its slowness, for a forgotten booking to land (a
# loaded machine needs more than 2 s; only a wrong answer, whose booking outlived it, waits)
HOTEL_SLOW, CAR_SLOW = 0.2, 1.5  # the hotel says no while the car desk is still working (a wide
# margin: on a busy machine a workflow task can take half a second to run)


async def book(lab, trip, slow: dict[str, float] | None = None) -> Outcome:
    """Book ``trip`` with the desks in ``slow`` (operation: seconds) taking their time.
    When the workflow ended with a booking still running (nothing waited for it), wait
    until that booking has landed in the world, then audit the trip again: what a
    forgotten booking leaves behind is the point. The outcome's timeline gains each
    run's workflow task (``run.task``: the workflow_task_completed_event_id that scheduled it)."""
    slow = slow or {}
    for operation, seconds in slow.items():
        world.inject(operation, "slow", seconds=seconds, scope=trip.trip_id)
    started = time.monotonic()
    try:
        outcome = await lab.book(trip)
    except CodeError as error:  # a workflow that went on after a booking failed ends in a bug: say so first
        timeline = await timeline_of(lab.client.get_workflow_handle(trip.trip_id))
        _went_on(timeline.runs)
        raise error
    tasks = await _tasks(lab, trip.trip_id)
    for run in outcome.timeline.runs:
        run.task = tasks.get(run.scheduled_event, 0)
    running = [r.name for r in outcome.timeline.runs if r.name in BOOKINGS and r.outcome == "running"]
    if running:
        deadline = started + max(slow.get(name, 0.0) for name in running) + SETTLE_MARGIN
        while time.monotonic() < deadline and not all(_holds(trip.trip_id, name) for name in running):
            await asyncio.sleep(0.05)
        outcome.report = audit(trip.trip_id)
    return outcome


async def _tasks(lab, workflow_id: str) -> dict[int, int]:
    """For each ActivityTaskScheduled event: the workflow task that scheduled it."""
    history = await lab.client.get_workflow_handle(workflow_id).fetch_history()
    return {
        e.event_id: e.activity_task_scheduled_event_attributes.workflow_task_completed_event_id
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    }


def _holds(trip_id: str, step: str) -> list:
    return [r for r in world.reservations(trip_id) if r.kind == KIND[step] and r.status == "held"]


def _runs(outcome: Outcome, name: str) -> list[ActivityRun]:
    return [r for r in outcome.timeline.runs if r.name == name]


def _went_on(runs: list[ActivityRun]) -> None:
    failed = [r.name for r in runs if r.name in BOOKINGS and r.outcome in ("failed", "timed out")]
    onward = [r.name for r in runs if r.name in ("charge_payment", "confirm_trip")]
    if failed and onward:
        raise CheckFailed(
            f"{failed[0]} failed, yet the workflow went on to {onward[0]}: with "
            "return_exceptions=True, gather hands you the errors as results. Look at them once "
            "every booking has settled, and raise the first one, so the except block undoes the rest."
        )


def _bugs(outcome: Outcome, lab) -> None:
    for run in outcome.timeline.runs:  # a bug in the code, before anything else
        if run.outcome in ("failed", "timed out") and run.error_type not in BUSINESS_ERRORS | OUTAGES:
            raise CodeError(_activity_bug(run, lab))


def expect_together(outcome: Outcome) -> None:
    """The three bookings were scheduled by one workflow task, before any of them ended."""
    runs = [r for r in outcome.timeline.runs if r.name in BOOKINGS]
    names = [r.name for r in runs]
    missing = [name for name in BOOKINGS if name not in names]
    if missing:
        failed = [r.name for r in runs if r.outcome != "completed"]
        first = f"{failed[0]} failed first" if failed else "the workflow ended first"
        raise CheckFailed(
            f"{arrow(missing)} never started: {first}, and the bookings were started "
            "one after another. They don't depend on each other: start all three at once "
            "(asyncio.gather of the three execute_activity calls), then wait for them together."
        )
    if len({r.task for r in runs}) > 1:
        later = next(r for r in runs if r.task != runs[0].task)
        ended = [r.name for r in runs if r.closed_event and r.closed_event < later.scheduled_event]
        after = f"only after {arrow(ended)} had finished" if ended else "in a later workflow task"
        raise CheckFailed(
            f"the bookings were started one after another: {later.name} was scheduled {after}, so the "
            "trip waits for each desk in turn. They don't depend on each other: start all three at "
            "once (asyncio.gather of the three execute_activity calls), then wait for them together."
        )


def expect_settled_then_undone(outcome: Outcome, lab) -> None:
    """After a failure: every booking that did something was undone after it settled, the
    payment's undo first, every undo finished, nothing undone that never started, Failed,
    zero orphans."""
    runs, trip_id = outcome.timeline.runs, outcome.trip.trip_id
    _bugs(outcome, lab)
    undos = [r for r in runs if r.compensation]
    unfinished = [r.name for r in undos if r.outcome in ("running", "cancelled")]
    unawaited = unawaited_activity_calls(lab.source)
    if unawaited and (unfinished or not undos):
        raise CheckFailed(
            f"no compensation finished: the call on workflow.py line {', '.join(map(str, unawaited))} "
            "is not awaited, so nothing waits for it. Await each undo (or the gather of a group's undos)."
        )
    if unfinished:
        raise CheckFailed(
            f"{arrow(unfinished)} started, but the workflow ended before they finished: every undo "
            "must complete before the workflow fails. Await the undos of each group (asyncio.gather) "
            "before you go on."
        )
    gave_up = [r for r in undos if r.outcome in ("failed", "timed out")]
    if gave_up:
        run = gave_up[0]
        limit = f"its retry policy allows {run.max_attempts} attempts" if run.max_attempts else "it gave up"
        raise CheckFailed(
            f"{run.name} failed {run.attempts} time(s) while its service was briefly down, and {limit}: "
            "an undo must retry an outage until it passes (UNDO, without maximum_attempts)."
        )
    expect_together(outcome)
    _went_on(runs)
    first_undo = min((r.scheduled_event for r in undos), default=0)
    in_flight = []  # bookings still in flight when the saga compensated
    for step in BOOKINGS:
        run = _runs(outcome, step)[-1]
        if run.outcome == "running" or (first_undo and run.closed_event > first_undo):
            in_flight.append(step)
    # Under load more than one may be in flight: name the one whose booking stayed held.
    holds = {step: _holds(trip_id, step) for step in in_flight}
    for step in sorted(in_flight, key=lambda step: not holds[step]):
        if undos or holds[step]:
            held = holds[step]
            left = f"and its {KIND[step]} stayed held ({held[0].id})" if held else "and nothing waited for it"
            raise CheckFailed(
                f"{step} was still running when you compensated, {left}: the saga undid the trip "
                f"before {step} had settled, so {UNDO_OF[step]} had nothing to cancel yet. Wait until "
                "every booking has settled (asyncio.gather(..., return_exceptions=True), or cancel "
                "the others and wait for the cancellation), then raise the first error."
            )
    ran = [r.name for r in undos]
    if not ran:
        failed = [r.name for r in runs if not r.compensation and r.outcome != "completed"]
        step = failed[0] if failed else "a step"
        raise CheckFailed(_why_nothing_ran(step, outcome, lab) or (
            f"no compensation ran after {step} failed, so the saga left {outcome.describe_orphans() or 'its work'} "
            "behind. Register the undos before the bookings start, and run them in the except block before `raise`."
        ))  # fmt: skip
    for step, undo in UNDO_OF.items():  # every step that did something is undone
        step_runs = _runs(outcome, step)
        did = step_runs and (step_runs[-1].outcome == "completed" or (step in KIND and _holds(trip_id, step)))
        if did and undo not in ran:
            if step_runs[-1].outcome != "completed":
                held = _holds(trip_id, step)[0]
                raise CheckFailed(
                    f"{step} reserved {held.kind} {held.id} but its reply was lost, and {undo} never ran: "
                    "register each undo before its step starts, because a step that fails may still "
                    "have done its work."
                )
            raise CheckFailed(
                f"the compensations ran {arrow(ran)}: {step} went through, but {undo} never ran, so the "
                f"saga left {outcome.describe_orphans() or 'its work'} behind. Register the undos of all "
                "three bookings before you start them, and the refund before the payment."
            )
    never = [name for name in ran if name in STEP_OF and not _runs(outcome, STEP_OF[name])]
    if never:
        raise CheckFailed(
            f"the compensations ran {arrow(ran)}: {arrow(never)} undid a step that never started. "
            "Register each undo just before its step (or its group of steps) starts."
        )
    twice = [name for name, count in Counter(ran).items() if count > 1]
    if twice:
        raise CheckFailed(
            f"the compensations ran {arrow(ran)}: {twice[0]} ran {Counter(ran)[twice[0]]} times. Run each "
            "registered undo once, in one place (the except block)."
        )
    refund = [r for r in undos if r.name == "refund_payment"]
    early = [r.name for r in undos if refund and r.name != "refund_payment" and r.scheduled_event < refund[0].closed_event]
    if early:
        raise CheckFailed(
            f"the compensations ran {arrow(ran)}: {early[0]} started before refund_payment had finished. "
            "The payment came after the bookings, so its undo comes first, alone; then the bookings' "
            "undos (together, if you like)."
        )
    capped = [r for r in undos if r.bounded]
    if capped:
        raise CheckFailed(
            f"{capped[0].name} runs with a retry policy that gives up: a longer outage would stop it. "
            "An undo must retry an outage until it passes (UNDO, without maximum_attempts)."
        )
    expect_status_failed(outcome)
    expect_no_orphans(outcome)


@suite.check("A trip with nothing going wrong is booked: flight, hotel and car, then the payment")
async def booked(lab):
    outcome = await book(lab, lab.trip())
    _bugs(outcome, lab)
    bookings = [r for r in outcome.timeline.runs if r.name in BOOKINGS]
    for payment in _runs(outcome, "charge_payment")[:1]:  # first: a payment too early fails the trip
        early = [r.name for r in bookings if not r.closed_event or r.closed_event > payment.scheduled_event]
        expect(not early, f"charge_payment started before {arrow(early)} had finished: the payment charges for "
               "everything the trip holds, so it comes after all three bookings.")  # fmt: skip
    expect(outcome.status == "Completed", f"the workflow ended {outcome.status}; expected Completed. It failed with: {outcome.error}")
    steps = Counter(outcome.timeline.steps)
    expected = Counter([*BOOKINGS, "charge_payment", "confirm_trip"])
    expect(steps == expected, f"the steps ran {arrow(outcome.timeline.steps)}; expected each of "
           f"{arrow(list(expected))} once.")  # fmt: skip
    expect(not outcome.timeline.compensations, f"nothing failed, yet {arrow(outcome.timeline.compensations)} ran: "
           "undo only when a step fails, in the except block.")  # fmt: skip
    expect(world.is_confirmed(outcome.trip.trip_id), "the workflow completed, but the trip was not confirmed.")
    expect_no_orphans(outcome)


@suite.check("The flight, the hotel and the car start together, in one workflow task")
async def together(lab):
    outcome = await book(lab, lab.trip())
    _bugs(outcome, lab)
    expect_together(outcome)


@suite.check("The hotel fails while the car is in flight: the car is undone after it settles, and the flight")
async def hotel_fails_during_car(lab):
    undo_meets_outage("cancel_flight")
    trip = lab.trip(room_type="penthouse")  # no such room: a business error, after a while
    outcome = await book(lab, trip, {"book_hotel": HOTEL_SLOW, "book_car": CAR_SLOW})
    expect_settled_then_undone(outcome, lab)


@suite.check("A sold-out flight while the hotel and the car are in flight: both are undone once they settle")
async def flight_sold_out(lab):
    undo_meets_outage("cancel_hotel")
    outcome = await book(lab, lab.trip(flight="TW305"), {"book_hotel": HOTEL_SLOW, "book_car": CAR_SLOW})
    expect_settled_then_undone(outcome, lab)


@suite.check("A car that books but loses its reply is undone too (undos registered before the bookings start)")
async def car_reply_lost(lab):
    trip = lab.trip()
    world.inject("book_car", "lose_reply", scope=trip.trip_id)
    undo_meets_outage("cancel_hotel")
    expect_settled_then_undone(await book(lab, trip), lab)


@suite.check("The payment fails after all three bookings: its undo runs first, alone, then the bookings'")
async def payment_fails(lab):
    declined, unconfirmed = lab.trip(card_number=world.DECLINED_CARD), lab.trip()
    world.inject("confirm_trip", "refuse", message="confirm_trip: the trip can no longer be confirmed")
    undo_meets_outage("refund_payment", scope=unconfirmed.trip_id)
    undo_meets_outage("cancel_car", scope=declined.trip_id)
    for outcome in await asyncio.gather(book(lab, unconfirmed), book(lab, declined)):
        expect_settled_then_undone(outcome, lab)
