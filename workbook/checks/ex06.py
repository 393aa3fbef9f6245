"""Checks for exercise 06: a trip cancelled while it is being booked, and an undo that
fails for good.

A cancel reaches the workflow in one of two ways. One that lands while an activity runs
arrives as an ActivityError (its cause a CancelledError); one that the workflow learns of
together with something else (here: the car desk's answer) arrives as
asyncio.CancelledError, a BaseException that `except Exception` lets through. The saga
must catch both, run every undo, and end Canceled. An undo that fails for good (the bank
refuses the refund) must not stop the others; the workflow then fails naming every undo
that failed, and flags the trip for a person, so the audit lists what it still holds as
flagged, not as orphans. When every undo worked, nothing is flagged.

The moments are chosen by the check, never left to the machine (see ex06_lab.py): a
cancel that lands as the car desk answers is made to land in the same workflow task every
run; a cancel during the undos lands while an undo's desk is held, and the desk stays held
for as long as the workflow is busy, so a workflow that waits a fixed time, or stops
waiting, shows it at any speed.

What the README teaches, and what proves it:

| README point                                      | scenario (check)                             | what fails when it is violated                      |
| ------------------------------------------------- | -------------------------------------------- | --------------------------------------------------- |
| B1: catch the cancel as well as a failure         | cancel_during_car, second trip: the cancel   | "reached the workflow as asyncio.CancelledError ... |
|     (`except (Exception, asyncio.CancelledError)`)| lands as the car desk answers (one task)     | `except Exception:` (line N) does not catch it"     |
|     ... and a cancel during an activity           | cancel_during_car, first trip: the cancel    | "reached the workflow as an ActivityError" (only    |
|                                                   | lands while the slow car desk heartbeats     | CancelledError caught)                              |
| B1/B4: re-raise once the undos have run: Canceled | cancel_during_car, both trips                | "ended Completed/Failed; expected Canceled"         |
| B2: each undo in a try of its own                 | refund_refused_others_run (refund refused)   | "the first undo that failed stopped the rest"       |
| B2: catch what execute_activity raises, and go on | refund_refused_others_run                    | "its failure ended the workflow at once": "has no   |
|     (ActivityError; no raise in the undo's except)|                                              | `try` of its own", "`except ApplicationError:` (line|
|                                                   |                                              | N) does not catch it", "then raises it again"       |
| B3: the undos shielded from a cancel              | cancel_while_compensating: cancel while      | "the customer's cancel reached cancel_hotel"        |
|                                                   | cancel_hotel's desk is held                  |                                                     |
| B3: wait for the undos again after the cancel     | cancel_while_compensating (held desk)        | "ended while the undos were still running"; a fixed |
|     (not a fixed wait)                            |                                              | sleep: "waited a fixed ... instead of for them"     |
| B4: flag the trip when an undo fails for good     | refund_refused_named_and_flagged             | "nobody was told"                                   |
| B4: fail naming every undo that failed            | refund_refused_named_and_flagged, second     | "does not name the refund", "which does not name    |
|                                                   | trip: the refund and the car both refused    | cancel_car"; "ended Completed; expected Failed"     |
| B4: nothing flagged when every undo worked        | booked, cancel_during_car (both),            | "every undo worked, yet the trip was flagged"       |
|                                                   | cancel_while_compensating                    |                                                     |
| A2: a refusal is final, not retried               | refund_refused_*                             | "retried without end for a refusal", "tried N times"|
| intro: an outage passes if you retry it (UNDO     | cancel_during_car (cancel_hotel's outage),   | "failed N time(s) while its service was briefly     |
|        never gives up; only a refusal is final)   | refund_refused_* (cancel_car's outage),      | down, and its retry policy allows N attempts"; an   |
|        ... by its policy, or by the workflow      | cancel_while_compensating (the refund's): an | outage made final in activities.py: "its failure    |
|        asking again (a loop around the call)      | outage as long as the undo's own retries     | was final: it was never retried"; only a time budget|
|                                                   | (observe.outlast), so one that may give up   | outage calls cannot outlast: "runs with a retry     |
|                                                   | does, unless the workflow asks again         | policy that gives up"                               |
| A2: ... nor asked for again by the workflow       | refund_refused_*                             | "your workflow asked for it again and again"        |
| undos newest first, one after another; zero       | every scenario                               | "expected cancel_car → cancel_hotel → cancel_flight"|
|   orphans                                         |                                              | "the undos ran all at once", the audit's orphans    |
| the Itinerary names the trip's bookings           | booked (expect_itinerary_matches)            | "the workflow returned flight_reservation=..."      |

Each scenario judges, in this order: a bug in the code, nothing undone (the cancel let
through), an undo cancelled or left unfinished, an undo that gave up, the undos and their
order, how the workflow ended, the error's words, the flag, and last the travel world. A
scan of the source never fails an answer by itself: it only names the line behind a
failure the run showed.

These checks run on a local dev server (Suite.server = "dev"): the time-skipping test
server mishandles activities run after a workflow was cancelled.
"""

