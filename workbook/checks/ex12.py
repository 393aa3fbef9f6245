"""Checks for exercise 12: forward recovery after the pivot, a partner desk before
compensating, and a circuit breaker around the car rental shared by every trip.

Each check runs its trips on a worker of its own, with a fresh import of the learner's
activities.py (``own_worker``): a circuit breaker kept at the top of activities.py lives
in the worker process, and two checks side by side must not share one, any more than two
worker processes do. Within a check, the breaker is shared by every trip, as it is by
every trip a real worker runs. A breaker kept anywhere a single workflow run owns it
(workflow.py, which the sandbox imports afresh for every run, or a variable of the
workflow) starts afresh on every trip, and the outage check sees it: the car rental is
called for every trip.

How often the car rental was called is read from the travel world (the outage injected
for the check's trips counts every call that reaches the desk), not from history: a call
that the breaker stopped never reached the desk, although the activity ran. The cooldown
is passed by moving the breaker's clock on (pybreaker keeps the time it opened in its
state storage: it is set back by the breaker's reset_timeout), so no check waits for it.

The checks run on the time-skipping test server, through a client that does not skip
time (see ex08's _without_time_skipping: trips awaited side by side unlock its clock
more often than it was locked). Nothing waits for a timer: retries run a thousand times
faster (FastRetries). So "a ticket desk down for hours" is an outage of many attempts,
and the retry policy that issue_tickets was scheduled with, read from history, must not
give up (no maximum_attempts, no schedule_to_close_timeout): that is what keeps it going
for hours.

What the README teaches, and what proves it:

| README point                                         | scenario (check)                             | what fails when it is violated                        |
| ---------------------------------------------------- | -------------------------------------------- | ----------------------------------------------------- |
| A: the tickets come after the pivot, out of the try  | tickets_desk_down (8 failed attempts);       | "the saga undid a confirmed trip" (refund_payment ... |
|                                                      | tickets_refused; booked                      | after the pivot); "called before the trip was         |
|                                                      |                                              | confirmed"                                            |
| A: FORWARD retries until it succeeds (no             | tickets_desk_down: the outage itself, then   | "gave up after N attempts"; "gives up after N         |
|    maximum_attempts, no schedule_to_close_timeout)   | the policy as scheduled in history           | attempts"; "when its schedule_to_close_timeout ends"  |
| A: a refusal hands the trip to a person, the payment | tickets_refused (the airline refuses for     | "ran after the pivot"; "nobody was told"; "does not   |
|    stays, the trip stays booked (Completed)          | good)                                        | say that the tickets"; "ended Failed"                 |
| B: the partner is tried before anything is undone    | car_rental_fails (no SUV at the car rental;  | "compensated ... instead of asking the partner desk"; |
|    (any ActivityError of book_car)                   | an outage for good); outage_ten_trips (its   | "book_partner_car was called before book_car had      |
|                                                      | breaker open)                                | failed"                                               |
| B: compensate only when both fail; the partner's     | both_desks_fail (the partner refuses; the    | "register the partner's undo before you call it";     |
|    undo registered before it is called               | partner books and loses every reply)         | "ran before the partner desk had answered"; "ended"   |
| B: the trip records which desk booked                | booked (primary), car_rental_fails (partner) | "car_desk="; "the trip holds no car"                  |
| C: one breaker for the worker, around the car rental | outage_ten_trips: the car rental down for    | "it was called N times for ten trips", with the line  |
|    call, fail_max=CAR_DESK_FAILURES,                 | good; one trip, then nine at once            | of a breaker made inside a function or in workflow.py,|
|    reset_timeout=CAR_DESK_COOLDOWN_SECONDS           |                                              | or the breaker's own fail_max / reset_timeout         |
| C: exclude=[world.BookingError]: "no car" is healthy | car_rental_fails: three SUV trips, then an   | "the breaker counted the answers as failures"         |
|                                                      | economy car the car rental has               |                                                       |
| C: an open breaker fails book_car at once, and the   | outage_ten_trips, cooldown_trial             | as in B                                               |
|    partner books                                     |                                              |                                                       |
| C: after the cooldown one trial call decides         | cooldown_trial (still down: one call, then   | "no trial call"; "called N times for one trip"; "the  |
|    (half-open)                                       | none; back: the trial books the car)         | next trip called the car rental again"; "found no     |
|                                                      |                                              | breaker" (not a pybreaker one)                        |
| zero orphans, no double booking; nothing flagged     | every scenario                               | orphans; "double bookings"; "flagged for a person"    |
| when nothing failed for good                         |                                              |                                                       |

A source scan never fails an answer by itself: it only names the line behind a failure
the run showed (a breaker made inside a function, a breaker in workflow.py).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import functools
import importlib.util
import uuid
from datetime import timedelta

from workbook import world
from workbook.checks import (
    Check, CheckFailed, CodeError, Outcome, Suite, activity_names, arrow, expect, expect_itinerary_matches,
    expect_no_orphans,
)  # fmt: skip
from workbook.checks.ex08 import _without_time_skipping
from workbook.checks.saga import _activity_bug
from workbook.report import CODE_ERRORS
from workbook.source import parse
from workbook.timeline import ActivityRun
from workbook.world.store import _connect

suite = Suite("12", "Forward recovery, a partner desk, and a circuit breaker")

TRIP_UNDOS = {"cancel_flight", "cancel_hotel", "cancel_partner_car", "refund_payment"}  # cancel_car: see _trip_undone
NO_CAR = "book_car: no economy car is left for these dates"
PARTNER_REFUSES = "book_partner_car: the partner has no car left for these dates"
TICKETS_REFUSED = "issue_tickets: the airline cannot issue tickets for this booking"
TICKET_OUTAGE = 8  # failed attempts of the ticket desk: more than any step gets
BUGS = CODE_ERRORS | {"KeyError", "ValueError", "IndexError", "UnboundLocalError", "ZeroDivisionError"}


# --- a worker of the check's own: a breaker of its own -----------------------------------


@contextlib.asynccontextmanager
async def own_worker(lab):
    """Run ``lab``'s bookings on a worker of their own whose activities come from a fresh
    import of activities.py: the module's breaker is this check's alone (``lab.breakers``:
    the pybreaker breakers found in it)."""
    folder = lab.modules.folder
    spec = importlib.util.spec_from_file_location(f"activities_{uuid.uuid4().hex}", folder / "activities.py")
    fresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fresh)
    task_queue = f"check-{uuid.uuid4()}"
    worker = lab.worker(task_queue, activities_from=fresh)
    lab.breakers = _breakers(fresh)
    async with worker:
        lab.task_queue = task_queue
        yield lab


def _breakers(module) -> list:
    try:
        import pybreaker
    except ImportError:
        return []
    found = []
    for value in vars(module).values():
        for item in value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, pybreaker.CircuitBreaker) and item not in found:
                found.append(item)
    return found


def _cooldown_passes(lab) -> None:
    """Move the clock of the check's breakers past their cooldown (as if it had passed)."""
    if not lab.breakers:
        raise CheckFailed(
            "the checks pass the cooldown by moving your breaker's clock on, and found no breaker: keep one "
            "pybreaker.CircuitBreaker at the top of activities.py (Part C), made once, so every trip the worker "
            "runs shares it.",
            mistake="no breaker found",
        )
    for breaker in lab.breakers:
        storage = breaker._state_storage
        if storage.opened_at is not None:
            storage.opened_at = storage.opened_at - timedelta(seconds=breaker.reset_timeout + 1)


