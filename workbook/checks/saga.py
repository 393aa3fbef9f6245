"""Judging a saga after a step failed, from its event history and the travel world.

What should have been undone is worked out from history itself: the undos of the
steps that completed, newest first, plus the failed step's own undo when it was
registered before the step (required when the step may have done its work anyway, as
with a lost reply). When the outcome is wrong, the message names the first cause in
this order: a bug in the code, a missing ``await``, an undo that gave up, nothing
undone at all, the wrong undos or order, undos run all at once, a retry policy that
lets undos give up, a business error retried, and last, how the workflow ended.
"""

from __future__ import annotations

import ast
import reprlib
from collections import Counter

from temporalio.exceptions import ActivityError

from workbook import world
from workbook.checks import CheckFailed, CodeError, Outcome, arrow, expect, expect_no_orphans
from workbook.source import (
    activities_named_by_string, call_lines, calls_of, catches, handlers_around, learner_frame, raise_before_undoing,
    unawaited_activity_calls,
)  # fmt: skip
from workbook.timeline import ActivityRun

UNDO_OF = {
    "book_flight": "cancel_flight",
    "book_hotel": "cancel_hotel",
    "book_car": "cancel_car",
    "charge_payment": "refund_payment",
}
# The travel world's operation behind each undo, to make that undo meet an outage.
WORLD_OPERATION = {"cancel_flight": "cancel_flight", "cancel_hotel": "cancel_hotel",
                   "cancel_car": "cancel_car", "refund_payment": "refund"}  # fmt: skip
BUSINESS_ERRORS = {"NoAvailability", "UnknownItem", "InvalidCardNumber", "CardDeclined", "BookingError", "Refused"}
OUTAGES = {"ServiceUnavailable", "ReplyLost", ""}  # "" : a timeout, or a failure with no type
UNDO_OUTAGE = 3  # failed attempts in a row: more than a step's retry policy allows
RERAISE = "After compensating, re-raise the error (`raise`) so the workflow ends Failed."


def undo_meets_outage(undo: str, scope: str | None = None) -> None:
    """Make ``undo`` fail a few times before it works, as real services do (for the
    trips of this check, or only for those whose key starts with ``scope``)."""
    world.inject(WORLD_OPERATION[undo], "fail", times=UNDO_OUTAGE, scope=scope)


def _times(n: int) -> str:
    return {0: "never", 1: "once", 2: "twice"}.get(n, f"{n} times")


def failed_step(outcome: Outcome) -> ActivityRun | None:
    steps = [r for r in outcome.timeline.runs if not r.compensation]
    failed = [r for r in steps if r.outcome != "completed"]
    return failed[-1] if failed else None