from __future__ import annotations

import ast
import asyncio
import re

from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError

from workbook import world
from workbook.checks import CheckFailed, CodeError, Outcome, Suite, arrow, expect, expect_no_orphans, expect_trip_booked
from workbook.checks import ex06_lab
from workbook.checks.observe import OUTLAST_AT_MOST, outlast
from workbook.checks.saga import BUSINESS_ERRORS, OUTAGES, WORLD_OPERATION, _activity_bug
from workbook.source import _parents, call_lines, catches, handlers_around, parse, unawaited_activity_calls

suite = Suite("06", "Cancellation and failing compensations", server="dev")

UNDOS_AFTER_CAR = ["cancel_car", "cancel_hotel", "cancel_flight"]
ALL_UNDOS = ["refund_payment", *UNDOS_AFTER_CAR]
ENDLESS_AFTER = 5  # failed attempts of an undo that a refusal should have ended
REFUSED = "refund refused: the charge can no longer be refunded (injected)"
CAR_REFUSED = "the car was already handed over: the rental can no longer be cancelled (injected)"
CONFIRM_FAILS = "confirm_trip: the trip can no longer be confirmed"


def undo_meets_outage(undo: str) -> None:
    """Make ``undo`` fail once before it works: on the dev server every retry waits at least
    a second, so the checks judge a retry policy that gives up from history instead."""
    world.inject(WORLD_OPERATION[undo], "fail", times=1)


# --- what history, the world and the source show -------------------------------------------------


def _bugs(outcome: Outcome, lab) -> None:
    for run in outcome.timeline.runs:  # a bug in the code, before anything else
        if run.outcome in ("failed", "timed out") and run.error_type not in BUSINESS_ERRORS | OUTAGES:
            raise CodeError(_activity_bug(run, lab))


