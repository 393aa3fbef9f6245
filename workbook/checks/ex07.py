"""Checks for exercise 07: the flight, the hotel and the car booked at once.

The three bookings don't depend on each other, so they must be started together: their
ActivityTaskScheduled events come from one workflow task (one
workflow_task_completed_event_id). When one fails, another may still be in flight. The
checks decide which: they hold chosen desks (Lab.book(held=...)) until the workflow has
nothing else to do but wait for them. A saga that waits for every booking to settle
releases them at once; a saga that stops waiting at the first failure, or waits a fixed
time (a timer: the held desk outlasts any sleep), undoes a booking that does not exist
yet, and what the desk books once released stays held, on every run. The failing step is
met both first to finish (the hotel and the flight, while others are held) and last (the
car, held, then refused).

A customer's cancel is met while all three desks are at work (Lab.book(cancel_when_idle=
True)): the desks the workflow asks to stop finish what they were doing, the others keep
working until the workflow waits for them. So a cancel that the except does not catch,
a booking cancelled without waiting for the desk to confirm (a cancellation type other
than WAIT_CANCELLATION_COMPLETED), and a wait (asyncio.wait, workflow.wait, one handle at
a time) that the cancel interrupts without cancelling the bookings, each leave bookings
held. A cancel is also met while the undos run (the refund held), and a refund that the
bank refuses for good.

What the README teaches, and what proves it:

| README point                                         | scenario (check)                           | what fails when it is violated                       |
| ---------------------------------------------------- | ------------------------------------------ | ---------------------------------------------------- |
| B2: start the three bookings together                | together; every failure scenario           | "the bookings were started one after another"        |
| B2: wait until every one has settled                 | hotel_fails_during_car: the hotel fails    | "was still running when you compensated, and its car |
|     (return_exceptions=True), not at the first       | (car held); the flight fails first (hotel  | stayed held" (gather without return_exceptions,      |
|     failure, not for a fixed time                    | and car held); the car, held, fails last   | FIRST_EXCEPTION, handles awaited in turn); "waited a |
|                                                      |                                            | fixed time (a timer of N s)"; booked: "stopped       |
|                                                      |                                            | waiting ... after a fixed time"                      |
| B3: once all have settled, raise the first error     | hotel_fails_during_car                     | "yet the workflow went on to charge_payment"; "hides |
|     (the desk's own error)                           |                                            | why the trip was not booked" (a new error raised)    |
| B3: flight, hotel, car = results, in booking order   | booked (the flight's desk held: it answers | "in the order their desks answered"; "the Itinerary  |
|                                                      | last), expect_itinerary_matches            | must name each booking in its own field"             |
| B1: the three undos registered as one group, before  | car_reply_lost (it books, its reply is     | "its reply was lost, and cancel_car never ran";      |
|     the bookings start                               | lost, its retry refused); hotel_fails;     | "no compensation ran after book_hotel failed"; "no   |
|                                                      | cancel_during_bookings                     | compensation ran" after a cancel                     |
| C/A3: the payment's undo first, alone, then the      | payment_fails (a declined card; confirm    | "started before refund_payment had finished";        |
|       bookings'                                      | refused)                                   | "undid a step that never started"                    |
| C1: the undos of one group together                  | every failure scenario                     | "the bookings' undos ran one after another"          |
| C1/A4: each undo in a try of its own; an undo that   | payment_fails, third trip (the bank        | "the undo that failed stopped the rest", "nobody was |
|        fails for good is named and flagged           | refuses the refund for good)               | told", "Call flag_for_attention", "does not name"    |
| A2: a cancelled booking is waited for until the desk | cancel_during_bookings (all three desks    | "without waiting for the desk to confirm it had      |
|     confirms it stopped (WAIT_CANCELLATION_COMPLETED)| held; failures: the others cancelled)      | stopped"; "dropped ... with cancellation_type=ABANDON"|
| A4: a cancel is caught as well as a failure          | cancel_during_bookings                     | "`except Exception` does not catch"                  |
| "a step still in flight must never be forgotten",    | cancel_during_bookings                     | "your wait stopped at the cancel" (asyncio.wait,     |
| also when the customer cancels                       |                                            | workflow.wait); "the cancel was lost" (one handle at |
|                                                      |                                            | a time: the trip booked after a cancel)              |
| A4: the undos run to the end, even through a cancel  | cancel_during_bookings, second trip        | "the customer's cancel cut the undos short"          |
|                                                      | (confirm refused, refund held, cancel)     |                                                      |
| undos retry an outage (UNDO, no maximum_attempts)    | every undo's retry policy, as scheduled in | "runs with a retry policy that gives up"             |
|                                                      | history (no outage: a retry costs a second |                                                      |
|                                                      | on the dev server)                         |                                                      |
| zero orphans; Failed after a failure; nothing        | every scenario                             | orphans, "ended Completed", "was flagged for a       |
| flagged when every undo worked                       |                                            | person"                                              |

The lost reply's trip needs one retry, not two: its first call books the car and loses the
reply, and a refusal injected with a seeded rate misses that first call and hits the second,
on every run (a retry costs a second on the dev server). Keys are not part of this exercise
(activities.py is given), so no attempt is run in another process.

What must be undone is read from history and the world: every booking that did
something (it completed, or it holds a reservation although its reply was lost), each
after it settled. The undo of a step that failed is accepted (registered before its
step, it finds nothing); an undo of a step that never started is not. Each scenario names
the first cause it finds, in this order: a bug in the code, an undo not awaited or cut
short, an undo that gave up, bookings one after another, a failure that the workflow
went on from, a booking still at work when the saga compensated, nothing undone, the
wrong undos, their order and grouping, how the workflow ended, flags, and last the world.
A source scan never fails an answer by itself: it only names the line behind a failure
the run showed. Messages of one mistake are the same in every check (CheckFailed's
``mistake``), so the student reads it once.

These checks run on a local dev server (Suite.server = "dev"): the time-skipping test
server mishandles activities run after a workflow was cancelled.
"""