def expect_undone(outcome: Outcome, lab, *, lost_reply: bool = False) -> None:
    """The saga undid exactly what the failed booking did, newest first, one undo after
    another, and ended Failed with zero orphans. ``lost_reply``: the failed step did its
    work anyway, so its own undo is required."""
    runs, source = outcome.timeline.runs, lab.source
    step = failed_step(outcome)
    if step is None:
        expect_status_failed(outcome)
        raise CheckFailed(f"no step failed; the steps ran {arrow(outcome.timeline.steps)}.")
    undos = [r for r in runs if r.compensation]

    for run in runs:  # 1. a bug in the code, before anything else
        if run.outcome in ("failed", "timed out") and run.error_type not in BUSINESS_ERRORS | OUTAGES:
            raise CodeError(_activity_bug(run, lab))

    unawaited = unawaited_activity_calls(source)  # 2. a missing await
    unfinished = [r.name for r in undos if r.outcome in ("running", "cancelled")]
    if unawaited and (unfinished or not undos):
        raise CheckFailed(
            f"no compensation finished after {step.name} failed: the call on workflow.py line "
            f"{', '.join(map(str, unawaited))} is not awaited, so nothing waits for it. Write "
            "`await workflow.execute_activity(undo, ...)`."
        )
    if unfinished:
        raise CheckFailed(
            f"{arrow(unfinished)} started, but the workflow ended before they finished: "
            "did you `await` each undo?"
        )

    # An undo whose own retries gave up, and that the workflow then asked for again (a loop
    # around the call, in the workflow or the helper), is one undo that kept trying: it is
    # judged by the last time it was asked.
    again = [r for n, r in enumerate(undos)
             if r.outcome in ("failed", "timed out") and any(later.name == r.name for later in undos[n + 1:])]  # fmt: skip
    undos = [r for r in undos if r not in again]
    gave_up = [r for r in undos if r.outcome in ("failed", "timed out")]  # 3. an undo gave up
    if gave_up:
        run = gave_up[0]
        limit = f"its retry policy allows {run.max_attempts} attempts" if run.max_attempts else "it gave up"
        raise CheckFailed(
            f"{run.name} failed {_times(run.attempts)} while its service was briefly down, and "
            f"{limit}, so the saga stopped undoing and left {outcome.describe_orphans() or 'work'} "
            "behind. An undo must never give up: run undos with a retry policy without "
            "maximum_attempts (UNDO), not with the steps' STEP."
        )

    ran = [r.name for r in undos]
    done = [r.name for r in runs if not r.compensation and r.outcome == "completed" and r.name in UNDO_OF]
    after = [UNDO_OF[name] for name in reversed(done)]
    own = UNDO_OF.get(step.name)
    with_own = [own, *after] if own else after
    # Registered before its step, the failed step's own undo runs too (a no-op unless it
    # did its work anyway); registered after, it does not. Both are right, unless the
    # step's reply was lost: then only "before" cancels what it did.
    expected = with_own if (own in ran or lost_reply or not own) else after
    if not ran and expected:  # 4. nothing undone: a cause in the code comes first
        cause = _why_nothing_ran(step.name, outcome, lab)
        if cause or not (lost_reply and expected == [own]):  # else: registered too late, below
            raise CheckFailed(cause or _nothing_ran(step.name, outcome))

    # 5. which undos ran, and in which order
    have, want = Counter(ran), Counter(expected)
    over = [n for n in have if have[n] > want[n]]
    under = [n for n in want if have[n] < want[n]]
    saw = f"the compensations ran {arrow(ran)}; expected {arrow(expected)}"
    if over and under:
        raise CheckFailed(
            f"{over[0]} ran {_times(have[over[0]])}, {under[0]} {_times(have[under[0]])}: each "
            f"step must register its own undo ({saw}). Look at what you append just before "
            f"{next(s for s, u in UNDO_OF.items() if u == under[0])}."
        )
    if under:
        if lost_reply and own in under:
            item = next((r for r in world.reservations(outcome.trip.trip_id) if r.status == "held"
                         and UNDO_OF.get(f"book_{r.kind}") == own), None)  # fmt: skip
            raise CheckFailed(
                f"{step.name} {'reserved ' + item.kind + ' ' + item.id if item else 'did its work'} "
                f"but its reply was lost, and {own} never ran: register each undo before its "
                "step, because a step that fails may still have done its work."
            )
        raise CheckFailed(
            f"{saw}. {arrow(under)} never ran, so the saga left "
            f"{outcome.describe_orphans() or 'work'} behind: every step that went through needs its undo."
        )
    if over:
        twice = [name for name in over if want[name]]
        if twice:
            raise CheckFailed(
                f"{saw}: {twice[0]} ran {_times(have[twice[0]])}. Run each registered undo once, "
                "in one place (the except block), not again in a finally or a second loop."
            )
        raise CheckFailed(
            f"{saw}: {arrow(over)} undid steps that never started. Register each undo just "
            "before its step, not all at once, and undo only what was started."
        )
    if ran != expected:
        if ran == list(reversed(expected)):
            raise CheckFailed(f"{saw}: undo the newest step first (iterate over reversed(compensations)).")
        raise CheckFailed(f"{saw}: undo the newest step first.")

    for before, after_it in zip(undos, undos[1:]):  # 6. one after another
        if after_it.scheduled_event < before.closed_event:
            raise CheckFailed(
                f"the undos ran all at once: {after_it.name} was started before {before.name} had "
                "finished (asyncio.gather, or start_activity without waiting?). Reverse order means "
                "one after another: `await` each undo before you start the next."
            )

    # 7. undos that would give up. A policy of at most UNDO_OUTAGE attempts is judged by what it
    # does: the checks whose undos meet an outage of that many calls see it give up (or the
    # workflow ask again). Only what those outages cannot outlast is judged from the policy.
    capped = [r for r in undos if r.bounded and not 0 < r.max_attempts <= UNDO_OUTAGE]
    if capped and not again:  # (one seen asked again after giving up did not give up)
        limit = (f"a retry policy of at most {capped[0].max_attempts} attempts" if capped[0].max_attempts
                 else "a schedule_to_close_timeout")  # fmt: skip
        raise CheckFailed(
            f"{capped[0].name} runs with {limit}: a longer outage would make it give up and "
            "leave its reservation behind. Give undos a retry policy without maximum_attempts "
            "and no schedule_to_close_timeout (UNDO)."
        )

    if step.error_type in BUSINESS_ERRORS and outcome.tries(step) > 1:  # 8. business errors are final
        raise CheckFailed(
            f"{step.name} was tried {outcome.tries(step)} times for a business error ({step.error_type}: "
            f"{step.error}); retrying will not change the answer. Raise it as "
            "ApplicationError(..., non_retryable=True)."
        )

    expect_status_failed(outcome)  # 9. how it ended
    expect_no_orphans(outcome)


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60