def _undos(outcome: Outcome, lab, expected: list[str], why: str, refused: tuple[str, ...] = ("refund_payment",)) -> None:
    """Every undo in ``expected`` ran, newest first, and each finished; an outage is
    retried, not given up on (those in ``refused`` may fail: their desk refused)."""
    undos = [r for r in outcome.timeline.runs if r.compensation]
    # An undo whose own retries gave up, and that the workflow then asked for again (a loop
    # around the call), is one undo that kept trying: judge the last time it was asked.
    again = [r for n, r in enumerate(undos)
             if r.outcome in ("failed", "timed out") and any(later.name == r.name for later in undos[n + 1:])]  # fmt: skip
    undos = [r for r in undos if r not in again]
    ran = [r.name for r in undos]
    if not undos:
        unawaited = unawaited_activity_calls(lab.source)
        if unawaited:
            raise CheckFailed(f"no compensation ran {why}: the call on workflow.py line "
                              f"{', '.join(map(str, unawaited))} is not awaited.")  # fmt: skip
    _none_gave_up(outcome, refused)
    for run in undos:
        if run.outcome in ("running", "cancelled"):
            raise CheckFailed(f"{run.name} started, but did not finish: `await` each undo, and shield "
                              "the undos from the cancel (asyncio.shield).")  # fmt: skip
    missing = [name for name in expected if name not in ran]
    if missing:
        raise CheckFailed(
            f"{why}, the compensations ran {arrow(ran)}; expected {arrow(expected)}. "
            f"{arrow(missing)} never ran, so {outcome.describe_orphans() or 'work'} was left behind."
        )
    # Each scenario's outage outlasts an undo's own retry policy (observe.outlast): an undo
    # that gives up fails above, unless the workflow asks again. Only what no outage reached
    # (a time budget, another undo's policy) is judged from the policy, and only when the
    # workflow was not seen asking again.
    capped = [r for r in undos if r.bounded and not 0 < r.max_attempts <= OUTLAST_AT_MOST]
    if capped and not again:
        raise CheckFailed(
            f"{capped[0].name} runs with a retry policy that gives up (at most {capped[0].max_attempts or 'a time budget of'} "
            "attempts): a longer outage would stop it. An undo must retry an outage until it passes "
            "(UNDO, without maximum_attempts)."
        )
    order = [name for name in ran if name in expected]
    expect(order == expected, f"{why}, the compensations ran {arrow(ran)}; expected {arrow(expected)}: newest first.")
    for before, after in zip(undos, undos[1:]):
        expect(
            not before.closed_event or after.scheduled_event > before.closed_event,
            f"{why}, {after.name} started before {before.name} had finished: the undos ran all at once. "
            "Run them one after another, newest first (await each before starting the next).",
        )


def _none_gave_up(outcome: Outcome, refused: tuple[str, ...] = ()) -> None:
    """No undo (but those in ``refused``, whose desk refused) failed for good on an outage and
    was left so: one that the workflow asked for again afterwards kept trying."""
    undos = [r for r in outcome.timeline.runs if r.compensation]
    for n, run in enumerate(undos):
        if run.name in refused or run.outcome not in ("failed", "timed out"):
            continue
        if any(later.name == run.name for later in undos[n + 1:]):
            continue
        _outage_made_final(run)
        limit = f"its retry policy allows {run.max_attempts} attempts" if run.max_attempts else "it gave up"
        raise CheckFailed(
            f"{run.name} failed {run.attempts} time(s) while its service was briefly down, and "
            f"{limit}: an undo must retry an outage until it passes (UNDO, without maximum_attempts)."
        )


def _outage_made_final(run) -> None:
    """An undo that failed on its first attempt although its retry policy has no end: its
    error was final (non-retryable), yet the check only made its service briefly down."""
    if run.outcome in ("failed", "timed out") and run.attempts == 1 and not run.bounded:
        raise CheckFailed(
            f"{run.name} met a brief outage of its service ({run.error or 'service unavailable'}), "
            "and its failure was final: it was never retried. Only a refusal is final: in "
            "activities.py, raise business errors (world.BookingError, such as Refused) as "
            "non-retryable, and let an outage through, so that Temporal retries it until it passes."
        )


def _nothing_flagged(outcome: Outcome, why: str) -> None:
    reason = world.flags(outcome.trip.trip_id).get(outcome.trip.trip_id)
    expect(
        reason is None,
        f"{why}, and every undo worked, yet the trip was flagged for a person ({reason!r}): flag it "
        "only when an undo failed for good (`if failed:`). Here a person has nothing to settle.",
    )


def _lets_the_cancel_through(lab, error: type[BaseException]) -> str:
    """The except clause around the steps that does not catch ``error``, as ': your
    `except Exception:` (workflow.py, line N) does not catch it'; or '' when none is seen."""
    handlers = handlers_around(lab.source, "book_car")
    names = vars(lab.modules.workflow)
    if not handlers or any(catches(h, names, error) for h in handlers):
        return ""
    handler = handlers[0]
    caught = ast.unparse(handler.type) if handler.type is not None else ""
    return f": your `except {caught}:` (workflow.py, line {handler.lineno}) does not catch it"