from __future__ import annotations

import ast
import asyncio
from collections import Counter

from temporalio.client import WorkflowFailureError

from workbook import world
from workbook.checks import (
    CheckFailed, CodeError, Outcome, Suite, arrow, expect, expect_itinerary_matches, expect_no_orphans,
)  # fmt: skip
from workbook.checks.saga import (
    BUSINESS_ERRORS, OUTAGES, _activity_bug, _why_nothing_ran, expect_status_failed,
)  # fmt: skip
from workbook.source import catches, handlers_around, parse, unawaited_activity_calls
from workbook.timeline import ActivityRun, timeline_of

suite = Suite("07", "Parallel booking: book at once, settle, then undo", server="dev")

BOOKINGS = ["book_flight", "book_hotel", "book_car"]
BOOKING_UNDOS = ["cancel_flight", "cancel_hotel", "cancel_car"]
UNDO_OF = {"book_flight": "cancel_flight", "book_hotel": "cancel_hotel", "book_car": "cancel_car",
           "charge_payment": "refund_payment"}  # fmt: skip
STEP_OF = {undo: step for step, undo in UNDO_OF.items()}
KIND = {"book_flight": "flight", "book_hotel": "hotel", "book_car": "car"}
REFUSED = "refund refused: the charge can no longer be refunded (injected)"
NOT_CONFIRMED = "confirm_trip: the trip can no longer be confirmed"
NO_CAR = "book_car: no economy car is left for these dates"

SETTLE = (
    "Wait until every booking has settled: `asyncio.gather(..., return_exceptions=True)` waits for "
    "all three and hands you the errors as results; then raise the first one."
)
SEQUENTIAL = (
    "the bookings were started one after another: each was scheduled only after the one before it "
    "had finished (and after a failure, the next never started), so the trip waits for each desk in "
    "turn. They don't depend on each other: start all three at once (asyncio.gather of the three "
    "execute_activity calls), then wait for them together."
)
ONE_BY_ONE = (
    "the bookings' undos ran one after another: each was started only once the one before it had "
    "finished. They don't depend on each other either (Part C): run the undos of a group together, "
    "`await asyncio.gather(*(undo(activity) for activity in group))`; each undo keeps its own try."
)
EXCEPT_EXCEPTION = (
    "the customer cancelled while the bookings were in flight, and nothing was undone: the cancel "
    "arrives as asyncio.CancelledError, which `except Exception` does not catch, so every booking "
    "stayed held. Catch it too: `except (Exception, asyncio.CancelledError):`, undo, then `raise`."
)