def expect_status_failed(outcome: Outcome) -> None:
    if outcome.status == "Completed":
        shown = _SHORT.repr(outcome.result)
        raise CheckFailed(
            f"the workflow returned {shown} and ended Completed, although the trip was not "
            f"booked. {RERAISE}"
        )
    expect(outcome.status == "Failed", f"the workflow ended {outcome.status}; expected Failed. {RERAISE}")


def _activity_bug(run: ActivityRun, lab) -> str:
    where = learner_frame(run.stack, lab.modules.folder)
    if not where:  # raised by the SDK while calling it: point at the calls in workflow.py
        lines = call_lines(lab.source, run.name)
        where = f"workflow.py, line {', '.join(map(str, lines))}" if lines else ""
    if run.error_type == "NotImplementedError":
        return f"a TODO is still waiting for you: {run.name} raises NotImplementedError ({run.error})."
    if run.error_type in ("SystemExit", "KeyboardInterrupt"):
        return f"`sys.exit()` in {run.name} ends the program ({where}); re-raise the error instead (`raise`)."
    return (
        f"{run.name} failed with a bug, not an outage ({where}): {run.error_type}: {run.error}. "
        "Check how it is called: the activity, then its one argument (trip), then the options."
    )


def _lead(step: str, outcome: Outcome) -> str:
    return f"no compensation ran after {step} failed, so the saga left {outcome.describe_orphans() or 'its work'} behind"


def _nothing_ran(step: str, outcome: Outcome) -> str:
    return f"{_lead(step, outcome)}. Register each undo in `compensations`, and run them in the except block before `raise`."


def _why_nothing_ran(step: str, outcome: Outcome, lab) -> str:
    """What in the code kept every undo from running, if the code shows it; else ''."""
    lead = _lead(step, outcome)
    handlers = handlers_around(lab.source, step)
    if handlers == []:
        line = calls_of(lab.source, step)[0].lineno
        return (
            f"{lead}: {step} is called outside the `try` (workflow.py, line {line}), so its "
            "failure skips the except block. Move every step, the last ones too, inside the try."
        )
    if handlers:
        catching = [h for h in handlers if catches(h, vars(lab.modules.workflow), ActivityError)]
        if not catching:
            caught = ast.unparse(handlers[0].type)
            return (
                f"{lead}: your `except {caught}` does not catch activity failures: they arrive as "
                "`ActivityError` (the ApplicationError is its cause). Catch `Exception`."
            )
        early = [line for line in map(raise_before_undoing, catching) if line]
        if early:
            return (
                f"{lead}: your except block raises (workflow.py, line {early[0]}) before it "
                "compensates, for this failure at least. Every failure must undo what was done: "
                "run the undos first, then `raise`."
            )
    return ""


def expect_typed_undos(lab) -> None:
    """Undos are registered as the activity functions themselves, never by name."""
    named = activities_named_by_string(lab.source, lab.activity_names)
    if named:
        line, name = named[0]
        raise CheckFailed(
            f"workflow.py line {line} names an activity by the string {name!r}: a typo in a string "
            "is found only at run time, when the undo is needed most. Use the function itself, "
            f"e.g. `compensations.append({name})`."
        )