def _handlers_at(source: str, line: int) -> list[ast.ExceptHandler]:
    """The except clauses of the `try` blocks around the call on ``line``."""
    tree = parse(source)
    if tree is None:
        return []
    parents = _parents(tree)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and n.lineno == line]
    if not calls:
        return []
    handlers, node = [], calls[0]
    while id(node) in parents:
        parent = parents[id(node)]
        if isinstance(parent, ast.Try) and any(node is stmt for stmt in parent.body):
            handlers += parent.handlers
        node = parent
    return handlers


def _escaped(lab, undo: str) -> str:
    """Why the failure of ``undo`` escaped the loop of undos, from the source: the except
    clause around its call that does not catch ActivityError, or no try at all."""
    lines = call_lines(lab.source, undo)
    names = vars(lab.modules.workflow)
    for line in lines:
        handlers = _handlers_at(lab.source, line)
        inner = [h for h in handlers if not _is_outer(h)]
        if inner and not any(catches(h, names, ActivityError) for h in inner):
            kinds = " / ".join(ast.unparse(h.type) for h in inner if h.type is not None)
            return (
                f" Your `except {kinds}:` (workflow.py, line {inner[0].lineno}) does not catch it: "
                "workflow.execute_activity raises ActivityError (the desk's ApplicationError is its "
                "`.cause`). Catch ActivityError around each undo."
            )
        raises = [n.lineno for h in inner for n in ast.walk(h) if isinstance(n, ast.Raise)]
        if raises:
            return (
                f" Your except clause (workflow.py, line {inner[0].lineno}) catches it, then raises it "
                f"again (line {raises[0]}): note the failure and go on to the next undo."
            )
        if not inner:
            return f" The undo's call (workflow.py, line {line}) has no `try` of its own: give each undo one."
    return " Give each undo a try of its own (`except ActivityError`), note its failure, and go on."


def _is_outer(handler: ast.ExceptHandler) -> bool:
    """The saga's own except block (the one that runs the undos), not an undo's own."""
    return any(isinstance(n, ast.Call) and "undo_all" in ast.unparse(n.func) for n in ast.walk(handler))


def _failure_of(raised: BaseException | None) -> tuple[str, str]:
    """(the activity whose ActivityError failed the workflow or '', the failure's message)."""
    cause = getattr(raised, "cause", None)
    if isinstance(cause, ActivityError):
        inner = cause.cause
        return cause.activity_type or "", getattr(inner, "message", "") or str(inner or cause)
    return "", getattr(cause, "message", "") or (str(cause) if cause else "")


# --- the checks ---------------------------------------------------------------------------------


@suite.check("A trip with nothing going wrong is booked")
async def booked(lab):
    outcome = await lab.book(lab.trip())
    expect_trip_booked(outcome)
    _nothing_flagged(outcome, "nothing went wrong")


def _cancelled_undone(outcome: Outcome, lab, how: str, arrived_as: type[BaseException]) -> None:
    """A trip cancelled once flight, hotel and car were (being) booked: every undo ran,
    newest first, the workflow ended Canceled, nothing held, nothing flagged.
    ``arrived_as``: what the cancel raised in the workflow."""
    _bugs(outcome, lab)
    undos = [r for r in outcome.timeline.runs if r.compensation]
    if not undos and outcome.status == "Canceled":
        if arrived_as is asyncio.CancelledError:
            what = "asyncio.CancelledError, which is not an Exception"
        else:
            what = "an ActivityError (the car's activity was cancelled)"
        raise CheckFailed(
            f"{how[0].upper()}{how[1:]} reached the workflow as {what}{_lets_the_cancel_through(lab, arrived_as)}: "
            f"nothing was undone, and {outcome.describe_orphans() or 'the trip'} stayed held. A cancel "
            "comes either way: catch both, `except (Exception, asyncio.CancelledError):`, undo, then `raise`."
        )
    _undos(outcome, lab, UNDOS_AFTER_CAR, f"after {how}")
    expect(
        outcome.status == "Canceled",
        f"after {how}, the workflow ended {outcome.status}; expected Canceled. Once the undos have run "
        "(and none failed), re-raise what you caught (`raise`), so Temporal records the trip as cancelled.",
    )
    expect_no_orphans(outcome)
    held = [r for r in world.reservations(outcome.trip.trip_id) if r.status == "held"]
    expect(not held, f"after {how}, {', '.join(r.id for r in held)} is still held.")
    _nothing_flagged(outcome, f"after {how}")