async def book(lab, trip, held: tuple[str, ...] = (), cancel: bool = False) -> Outcome:
    """Book ``trip``, holding the desks in ``held`` until the workflow has nothing else to do
    (``cancel``: the customer cancels first, while they are at work). The outcome's timeline
    gains each run's workflow task (``run.task``: the workflow_task_completed_event_id
    that scheduled it)."""
    try:
        outcome = await lab.book(trip, held=held, cancel_when_idle=cancel)
    except CodeError as error:  # a workflow that went on after a booking failed ends in a bug: say so first
        timeline = await timeline_of(lab.client.get_workflow_handle(trip.trip_id))
        _went_on(timeline.runs)
        raise error
    history = await lab.client.get_workflow_handle(trip.trip_id).fetch_history()
    tasks = {
        e.event_id: e.activity_task_scheduled_event_attributes.workflow_task_completed_event_id
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    for run in outcome.timeline.runs:
        run.task = tasks.get(run.scheduled_event, 0)
    started = {e.event_id: e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta().total_seconds()
               for e in history.events if e.HasField("timer_started_event_attributes")}  # fmt: skip
    outcome.timers = [  # (the TimerFired event, the timer's seconds): the workflow's own fixed waits
        (e.event_id, started.get(e.timer_fired_event_attributes.started_event_id, 0.0))
        for e in history.events if e.HasField("timer_fired_event_attributes")
    ]  # fmt: skip
    return outcome


def _timer_while_open(outcome: Outcome, steps: list[str], before: int) -> str:
    """'a timer of N s' if a timer of the workflow fired before event ``before`` while one of
    ``steps`` was still open (it waited a fixed time instead of for them), else ''."""
    for fired, seconds in getattr(outcome, "timers", []):
        last = [_runs(outcome, step)[-1] for step in steps if _runs(outcome, step)]
        if fired < before and any(not r.closed_event or r.closed_event > fired for r in last):
            return f"a timer of {seconds:g} s"
    return ""


async def book_all(*bookings) -> list[Outcome]:
    """Book several trips at once; a check that fails for one of them names the first in the
    order written, not the first to finish."""
    outcomes = await asyncio.gather(*bookings, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return outcomes


def _holds(trip_id: str, step: str) -> list:
    return [r for r in world.reservations(trip_id) if r.kind == KIND[step] and r.status == "held"]


def _runs(outcome: Outcome, name: str) -> list[ActivityRun]:
    return [r for r in outcome.timeline.runs if r.name == name]


def _lines(lines: list[int]) -> str:
    return f"workflow.py line {', '.join(map(str, lines))}"


def _went_on(runs: list[ActivityRun]) -> None:
    failed = [r.name for r in runs if r.name in BOOKINGS and r.outcome in ("failed", "timed out")]
    onward = [r.name for r in runs if r.name in ("charge_payment", "confirm_trip")]
    if failed and onward:
        raise CheckFailed(
            f"{failed[0]} failed, yet the workflow went on to {onward[0]}: with "
            "return_exceptions=True, gather hands you the errors as results. Look at them once "
            "every booking has settled, and raise the first one, so the except block undoes the rest.",
            mistake="went on",
        )


def _bugs(outcome: Outcome, lab) -> None:
    for run in outcome.timeline.runs:  # a bug in the code, before anything else
        if run.outcome in ("failed", "timed out") and run.error_type not in BUSINESS_ERRORS | OUTAGES:
            raise CodeError(_activity_bug(run, lab))


# --- what the source says, only to name the line behind a failure the run showed ------------


def _calls_named(source: str, names: set[str]) -> list[ast.Call]:
    """The calls of ``names`` (asyncio.gather, workflow.wait...) in the function that books the
    trip (the one that charges the payment), so that a hint names the bookings' wait, not the
    undos' gather; in the whole source if there is no such function."""
    tree = parse(source) or ast.Module([], [])
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
            isinstance(n, ast.Name) and n.id == "charge_payment" for n in ast.walk(node)
        ):
            tree = node
            break
    found = []
    for node in ast.walk(tree):
        func = getattr(node, "func", None) if isinstance(node, ast.Call) else None
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in names:
            found.append(node)
    return found


def _gathers_without_exceptions(source: str) -> list[int]:
    return sorted(
        node.lineno for node in _calls_named(source, {"gather"})
        if not any(k.arg == "return_exceptions" and isinstance(k.value, ast.Constant) and k.value.value is True
                   for k in node.keywords)
    )  # fmt: skip


def _first_exception_waits(source: str) -> list[int]:
    return sorted(
        node.lineno for node in _calls_named(source, {"wait"})
        if any(k.arg == "return_when" and "FIRST" in ast.unparse(k.value) for k in node.keywords)
    )  # fmt: skip


def _waits(source: str) -> list[int]:
    """Lines of asyncio.wait / workflow.wait / asyncio.as_completed calls where the trip is booked."""
    return sorted(node.lineno for node in _calls_named(source, {"wait", "as_completed", "wait_for"}))


def _abandon_lines(source: str) -> list[int]:
    """Lines that name ActivityCancellationType.ABANDON."""
    tree = parse(source)
    return sorted(n.lineno for n in ast.walk(tree or ast.Module([], [])) if isinstance(n, ast.Attribute) and n.attr == "ABANDON")


def _catches_cancel(lab) -> bool | None:
    """Does the except around the payment (the saga's except) catch a cancel? None: cannot tell."""
    handlers = handlers_around(lab.source, "charge_payment")
    if not handlers:
        return None
    return any(catches(h, vars(lab.modules.workflow), asyncio.CancelledError) for h in handlers)


# --- the verdict --------------------------------------------------------------------------


def expect_together(outcome: Outcome) -> None:
    """The three bookings were scheduled by one workflow task, before any of them ended."""
    runs = [r for r in outcome.timeline.runs if r.name in BOOKINGS]
    names = [r.name for r in runs]
    if [name for name in BOOKINGS if name not in names] or len({r.task for r in runs}) > 1:
        raise CheckFailed(SEQUENTIAL, mistake="sequential")


def _in_flight(outcome: Outcome) -> list[str]:
    """The bookings still at work when the saga started its first undo (or when it ended)."""
    undos = [r for r in outcome.timeline.runs if r.compensation]
    first_undo = min((r.scheduled_event for r in undos), default=0)
    in_flight = []
    for step in BOOKINGS:
        runs = _runs(outcome, step)
        if runs and (runs[-1].outcome == "running" or (first_undo and runs[-1].closed_event > first_undo)):
            in_flight.append(step)
    return in_flight


def _expect_waited(outcome: Outcome, lab, cancelled: bool) -> None:
    """No booking was still at work when the saga compensated (or ended)."""
    trip_id = outcome.trip.trip_id
    in_flight = _in_flight(outcome)
    undos = [r for r in outcome.timeline.runs if r.compensation]
    holds = {step: _holds(trip_id, step) for step in in_flight}
    left = [step for step in in_flight if holds[step] and (undos or outcome.status != "Completed")]
    if not left:
        return
    what = arrow(left)
    were = "was" if len(left) == 1 else "were"
    ids = ", ".join(holds[s][0].id for s in left)
    # "its car stayed held (CR-0018)": the words the README quotes
    stayed = (f"its {KIND[left[0]]} stayed held ({ids})" if len(left) == 1 else
              f"their {', '.join(KIND[s] for s in left)} stayed held ({ids})")  # fmt: skip
    failed = [r.name for r in outcome.timeline.runs if r.name in BOOKINGS and r.outcome in ("failed", "timed out")]
    when = "the customer cancelled" if cancelled else f"{failed[0]} failed" if failed else "a booking failed"
    first_undo = min((r.scheduled_event for r in undos), default=0) or 10**9
    timer = _timer_while_open(outcome, left, first_undo)
    if timer:
        raise CheckFailed(
            f"your workflow waited a fixed time ({timer}) instead of waiting for the bookings: when {when}, "
            f"{what} {were} still at work, and {stayed}. A desk can always be slower than your timer (the checks "
            f"hold one until your workflow has nothing else to do). {SETTLE}",
            mistake="fixed wait",
        )
    asked = [s for s in left if _runs(outcome, s)[-1].cancel_requested]
    if asked:
        raise CheckFailed(
            f"when {when}, your workflow asked {arrow(asked)} to stop, then undid the trip without waiting for "
            f"the desk to confirm it had stopped, and {stayed}: the desk was already at work. Keep STEP's "
            "cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED: a cancelled booking then "
            "settles (stopped, or booked) before the undos run.",
            mistake="cancellation type",
        )
    abandoned = _abandon_lines(lab.source)
    if abandoned:
        raise CheckFailed(
            f"when {when}, your workflow dropped {what} with cancellation_type=ABANDON ({_lines(abandoned)}): the "
            f"booking is not even asked to stop and nothing waits for it, so the saga undid the trip while the desk "
            f"worked, and {stayed}. Keep STEP's cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED: "
            "a cancelled booking then settles (stopped, or booked) before the undos run.",
            mistake="cancellation type",
        )
    if cancelled:
        lines = _waits(lab.source)
        where = f" ({_lines(lines)})" if lines else ""
        raise CheckFailed(
            f"the customer cancelled while the bookings were in flight, and your wait stopped at the "
            f"cancel{where}: {what} {were} not even asked to stop, the saga undid the trip while "
            f"{'it' if len(left) == 1 else 'they'} worked, and {stayed}. asyncio.wait and workflow.wait (and "
            "an await of one booking at a time) raise CancelledError at once and leave the others running. "
            "Wait with asyncio.gather(..., return_exceptions=True): on a cancel it cancels every booking and "
            "waits until each has settled.",
            mistake="wait stopped by the cancel",
        )
    gathers, firsts = _gathers_without_exceptions(lab.source), _first_exception_waits(lab.source)
    hint = (
        f" A wait with return_when=FIRST_EXCEPTION ({_lines(firsts)}) returns at the first failure." if firsts else
        f" asyncio.gather without return_exceptions=True ({_lines(gathers)}) raises at the first failure and "
        "leaves the others running." if gathers else ""
    )  # fmt: skip
    raise CheckFailed(
        f"{what} {were} still running when you compensated, and {stayed}: when {when}, the saga undid the "
        f"trip before {what} had settled, so {arrow([UNDO_OF[s] for s in left])} had nothing to cancel yet, "
        f"and the desk booked a moment later.{hint} {SETTLE}",
        mistake="stopped waiting",
    )


def _cancel_lost(outcome: Outcome) -> None:
    """The customer cancelled while the bookings were in flight, and the workflow completed."""
    asked = [r.name for r in outcome.timeline.runs if r.name in BOOKINGS and r.cancel_requested]
    others = [name for name in BOOKINGS if name not in asked]
    how = (
        f" The cancel reached only {arrow(asked)}, the booking{'s' if len(asked) > 1 else ''} you were awaiting; "
        f"{'it' if len(asked) == 1 else 'they'} finished anyway, so the await returned the result and the cancel "
        f"was lost, while {arrow(others)} went on unasked." if asked and others else ""
    )  # fmt: skip
    raise CheckFailed(
        "the customer cancelled while the bookings were in flight, yet the workflow went on and ended "
        f"Completed: the trip was booked and charged after all.{how} Wait for the three with "
        "asyncio.gather(..., return_exceptions=True): on a cancel it cancels every booking, waits until each "
        "has settled, then raises CancelledError, so your except undoes them.",
        mistake="cancel lost",
    )


def _expect_undos_finished(outcome: Outcome, lab, cancelled: bool) -> None:
    undos = [r for r in outcome.timeline.runs if r.compensation]
    unfinished = [r for r in undos if r.outcome in ("running", "cancelled")]
    unawaited = unawaited_activity_calls(lab.source)
    if unawaited and (unfinished or not undos):
        raise CheckFailed(
            f"no compensation finished: the call on {_lines(unawaited)} is not awaited, so nothing waits "
            "for it. Await each undo (or the gather of a group's undos).",
            mistake="undo not awaited",
        )
    if cancelled and (any(r.cancel_requested for r in unfinished) or (unfinished and outcome.status == "Canceled")):
        raise CheckFailed(
            f"the customer's cancel cut the undos short: {arrow([r.name for r in unfinished])} was cancelled "
            "while it ran, and the workflow ended. Once compensating has begun, the undos must run to the "
            "end: keep them in a task and shield it from the cancel (run_to_the_end(undo_all(...)): "
            "asyncio.shield, then await the task again).",
            mistake="undos cut short",
        )
    if unfinished:
        raise CheckFailed(
            f"{arrow([r.name for r in unfinished])} started, but the workflow ended before they finished: "
            "every undo must complete before the workflow fails. Await the undos of each group "
            "(asyncio.gather) before you go on.",
            mistake="undos unfinished",
        )
    gave_up = [r for r in undos if r.name != "refund_payment" and r.outcome in ("failed", "timed out")]
    if gave_up:
        run = gave_up[0]
        limit = f"its retry policy allows {run.max_attempts} attempts" if run.max_attempts else "it gave up"
        raise CheckFailed(
            f"{run.name} failed {run.attempts} time(s) while its service was briefly down, and {limit}: "
            "an undo must retry an outage until it passes (UNDO, without maximum_attempts).",
            mistake="undo gave up",
        )


def expect_settled_then_undone(outcome: Outcome, lab, *, cancelled: bool = False, refused: bool = False) -> None:
    """After a failure (or the customer's cancel): every booking that did something was undone
    after it settled, the payment's undo first and alone, the bookings' undos together,
    every undo finished, nothing undone that never started, Failed (Canceled), zero orphans.
    ``refused``: the bank refuses the refund for good (judged by expect_refund_flagged)."""
    runs, trip_id = outcome.timeline.runs, outcome.trip.trip_id
    _bugs(outcome, lab)
    expect_together(outcome)
    if cancelled and outcome.status == "Completed":
        _cancel_lost(outcome)
    _expect_undos_finished(outcome, lab, cancelled)
    _went_on(runs)
    _expect_waited(outcome, lab, cancelled)
    undos = [r for r in runs if r.compensation]
    ran = [r.name for r in undos]
    if not ran:
        if cancelled:
            if outcome.status == "Canceled" and _catches_cancel(lab) is False:
                raise CheckFailed(EXCEPT_EXCEPTION, mistake="except Exception")
            raise CheckFailed(
                f"the customer cancelled while the bookings were in flight, and no compensation ran, so the saga "
                f"left {outcome.describe_orphans() or 'its work'} behind (the workflow ended {outcome.status}). "
                "Register the three undos before the bookings start (a cancel can come before they return), "
                "catch the cancel with the failures (`except (Exception, asyncio.CancelledError):`), undo, then "
                "`raise`.",
                mistake="nothing undone after a cancel",
            )
        failed = [r.name for r in runs if not r.compensation and r.outcome != "completed"]
        step = failed[0] if failed else "a step"
        raise CheckFailed(_why_nothing_ran(step, outcome, lab) or (
            f"no compensation ran after {step} failed, so the saga left {outcome.describe_orphans() or 'its work'} "
            "behind. Register the undos before the bookings start, and run them in the except block before `raise`."
        ), mistake="nothing undone")  # fmt: skip
    refusals = [r for r in undos if r.outcome in ("failed", "timed out")]
    if refusals and [name for name in BOOKING_UNDOS if name not in ran]:
        raise CheckFailed(
            f"{refusals[0].name} failed for good ({refusals[0].error}), and then "
            f"{arrow([name for name in BOOKING_UNDOS if name not in ran])} never ran, so "
            f"{outcome.describe_orphans() or 'the bookings'} stayed held: the undo that failed stopped the rest. "
            "Run every undo through undo(activity), whose own try notes the failure and goes on (a gather of "
            "bare execute_activity calls raises at the first one that fails).",
            mistake="undo stopped the rest",
        )
    for step, undo in UNDO_OF.items():  # every step that did something is undone
        step_runs = _runs(outcome, step)
        did = step_runs and (step_runs[-1].outcome == "completed" or (step in KIND and _holds(trip_id, step)))
        if did and undo not in ran:
            if step_runs[-1].outcome == "failed":
                held = _holds(trip_id, step)[0]
                raise CheckFailed(
                    f"{step} reserved {held.kind} {held.id} but its reply was lost, and {undo} never ran: "
                    "register the three undos before the bookings start, because a step that fails may still "
                    "have done its work.",
                    mistake="registered after",
                )
            if cancelled and step in KIND:
                raise CheckFailed(
                    f"the customer cancelled while {step} was in flight; it booked {KIND[step]} "
                    f"{_holds(trip_id, step)[0].id if _holds(trip_id, step) else ''} as it settled, but {undo} "
                    f"never ran (the compensations ran {arrow(ran)}): register the three undos as one group "
                    "before the bookings start, so a cancel undoes whatever they did.",
                    mistake="registered after",
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
            "The payment came after the bookings, so its undo comes first, alone (a group of its own, "
            "and the groups newest first); then the bookings' undos, together.",
            mistake="refund not first",
        )
    bookings_undone = sorted((r for r in undos if r.name in BOOKING_UNDOS), key=lambda r: r.scheduled_event)
    for before, after in zip(bookings_undone, bookings_undone[1:]):
        if after.scheduled_event > before.closed_event:
            raise CheckFailed(ONE_BY_ONE, mistake="undos one by one")
    capped = [r for r in undos if r.bounded]
    if capped:
        raise CheckFailed(
            f"{capped[0].name} runs with a retry policy that gives up: a longer outage would stop it. "
            "An undo must retry an outage until it passes (UNDO, without maximum_attempts).",
            mistake="undo capped",
        )
    if refused:
        return
    failed = [r for r in runs if r.name in UNDO_OF or r.name == "confirm_trip"]
    failed = [r for r in failed if not r.compensation and r.outcome in ("failed", "timed out") and r.error]
    if not cancelled and failed and outcome.status == "Failed" and not any(r.error in outcome.error for r in failed):
        raise CheckFailed(
            f"the workflow failed with {outcome.error!r}, which hides why the trip was not booked: "
            f"{failed[0].name} failed with {failed[0].error!r}. Raise the booking's own error (`raise result`, "
            "or a bare `raise`), so the workflow fails with the desk's reason, and the customer hears it.",
            mistake="error replaced",
        )
    if cancelled:
        expect(
            outcome.status in ("Canceled", "Failed"),
            f"after the customer's cancel the workflow ended {outcome.status}; expected Canceled. Once the "
            "undos have run, re-raise the CancelledError (`raise`), so Temporal records the trip as cancelled.",
        )
    else:
        expect_status_failed(outcome)
    flagged = world.flags(trip_id)
    expect(
        not flagged,
        f"every undo worked, yet trip {trip_id} was flagged for a person ({next(iter(flagged.values()), '')}): "
        "flag a trip only when an undo failed for good.",
    )
    expect_no_orphans(outcome)


def _results_in_completion_order(outcome: Outcome) -> bool:
    """Does the Itinerary name the bookings in the order their desks answered?"""
    result = outcome.result if isinstance(outcome.result, dict) else {}
    done = sorted((r for r in outcome.timeline.runs if r.name in BOOKINGS), key=lambda r: r.closed_event)
    ids = {step: (_holds(outcome.trip.trip_id, step) or [None])[0] for step in BOOKINGS}
    if [r.name for r in done] == BOOKINGS or not all(ids.values()):
        return False
    fields = ["flight_reservation", "hotel_reservation", "car_reservation"]
    return [result.get(f) for f in fields] == [ids[r.name].id for r in done]


@suite.check("A trip with nothing going wrong is booked: flight, hotel and car, then the payment")
async def booked(lab):
    # The flight's desk answers last: results in the order of the answers would be mixed up.
    outcome = await book(lab, lab.trip(), held=("book_flight",))
    _bugs(outcome, lab)
    bookings = [r for r in outcome.timeline.runs if r.name in BOOKINGS]
    for payment in _runs(outcome, "charge_payment")[:1]:  # first: a payment too early fails the trip
        early = [r.name for r in bookings if not r.closed_event or r.closed_event > payment.scheduled_event]
        timer = _timer_while_open(outcome, early, payment.scheduled_event)
        if early and timer:
            raise CheckFailed(
                f"your workflow stopped waiting for {arrow(early)} after a fixed time ({timer}) and went on to "
                "charge the payment: a desk can always be slower than your timer (the checks hold one until your "
                f"workflow has nothing else to do). {SETTLE}",
                mistake="fixed wait",
            )
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
    if _results_in_completion_order(outcome):
        order = arrow(sorted((r.name for r in bookings), key=lambda n: _runs(outcome, n)[-1].closed_event))
        raise CheckFailed(
            f"the Itinerary names the bookings in the order their desks answered ({order}), not in the order "
            "you started them: flight_reservation holds another booking's id. Keep the results in booking "
            "order, as asyncio.gather returns them (flight, hotel, car = results), whichever desk answers first."
        )
    expect_itinerary_matches(outcome)
    expect_no_orphans(outcome)


@suite.check("The flight, the hotel and the car start together, in one workflow task")
async def together(lab):
    outcome = await book(lab, lab.trip())
    _bugs(outcome, lab)
    expect_together(outcome)


@suite.check(
    "The hotel fails while the car is in flight: the car is undone after it settles, and the flight; "
    "so is a failure first to answer (the flight) or last (the car)"
)
async def hotel_fails_during_car(lab):
    hotel, flight, car = lab.trip(room_type="penthouse"), lab.trip(flight="TW305"), lab.trip()  # no such room; sold out
    world.inject("book_car", "refuse", message=NO_CAR, scope=car.trip_id)
    for outcome in await book_all(
        book(lab, hotel, held=("book_car",)),  # the README's story: the car still at work when the hotel says no
        book(lab, flight, held=("book_hotel", "book_car")),  # the first to answer fails, two at work
        book(lab, car, held=("book_car",)),  # the last to answer fails
    ):
        expect_settled_then_undone(outcome, lab)


@suite.check("A car that books but loses its reply, then fails, is undone too (undos registered before the bookings start)")
async def car_reply_lost(lab):
    trip = lab.trip()
    # The first attempt books the car and its reply is lost; the retry is refused for good. (The
    # refusal's seed makes the world's draw miss the first call and hit the second, every run: one
    # retry, a second on this server, instead of the two that three lost replies would take.)
    world.inject("book_car", "lose_reply", scope=trip.trip_id[:-1])
    world.inject("book_car", "refuse", rate=0.5, seed=1, message=NO_CAR, scope=trip.trip_id)
    expect_settled_then_undone(await book(lab, trip), lab)


@suite.check(
    "The payment fails after all three bookings: its undo runs first, alone, then the bookings'; "
    "a refund refused for good stops no other undo, and is named and flagged for a person"
)
async def payment_fails(lab):
    declined, unconfirmed, refused = lab.trip(card_number=world.DECLINED_CARD), lab.trip(), lab.trip()
    for trip in (unconfirmed, refused):
        world.inject("confirm_trip", "refuse", message=NOT_CONFIRMED, scope=trip.trip_id)
    world.inject("refund", "refuse", message=REFUSED, scope=refused.trip_id)
    outcomes = await book_all(book(lab, unconfirmed), book(lab, declined), book(lab, refused))
    for outcome in outcomes[:2]:
        expect_settled_then_undone(outcome, lab)
    await expect_refund_flagged(outcomes[2], lab)


async def expect_refund_flagged(outcome: Outcome, lab) -> None:
    """The bank refused the refund for good: every other undo still ran, the workflow failed
    naming the refund, and the trip is flagged for a person (its charge listed as flagged)."""
    expect_settled_then_undone(outcome, lab, refused=True)
    trip = outcome.trip
    message = ""
    try:
        await lab.client.get_workflow_handle(trip.trip_id).result()
    except WorkflowFailureError as failure:
        message = getattr(failure.cause, "message", "") or str(failure.cause)
    refund = _runs(outcome, "refund_payment")
    expect(refund, f"refund_payment never ran after confirm_trip failed: the compensations ran "
           f"{arrow(outcome.timeline.compensations)}.")  # fmt: skip
    done = {r.name for r in outcome.timeline.runs if r.compensation and r.outcome == "completed"}
    missing = [name for name in BOOKING_UNDOS if name not in done]
    if missing:
        raise CheckFailed(
            f"the bank refused the refund for good, and then {arrow(missing)} never ran, so "
            f"{outcome.describe_orphans() or 'the bookings'} stayed held: the undo that failed stopped the rest. "
            "Run every undo through undo(activity), whose own try notes the failure and goes on (a gather of "
            "bare execute_activity calls raises at the first one that fails).",
            mistake="undo stopped the rest",
        )
    flagged = world.flags(trip.trip_id)
    named = "refund" in message.lower()
    if not flagged and not named:
        raise CheckFailed(
            f"the bank refused the refund for good, yet nobody was told: the trip was not flagged, and the "
            f"workflow failed with {outcome.error!r}. The refusal never reached the list of failed undos: run each "
            "undo through undo(activity), whose except appends it to `failed` (a gather with "
            "return_exceptions=True, or an except that passes, drops it); then flag_for_attention(...) and "
            "raise an error that names it.",
            mistake="refusal swallowed",
        )
    expect(flagged, "the refund was refused, and nobody was told: the charge is left as a silent orphan. Call "
           "flag_for_attention(trip, reason) when an undo fails for good, so a person settles it.")  # fmt: skip
    expect(named, f"the workflow failed with {message!r}, which does not name the refund that failed: raise an "
           "ApplicationError that lists every failed undo (e.g. 'compensation failed: refund_payment ...').")  # fmt: skip
    expect(outcome.status == "Failed", f"an undo failed for good, yet the workflow ended {outcome.status}; expected Failed.")
    charges = [o for o in outcome.report.flagged if o.kind == "charge"]
    expect(charges, "the trip is flagged, yet the audit does not list its charge as flagged.")
    expect_no_orphans(outcome)


@suite.check("The customer cancels while the three desks are at work, and while the undos run: all undone, each after it settled")
async def cancel_during_bookings(lab):
    during, compensating = lab.trip(), lab.trip()
    world.inject("confirm_trip", "refuse", message=NOT_CONFIRMED, scope=compensating.trip_id)
    for outcome in await book_all(
        book(lab, during, held=tuple(BOOKINGS), cancel=True),
        book(lab, compensating, held=("refund_payment",), cancel=True),
    ):
        expect_settled_then_undone(outcome, lab, cancelled=True)