def _calls(operation: str, scope: str) -> int:
    """How many calls of ``operation`` reached the world since the fault of ``scope`` was injected."""
    with _connect() as conn:
        row = conn.execute("SELECT calls FROM faults WHERE operation = ? AND scope = ?", (operation, scope)).fetchone()
    return row[0] if row else 0


def _real_time(check: Check) -> Check:
    async def run(lab):
        lab.client = _without_time_skipping(lab.client)
        async with own_worker(lab):
            await check.run(lab)

    return Check(check.name, check.title, run)


async def book_all(lab, *trips) -> list[Outcome]:
    """Book ``trips`` at once; a check that fails for one names the first in the order given."""
    outcomes = await asyncio.gather(*(lab.book(trip) for trip in trips), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return outcomes


# --- what every outcome must show ------------------------------------------------------------


def _runs(outcome: Outcome, name: str) -> list[ActivityRun]:
    return [r for r in outcome.timeline.runs if r.name == name]


def _bugs(outcome: Outcome, lab) -> None:
    for run in outcome.timeline.runs:
        if run.outcome in ("failed", "timed out") and run.error_type in BUGS:
            raise CodeError(_activity_bug(run, lab))


def _undos(outcome: Outcome) -> str:
    return arrow([r.name for r in outcome.timeline.runs if r.compensation])


def _trip_undone(outcome: Outcome) -> list[str]:
    """The undos of the trip that ran. cancel_car alone is not one: it releases what the car
    rental may hold after it failed, a no-op when it booked nothing, so a saga may run it
    before it asks the partner."""
    return [r.name for r in outcome.timeline.runs if r.compensation and r.name in TRIP_UNDOS]


def expect_booked(outcome: Outcome, lab, desk: str, why: str = "") -> None:
    """Completed, confirmed, the car from ``desk``, the tickets issued, nothing of the trip
    undone, the Itinerary naming what the trip holds, no orphans, nobody flagged."""
    _bugs(outcome, lab)
    trip_id = outcome.trip.trip_id
    undone = _trip_undone(outcome)
    partner = _runs(outcome, "book_partner_car")
    car = _runs(outcome, "book_car")
    if desk == "partner" and undone and not partner and car and car[-1].outcome == "failed":
        raise CheckFailed(
            f"{why}book_car failed ({car[-1].error}), and the saga compensated ({_undos(outcome)}) instead of asking the "
            "partner desk: catch book_car's ActivityError (whatever the reason: an outage, no car, its breaker "
            "open) in book_a_car, and book the car with book_partner_car before anything is undone (Part B).",
            mistake="no fallback",
        )
    if undone:
        raise CheckFailed(
            f"{why}the trip was confirmed, and yet {arrow(undone)} ran: the workflow failed with {outcome.error!r}. "
            "Nothing that could be booked should be undone.",
        )
    expect(outcome.status == "Completed", f"{why}the workflow ended {outcome.status}; expected Completed. "
           f"It failed with: {outcome.error}")  # fmt: skip
    expect(world.is_confirmed(trip_id), f"{why}the workflow completed, but the trip was not confirmed.")
    result = outcome.result if isinstance(outcome.result, dict) else {}
    cars = [r for r in world.reservations(trip_id) if r.kind == "car" and r.status == "held"]
    expect(cars, f"{why}the workflow completed, but the trip holds no car (it returned car_reservation="
           f"{result.get('car_reservation')!r}): when the car rental cannot book it, the partner must.")  # fmt: skip
    held_by = "partner" if cars[-1].item.startswith(world.PARTNER) else "primary"
    expect(held_by == desk, f"{why}the trip's car {cars[-1].id} was booked by the {held_by} desk; "
           f"expected the {desk} desk.")  # fmt: skip
    expect(
        result.get("car_desk") == desk,
        f"{why}the trip's car was booked by the {desk} desk, but the workflow returned car_desk="
        f"{result.get('car_desk')!r}: return BookedTrip(..., car_desk=desk) with the desk book_a_car says booked "
        '("primary" or "partner").',
    )
    expect_itinerary_matches(outcome)
    tickets = world.tickets(trip_id)
    expect(tickets, f"{why}the trip was confirmed, but no ticket was issued: issue_tickets never completed.")
    expect(result.get("tickets") == tickets[-1], f"{why}the workflow returned tickets={result.get('tickets')!r}; "
           f"the airline issued {tickets[-1]}: keep issue_tickets' result in booked.tickets.")  # fmt: skip
    flagged = world.flags(trip_id)
    expect(not flagged, f"{why}the trip was booked, tickets and all, yet it was flagged for a person "
           f"({next(iter(flagged.values()), '')}): flag a trip only when a step failed for good.")  # fmt: skip
    expect_no_orphans(outcome)


def expect_forward(outcome: Outcome, what: str) -> None:
    """issue_tickets came after the pivot, and the trip's undos did not run."""
    tickets, confirm = _runs(outcome, "issue_tickets"), _runs(outcome, "confirm_trip")
    undone = _trip_undone(outcome)
    if undone:
        raise CheckFailed(
            f"{what}, and the saga undid a confirmed trip: {_undos(outcome)} ran after confirm_trip, the pivot, and "
            "the customer was refunded. After the pivot nothing is undone: issue the tickets after the try, going "
            "forward (Part A).",
            mistake="undone after the pivot",
        )
    if tickets and confirm and tickets[0].scheduled_event < (confirm[0].closed_event or 10**9):
        raise CheckFailed(
            f"{what}; issue_tickets was called before the trip was confirmed: the tickets come after the pivot "
            "(confirm_trip), outside the try (Part A).",
            mistake="tickets before the pivot",
        )


# --- Part A: forward recovery ------------------------------------------------------------


@suite.check("A trip with nothing going wrong: car from the car rental, tickets after confirm_trip")
async def booked(lab):
    outcome = await lab.book(lab.trip())
    _bugs(outcome, lab)
    expect_forward(outcome, "nothing failed")
    expect_booked(outcome, lab, "primary")
    steps = outcome.timeline.steps
    expected = ["book_flight", "book_hotel", "book_car", "charge_payment", "confirm_trip", "issue_tickets"]
    expect(steps == expected, f"the steps ran {arrow(steps)}; expected {arrow(expected)}, each once.")


@suite.check("The ticket desk is down for hours after the pivot: the saga keeps trying; booked, nothing refunded")
async def tickets_desk_down(lab):
    trip = lab.trip()
    world.inject("issue_tickets", "fail", times=TICKET_OUTAGE, scope=trip.trip_id)
    outcome = await lab.book(trip)
    _bugs(outcome, lab)
    what = f"the ticket desk was down for {TICKET_OUTAGE} attempts after the trip was confirmed"
    expect_forward(outcome, what)
    tickets = _runs(outcome, "issue_tickets")
    if tickets and tickets[-1].outcome != "completed":
        run = tickets[-1]
        raise CheckFailed(
            f"{what}, and issue_tickets gave up after {run.attempts} attempts ({run.error}): the trip is booked "
            "and paid, and the customer cannot fly without a ticket. Retry it until it succeeds: FORWARD without "
            "maximum_attempts (Part A).",
            mistake="forward gives up",
        )
    if tickets and tickets[-1].bounded:
        run = tickets[-1]
        limit = f"after {run.max_attempts} attempts" if run.max_attempts else "when its schedule_to_close_timeout ends"
        raise CheckFailed(
            f"issue_tickets runs with a retry policy that gives up {limit}: this outage passed in time, a desk down "
            "for hours would not. After the pivot a step goes forward: FORWARD retries until it succeeds (no "
            "maximum_attempts), backing off to one attempt every ten minutes (maximum_interval).",
            mistake="forward gives up",
        )
    expect_booked(outcome, lab, "primary", f"{what}: ")
    charges = [p for p in world.payments(trip.trip_id) if p.status == "charged"]
    expect(charges, f"{what}, and the payment was not kept: the trip is confirmed, the charge stays.")


@suite.check("The airline refuses the tickets for good: a person takes the trip over; it stays booked and paid")
async def tickets_refused(lab):
    trip = lab.trip()
    world.inject("issue_tickets", "refuse", message=TICKETS_REFUSED, scope=trip.trip_id)
    outcome = await lab.book(trip)
    _bugs(outcome, lab)
    what = "the airline refused the tickets for good after the trip was confirmed"
    undone = _trip_undone(outcome)
    if undone:
        raise CheckFailed(
            f"{what}, and {_undos(outcome)} ran after the pivot: the customer was refunded for a trip that is "
            "confirmed. Retrying cannot fix a refusal, and neither can undoing: hand the trip to a person "
            "(flag_for_attention) and keep the payment (Part A).",
            mistake="undone after the pivot",
        )
    expect_forward(outcome, what)
    flagged = world.flags(trip.trip_id)
    expect(flagged, f"{what}, and nobody was told: the trip is paid and has no ticket. Catch the refusal "
           "(ActivityError) and call flag_for_attention(trip, reason), so a person issues them (Part A).")  # fmt: skip
    reason = next(iter(flagged.values()))
    expect("ticket" in reason.lower(), f"the trip was flagged with {reason!r}, which does not say that the tickets "
           "were not issued: pass a reason that names them (e.g. the refusal's message).")  # fmt: skip
    expect(
        outcome.status == "Completed",
        f"{what}; the workflow ended {outcome.status} ({outcome.error}). The trip is confirmed and paid: once a "
        "person has it, return the BookedTrip (with a notice), don't raise.",
    )
    expect(world.is_confirmed(trip.trip_id), f"{what}, and the trip is no longer confirmed.")
    charges = [p for p in world.payments(trip.trip_id) if p.status == "charged"]
    expect(charges, f"{what}, and the payment was not kept: the charge stays, a person settles the tickets.")
    expect_no_orphans(outcome)


# --- Part B: the partner desk ------------------------------------------------------------


@suite.check(
    "The car rental fails (no car; down for good): the partner books the car, nothing is undone; "
    "a car rental with no car left is healthy: the next trip is still booked there"
)
async def car_rental_fails(lab):
    trip = functools.partial(lab.trip, hotel="bayside-inn")  # its 5 trips: rooms of their own
    # The car rental has no SUV: three trips at once, then an economy car, which it has. Then, one after the
    # other (an answer landing between an outage's failures would start the counting again), an outage.
    for outcome in await book_all(lab, *(trip(car_type="suv") for _ in range(3))):
        expect_booked(outcome, lab, "partner", "the car rental had no SUV left: ")
    no_car = outcome
    outcome = await lab.book(trip())
    skipped = [r for r in _runs(outcome, "book_car") if r.outcome == "failed"]
    if skipped:  # nothing was injected for it: only a breaker that counted the answers fails it
        raise CheckFailed(
            f"the car rental answered three trips that it had no SUV left, and then book_car failed for the next trip "
            f"({skipped[-1].error}), which wanted an economy car it had: the breaker counted the answers as failures "
            "and opened. A desk that says \"no car left\" is healthy: build the breaker with "
            "exclude=[world.BookingError], and let only outages count (Part C).",
            mistake="business errors counted",
        )
    expect_booked(outcome, lab, "primary", "after three trips the car rental had no SUV for: ")
    down = trip()
    world.inject("book_car", "fail", scope=down.trip_id)
    for outcome, why in ((no_car, "the car rental had no SUV left: "), (await lab.book(down), "the car rental was down: ")):
        expect_booked(outcome, lab, "partner", why)
        partner, car = _runs(outcome, "book_partner_car"), _runs(outcome, "book_car")
        expect(car and partner[0].scheduled_event > car[-1].closed_event, f"{why}book_partner_car was called "
               "before book_car had failed: ask the partner only when the car rental could not book the car.")  # fmt: skip


@suite.check("Both car desks fail: only then is the trip undone, the partner's car too (its reply lost)")
async def both_desks_fail(lab):
    refused, lost = lab.trip(), lab.trip()
    for trip in (refused, lost):
        world.inject("book_car", "fail", scope=trip.trip_id)
    world.inject("book_partner_car", "refuse", message=PARTNER_REFUSES, scope=refused.trip_id)
    world.inject("book_partner_car", "lose_reply", scope=lost.trip_id)  # it books, and every reply is lost
    for outcome in await book_all(lab, refused, lost):
        _bugs(outcome, lab)
        trip_id = outcome.trip.trip_id
        partner = _runs(outcome, "book_partner_car")
        undos = [r for r in outcome.timeline.runs if r.compensation and r.name != "cancel_car"]
        if not partner:
            if undos:
                raise CheckFailed(
                    f"book_car failed ({_runs(outcome, 'book_car')[-1].error}), and the saga compensated "
                    f"({arrow([r.name for r in undos])}) instead of asking the partner desk: catch book_car's "
                    "ActivityError in book_a_car, and book the car with book_partner_car before anything is "
                    "undone (Part B).",
                    mistake="no fallback",
                )
            raise CheckFailed(f"the car rental was down, and book_partner_car never ran: the steps ran "
                              f"{arrow(outcome.timeline.steps)}, and the workflow ended {outcome.status}.")
        early = [r.name for r in undos if r.scheduled_event < partner[-1].closed_event]
        expect(not early, f"{arrow(early)} ran before the partner desk had answered: compensate only when both "
               "desks have failed.")  # fmt: skip
        expect(
            outcome.status == "Failed",
            f"both car desks failed, and the workflow ended {outcome.status}; expected Failed: let the partner's "
            "error go on to the except block, which undoes the trip and re-raises.",
        )
        held = [r for r in world.reservations(trip_id) if r.kind == "car" and r.status == "held"]
        ran = [r.name for r in outcome.timeline.runs if r.compensation]
        if held and "cancel_partner_car" not in ran:
            raise CheckFailed(
                f"book_partner_car reserved car {held[0].id} but its reply was lost, and cancel_partner_car never ran "
                f"(the compensations ran {arrow(ran)}): register the partner's undo before you call it, because a "
                "step that fails may still have done its work.",
                mistake="partner undo registered after",
            )
        for step, undo in (("book_flight", "cancel_flight"), ("book_hotel", "cancel_hotel")):
            expect(undo in ran, f"both car desks failed, and {undo} never ran (the compensations ran {arrow(ran)}), "
                   f"so the saga left {outcome.describe_orphans() or 'its work'} behind.")  # fmt: skip
        order = [name for name in ran if name in ("cancel_partner_car", "cancel_hotel", "cancel_flight")]
        expected = [name for name in ("cancel_partner_car", "cancel_hotel", "cancel_flight") if name in order]
        expect(order == expected, f"the compensations ran {arrow(ran)}; expected the newest step's undo first: "
               f"{arrow(expected)}.")  # fmt: skip
        expect_no_orphans(outcome)


# --- Part C: the circuit breaker -----------------------------------------------------------


def _failures(lab) -> int:
    return int(getattr(lab.modules.shared, "CAR_DESK_FAILURES", 3))


def _where_the_breaker_is(lab) -> str:
    """Where the source keeps a breaker that no trip shares: made inside a function of
    activities.py, or in workflow.py; '' if nowhere (only to name the line)."""
    for name in ("activities.py", "workflow.py"):
        path = lab.modules.folder / name
        tree = parse(path.read_text()) if path.exists() else None
        for node in ast.walk(tree or ast.Module([], [])):
            made = [n for n in ast.walk(node) if isinstance(n, ast.Call) and "CircuitBreaker" in ast.unparse(n.func)]
            if name == "workflow.py" and isinstance(node, ast.Module) and made:
                return (f" A breaker in workflow.py (line {made[0].lineno}) belongs to one workflow run: the sandbox "
                        "imports workflow.py afresh for every run, and workflow state must replay the same, so it cannot "
                        "remember other trips. Keep it in activities.py, which the worker imports once.")  # fmt: skip
            if name == "activities.py" and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and made:
                return (f" The breaker is made inside {node.name}() (activities.py, line {made[0].lineno}): made afresh "
                        "whenever that runs (for a call, or a trip), it knows nothing of the other trips' failures. Make "
                        "it once, at the top of activities.py.")  # fmt: skip
    for breaker in lab.breakers:  # one breaker, shared, but not set as Part C says
        if breaker.fail_max != _failures(lab):
            return f" Your breaker opens after fail_max={breaker.fail_max} failures: give it fail_max=CAR_DESK_FAILURES."
        if breaker.reset_timeout < 1:
            return (f" Your breaker's reset_timeout is {breaker.reset_timeout:g} s: its cooldown is over at once, so every "
                    "trip makes a trial call. Give it reset_timeout=CAR_DESK_COOLDOWN_SECONDS.")  # fmt: skip
    return ""


@suite.check("The car rental is down: ten trips are booked through the partner, the car rental called no more than the breaker allows")
async def outage_ten_trips(lab):
    world.inject("book_car", "fail", message="book_car: the car rental is down (injected)")  # this check's trips
    # The first trip meets the outage alone; the nine others come once its breaker has had its failures, at once.
    # (Calls that are already on their way when the breaker opens reach the desk whatever the breaker does.)
    trips = [lab.trip(room_type="standard") for _ in range(10)]  # 10 of the 20 standard rooms
    outcomes = [await lab.book(trips[0]), *await book_all(lab, *trips[1:])]
    for outcome in outcomes:
        expect_booked(outcome, lab, "partner", "the car rental was down: ")
    calls, allowed = _calls("book_car", lab.prefix), _failures(lab)
    if calls > allowed:
        raise CheckFailed(
            f"the car rental was down, and it was called {calls} times for ten trips; a breaker that opens after "
            f"CAR_DESK_FAILURES = {allowed} failures calls it {allowed} times, then sends every trip straight to the "
            "partner. Call world.book_car through one pybreaker.CircuitBreaker, shared by every trip the worker "
            f"runs (Part C).{_where_the_breaker_is(lab)}",
            mistake="breaker",
        )


@suite.check("After the cooldown one trial call decides: still down, the breaker opens again; back, it books the car")
async def cooldown_trial(lab):
    world.inject("book_car", "fail", message="book_car: the car rental is down (injected)")
    trip = functools.partial(lab.trip, hotel="bayside-inn", room_type="standard")  # its 4 trips: rooms of their own
    expect_booked(await lab.book(trip()), lab, "partner", "the car rental was down: ")
    allowed = _failures(lab)
    if _calls("book_car", lab.prefix) > allowed:
        raise CheckFailed(f"the car rental was down, and it was called {_calls('book_car', lab.prefix)} times for "
                          f"one trip: the breaker should open after {allowed} failures (Part C).{_where_the_breaker_is(lab)}",
                          mistake="breaker")  # fmt: skip
    _cooldown_passes(lab)
    world.inject("book_car", "fail", message="book_car: the car rental is still down (injected)")  # counts afresh
    expect_booked(await lab.book(trip()), lab, "partner", "after the cooldown, with the car rental still down: ")
    calls = _calls("book_car", lab.prefix)
    expect(calls, "after the cooldown no trial call went to the car rental: the next trip went straight to the "
           "partner. An open breaker lets one call through once reset_timeout has passed (half-open).")  # fmt: skip
    expect(calls == 1, f"after the cooldown, with the car rental still down, it was called {calls} times for one "
           "trip: one trial call decides. When it fails, the breaker opens again at once (pybreaker does this).")  # fmt: skip
    expect_booked(await lab.book(trip()), lab, "partner", "after a failed trial call: ")
    calls = _calls("book_car", lab.prefix)
    expect(calls == 1, f"after the trial call failed, the next trip called the car rental again ({calls} calls in "
           "all): a failed trial opens the breaker for another cooldown.")  # fmt: skip
    _cooldown_passes(lab)
    world.inject("book_car", "fail", times=0)  # the car rental is back (its calls counted afresh)
    expect_booked(await lab.book(trip()), lab, "primary", "after the cooldown, with the car rental back: ")
    calls = _calls("book_car", lab.prefix)
    expect(calls == 1, f"after the cooldown, with the car rental back, it was called {calls} times for one trip; "
           "expected the one trial call, which booked the car.")  # fmt: skip


suite.checks[:] = [_real_time(check) for check in suite.checks]