@suite.check("A cancel while the car is being booked undoes everything and ends Canceled")
async def cancel_during_car(lab):
    # Two customers cancel: one while the (slow) car desk is at work, which reaches the
    # workflow as a cancelled activity; one just as the car desk answers, which reaches it
    # as asyncio.CancelledError (ex06_lab).
    slow, landing = lab.trip(), lab.trip()
    world.inject("book_car", "slow", scope=slow.trip_id)
    outlast(slow.trip_id, "cancel_hotel", WORLD_OPERATION["cancel_hotel"])
    (during, _), (as_it_lands, _) = await asyncio.gather(
        _plain(lab.book(slow, cancel_during="book_car")),
        ex06_lab.book(lab, landing, held=("book_car",), cancel_at="book_car", as_it_lands=True),
    )
    _cancelled_undone(during, lab, "a cancel while the car desk was at work", ActivityError)
    _cancelled_undone(as_it_lands, lab, "a cancel that arrived just as the car desk answered", asyncio.CancelledError)


async def _plain(booking) -> tuple[Outcome, None]:
    return await booking, None


@suite.check("A cancel while the undos run does not stop them: every undo finishes before the workflow ends")
async def cancel_while_compensating(lab):
    # confirm_trip fails; the customer cancels while cancel_hotel's desk is at work (held:
    # it answers only once the workflow has nothing else to do).
    # The bank is briefly down when the refund is asked for: an outage, retried until it passes.
    trip = lab.trip()
    world.inject("confirm_trip", "refuse", message=CONFIRM_FAILS, scope=trip.trip_id)
    outlast(trip.trip_id, "refund_payment", WORLD_OPERATION["refund_payment"])
    try:
        outcome, _ = await ex06_lab.book(lab, trip, held=("cancel_hotel",), cancel_at="cancel_hotel")
    except CodeError as err:
        timers = await _timers_after_cancel(lab, trip.trip_id)
        if timers:
            failed = ("running.result() found no result yet (InvalidStateError: Result is not set)"
                      if "InvalidStateError" in str(err) else f"then the workflow's task failed: {str(err)[:200]}")  # fmt: skip
            raise CheckFailed(_fixed_wait(timers, failed)) from None
        raise
    _bugs(outcome, lab)
    why = "after confirm_trip failed and the customer cancelled"
    hotel = [r for r in outcome.timeline.runs if r.name == "cancel_hotel"]
    if hotel and hotel[-1].cancel_requested:  # (a cancelled activity was asked to cancel first)
        left = f": {outcome.describe_orphans()} stayed held" if outcome.report.orphans else ""
        raise CheckFailed(
            "the customer's cancel reached cancel_hotel while it ran, and cancelled the undo itself: "
            f"the workflow stopped waiting for it{left}. Shield the undos from the cancel "
            "(asyncio.shield), so that they run to the end."
        )
    for run in outcome.timeline.runs:
        if run.compensation:
            _outage_made_final(run)
    _none_gave_up(outcome)  # an undo that gave up on its outage is no undo the cancel stopped
    finished = {r.name for r in outcome.timeline.runs if r.compensation and r.outcome == "completed"}
    unfinished = [name for name in ALL_UNDOS if name not in finished]
    if unfinished and any(r.compensation for r in outcome.timeline.runs):
        timers = [w.removeprefix("a timer of ") for w in outcome.went_on if w.startswith("a timer")]
        if timers:
            raise CheckFailed(_fixed_wait(timers, f"{arrow(unfinished)} had not finished when the workflow ended"))
        raise CheckFailed(
            f"the cancel ended the workflow while the undos were still running: {arrow(unfinished)} never "
            f"finished{', and ' + outcome.describe_orphans() + ' stayed held' if outcome.report.orphans else ''}. "
            "`await asyncio.shield(...)` stops waiting as soon as the workflow is cancelled: keep the undos "
            "in a task (asyncio.ensure_future), and when the shielded await raises CancelledError, await "
            "that task again."
        )
    _undos(outcome, lab, ALL_UNDOS, why, refused=())
    expect(
        outcome.status in ("Failed", "Canceled"),
        f"{why}, the workflow ended {outcome.status}; expected Failed (or Canceled): once the undos "
        "have run, re-raise (`raise`).",
    )
    expect_no_orphans(outcome)
    _nothing_flagged(outcome, why)


def _fixed_wait(timers: list[str], what: str) -> str:
    return (
        f"after the cancel the workflow waited a fixed {timers[0]} instead of waiting for the undos, and "
        f"cancel_hotel was still at work; {what}. A desk takes as long as it takes: when the "
        "shielded await raises CancelledError, await the undos' task itself (`return await running`)."
    )


async def _timers_after_cancel(lab, workflow_id: str) -> list[str]:
    """The timers the workflow started after the customer's cancel reached it."""
    timers, cancelled = [], False
    async for event in lab.client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.HasField("workflow_execution_cancel_requested_event_attributes"):
            cancelled = True
        if cancelled and event.HasField("timer_started_event_attributes"):
            seconds = event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta().total_seconds()
            timers.append(f"{seconds:g} s")
    return timers


async def _refund_refused(lab, trip=None, refused: dict[str, str] | None = None) -> tuple[Outcome, BaseException | None]:
    """A booking whose last step fails, with a bank that refuses the refund for good and a
    car desk briefly down when the car is returned (or, with ``refused``, refusing too).
    Returns the outcome and what the workflow's result raised."""
    trip = trip or lab.trip()
    world.inject("confirm_trip", "refuse", message=CONFIRM_FAILS, scope=trip.trip_id)
    world.inject("refund", "refuse", message=REFUSED, scope=trip.trip_id)
    if refused:
        outcome, raised = await ex06_lab.book(lab, trip, refused=refused, endless_after=ENDLESS_AFTER)
    else:
        outlast(trip.trip_id, "cancel_car", WORLD_OPERATION["cancel_car"])
        outcome = await lab.book(trip, endless_after=ENDLESS_AFTER)
        raised = None
        if not outcome.endless:
            try:
                await lab.client.get_workflow_handle(trip.trip_id).result()
            except WorkflowFailureError as failure:
                raised = failure
    _bugs(outcome, lab)
    asked = [r for r in outcome.timeline.runs if r.name == outcome.endless]
    if outcome.endless and len(asked) > 1:
        raise CheckFailed(
            f"{outcome.endless} was refused for good ({REFUSED}), and your workflow asked for it again "
            f"and again ({len(asked)} times, each refused): a refusal is final, no retry can change it, and "
            "the other undos wait forever. When an undo fails with a non-retryable error, note it and go "
            "on to the next undo; asking again is for outages, and the retry policy does that."
        )
    if outcome.endless:
        raise CheckFailed(
            f"{outcome.endless} was retried without end for a refusal ({REFUSED}): the bank refused "
            "it for good, so no retry can succeed, and the other undos wait forever. Raise business "
            "errors as ApplicationError(..., non_retryable=True) (business_errors_are_final)."
        )
    return outcome, raised


def _others_ran(outcome: Outcome, lab, raised, expected: list[str], refused: tuple[str, ...]) -> None:
    """After the refusals, every other undo still ran, newest first."""
    refund = [r for r in outcome.timeline.runs if r.name == "refund_payment"]
    expect(refund, f"refund_payment never ran after confirm_trip failed: the compensations ran "
           f"{arrow(outcome.timeline.compensations)}.")  # fmt: skip
    expect(
        outcome.tries(refund[0]) == 1,
        f"refund_payment was tried {outcome.tries(refund[0])} times for a refusal ({REFUSED}): a refusal "
        "is final. Raise business errors as ApplicationError(..., non_retryable=True).",
    )
    _none_gave_up(outcome, refused)  # one that gave up on an outage did run: say so, not 'never ran'
    ran = [r.name for r in outcome.timeline.runs if r.compensation and r.outcome == "completed"]
    missing = [name for name in expected if name not in ran and name not in refused]
    if missing:
        escaped, _ = _failure_of(raised)
        if escaped in refused:
            raise CheckFailed(
                f"{escaped} was refused for good, and its failure ended the workflow at once: the first "
                f"undo that failed stopped the rest ({arrow(missing)} never ran).{_escaped(lab, escaped)}"
            )
        raise CheckFailed(
            f"{arrow(refused)} {'was' if len(refused) == 1 else 'were'} refused, and then {arrow(missing)} "
            "never ran: the first undo that failed stopped the rest. Give each undo a try of its own, "
            "note its failure, and go on."
        )
    _undos(outcome, lab, expected, "after confirm_trip failed", refused)


def _failed_naming(outcome: Outcome, raised, names: dict[str, str]) -> None:
    """Ended Failed, with an error that names each undo in ``names`` (undo: a word for it)."""
    expect(
        outcome.status == "Failed",
        f"an undo failed for good, yet the workflow ended {outcome.status}; expected Failed: once "
        "every undo has run, raise an error that names each undo that failed.",
    )
    _, message = _failure_of(raised)
    unnamed = [undo for undo, word in names.items() if not re.search(word, message, re.IGNORECASE)]
    if unnamed and len(unnamed) < len(names):
        raise CheckFailed(
            f"{arrow(list(names))} were both refused for good, yet the workflow failed with {message!r}, "
            f"which does not name {arrow(unnamed)}: raise an ApplicationError that names every "
            "undo that failed (join them all, not only the first)."
        )
    expect(
        not unnamed,
        f"the workflow failed with {message!r}, which does not name the refund that failed: raise "
        "an ApplicationError that lists every failed undo (e.g. 'compensation failed: refund_payment').",
    )


@suite.check("A refund refused for good does not stop the other undos")
async def refund_refused_others_run(lab):
    outcome, raised = await _refund_refused(lab)
    _others_ran(outcome, lab, raised, ALL_UNDOS, ("refund_payment",))
    expect(
        outcome.status == "Failed",
        f"an undo failed for good, yet the workflow ended {outcome.status}; expected Failed: once "
        "every undo has run, raise an error that names each undo that failed.",
    )


@suite.check("The refused refund is named in the error and flagged for a person")
async def refund_refused_named_and_flagged(lab):
    # One trip whose refund is refused; one whose car desk refuses to take the car back too.
    both = lab.trip()
    (outcome, raised), (two, two_raised) = await asyncio.gather(
        _refund_refused(lab),
        _refund_refused(lab, both, refused={"cancel_car": CAR_REFUSED}),
    )
    _failed_naming(outcome, raised, {"refund_payment": "refund"})
    flagged = world.flags(outcome.trip.trip_id)
    expect(
        flagged,
        "the refund was refused, and nobody was told: the charge is left as a silent orphan. Call "
        "flag_for_attention(trip, reason) when an undo fails for good, so a person settles it.",
    )
    charges = [o for o in outcome.report.flagged if o.kind == "charge"]
    expect(charges, "the trip is flagged, yet the audit does not list its charge as flagged.")
    expect_no_orphans(outcome)

    _others_ran(two, lab, two_raised, ALL_UNDOS, ("refund_payment", "cancel_car"))
    _failed_naming(two, two_raised, {"refund_payment": "refund", "cancel_car": r"cancel_car|\bcar\b"})
    expect(world.flags(both.trip_id), "the refund and the car's return were refused, and nobody was told: "
           "call flag_for_attention(trip, reason) when an undo fails for good.")  # fmt: skip
    kinds = {o.kind for o in two.report.flagged}
    expect({"charge", "car"} <= kinds, f"the trip is flagged, yet the audit lists only {sorted(kinds)} as flagged.")
    expect_no_orphans(two)
