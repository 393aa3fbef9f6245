"""Checks for exercise 05: critical versus auxiliary steps, and the pivot.

confirm_trip is the pivot. A failure up to and including it undoes everything (as in
03); once it has completed, the trip is booked for good, and the auxiliary steps after it
(the confirmation email, the loyalty points) are never compensated: each gets a bounded
retry, and a failure that outlasts it becomes a notice in the workflow's result.

Each scenario judges, in this order, the first cause it finds: a bug in an activity, an
auxiliary step that retries forever, an auxiliary step run before the pivot, a
compensation after the pivot, how the workflow ended (a failure re-raised or not caught),
an auxiliary step skipped or not awaited, one that gave up on a short outage, then the
notices and the travel world.
"""

from __future__ import annotations

import ast
import asyncio
import reprlib

from temporalio.exceptions import ActivityError

from workbook import world
from workbook.checks import STEPS, CheckFailed, CodeError, Outcome, Suite, arrow, expect, expect_no_orphans
from workbook.checks.saga import (
    BUSINESS_ERRORS, OUTAGES, _activity_bug, expect_undone, undo_meets_outage,
)  # fmt: skip
from workbook.source import call_lines, catches, handlers_around, unawaited_activity_calls
from workbook.timeline import ActivityRun

suite = Suite("05", "Critical versus auxiliary steps: nothing is undone after the pivot")

PIVOT = "confirm_trip"
# The auxiliary steps, what a student calls them, the service behind each, and the
# words one of its notices must contain (any of them).
AUXILIARY = {
    "send_confirmation_email": ("the email", "send_email", "email service", ("email", "mail", "confirmation")),
    "award_loyalty_points": ("the loyalty points award", "award_points", "points service", ("point", "loyalty", "award")),
}
ENDLESS_AFTER = 5  # failed attempts of a retry without maximum_attempts: it would never stop
BOUNDED = (
    "give auxiliary steps a bounded retry (maximum_attempts), e.g. "
    "RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)"
)
NOTICE = (
    "catch its failure around that one call and append a notice to itinerary.notices, "
    "then return the itinerary"
)

_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 80


def _runs(outcome: Outcome, name: str) -> list[ActivityRun]:
    return [r for r in outcome.timeline.runs if r.name == name]


def _pivot(outcome: Outcome) -> ActivityRun | None:
    done = [r for r in _runs(outcome, PIVOT) if r.outcome == "completed"]
    return done[0] if done else None


def _notices(result: object) -> list[str] | None:
    notices = result.get("notices") if isinstance(result, dict) else None
    return [str(n) for n in notices] if isinstance(notices, list) else None


def _sent(trip_id: str, operation: str) -> bool:
    """Did the world's ``operation`` (send_email, award_points) go through for this trip?"""
    return any(op == operation and key.startswith(f"{trip_id}:") for op, key, _ in world.journal())


def expect_confirmed(outcome: Outcome, lab, down: tuple[str, ...] = ()) -> None:
    """The trip is booked for good: the critical steps, the pivot, then every auxiliary
    step, each once; nothing undone; Completed; a notice for each auxiliary step in
    ``down`` (its service stays down), none otherwise. Every other auxiliary step must
    have gone through, after a retry if its service failed for a moment."""
    trip_id, runs = outcome.trip.trip_id, outcome.timeline.runs
    for run in runs:  # 1. a bug in the code, before anything else
        if run.outcome in ("failed", "timed out") and run.error_type not in BUSINESS_ERRORS | OUTAGES:
            raise CodeError(_activity_bug(run, lab))

    if outcome.endless:  # 2. a retry that would never end
        service = AUXILIARY[outcome.endless][2] if outcome.endless in AUXILIARY else "service it calls"
        raise CheckFailed(
            f"{outcome.endless} retries forever while the {service} is down, so the trip's "
            f"workflow never completes (the check stopped it after {ENDLESS_AFTER} failed attempts): "
            f"{BOUNDED}. Once the trip is confirmed, an auxiliary step may give up: its failure becomes a notice."
        )
    for name in AUXILIARY:  # (judged where its service failed: that is when it matters)
        for run in _runs(outcome, name):
            if not run.bounded and (run.attempts > 1 or run.outcome != "completed"):
                raise CheckFailed(
                    f"{name} retries forever while the {AUXILIARY[name][2]} is down (its retry policy has no "
                    f"maximum_attempts), so the trip's workflow would never complete: {BOUNDED}."
                )

    pivot = _pivot(outcome)  # 3. auxiliary steps only after the pivot
    for run in runs:
        if run.name in AUXILIARY and (pivot is None or run.scheduled_event < pivot.closed_event):
            raise CheckFailed(
                f"{run.name} ran before {PIVOT} had completed (the steps ran {arrow(outcome.timeline.steps)}): "
                f"if a later step fails, the customer hears about a trip that is then undone. {PIVOT} is "
                "the pivot: call the auxiliary steps after it, once the trip is confirmed."
            )

    undone = [r for r in runs if r.compensation]  # 4. nothing undone after the pivot
    if undone:
        failed = [r for r in runs if r.name in AUXILIARY and r.outcome != "completed"]
        what = AUXILIARY[failed[0].name][0] if failed else "an auxiliary step"
        raise CheckFailed(
            f"{what} failed and you cancelled a confirmed trip: {PIVOT} (the pivot) had completed, then "
            f"{arrow([r.name for r in undone])} ran. After the pivot nothing is undone: call the auxiliary "
            f"steps after the try whose except compensates, and for each, {NOTICE}."
        )

    if outcome.status != "Completed":  # 5. how it ended
        confirmed = world.is_confirmed(trip_id)
        if outcome.status == "Failed" and confirmed:
            raise CheckFailed(
                f"the workflow ended Failed although the trip is confirmed ({outcome.error}): "
                f"{_why_it_escaped(outcome, lab)}. The customer has a booked trip; record the failure "
                f"as a notice instead: {NOTICE}."
            )
        raise CheckFailed(f"the workflow ended {outcome.status}; expected Completed. It failed with: {outcome.error}")

    for name, (what, _, service, _) in AUXILIARY.items():  # 6. every auxiliary step, awaited
        mine = _runs(outcome, name)
        if not mine:
            failed = [r.name for r in runs if r.name in AUXILIARY and r.outcome != "completed"]
            if failed:
                raise CheckFailed(
                    f"{name} never ran although the {service} was up: {failed[0]}'s failure skipped it. "
                    "Give each auxiliary step its own try/except, so one failure does not cost the others."
                )
            raise CheckFailed(
                f"the steps ran {arrow(outcome.timeline.steps)}; expected {arrow(STEPS + list(AUXILIARY))}: "
                f"call {name} after {PIVOT}, once the trip is confirmed."
            )
        if len(mine) > 1:
            raise CheckFailed(f"{name} ran {len(mine)} times; expected once (its retries are attempts of one run).")
        # Not awaited: still running when the workflow ended, or, when it ended first,
        # finished where the workflow never looked (a failure it cannot catch).
        lines = sorted(set(unawaited_activity_calls(lab.source)) & set(call_lines(lab.source, name)))
        if mine[0].outcome in ("running", "cancelled") or lines:
            where = f" (workflow.py line {', '.join(map(str, lines))})" if lines else ""
            raise CheckFailed(
                f"{name} started, but the workflow ended before it finished{where}: `await` each auxiliary "
                "step, so its failure can be caught and recorded."
            )

    steps = [r.name for r in runs if not r.compensation and r.name not in AUXILIARY]
    expect(steps == STEPS, f"the critical steps ran {arrow(steps)}; expected {arrow(STEPS)}, each once.")

    for name, (what, operation, service, words) in AUXILIARY.items():  # 7. up means sent
        run = _runs(outcome, name)[0]
        if name in down:
            continue
        if run.outcome != "completed":
            limit = f"after {run.attempts} attempt{'s' if run.attempts > 1 else ''}" if run.attempts else ""
            raise CheckFailed(
                f"{name} gave up {limit} although the {service} was down only for a moment: give auxiliary "
                "steps a few attempts (maximum_attempts=3), so a short outage does not cost the customer "
                f"{what.replace('the ', 'their ', 1)}."
            )
        expect(_sent(trip_id, operation), f"{name} completed, but the world has no {operation} for trip {trip_id}.")

    notices = _notices(outcome.result)  # 8. the notices
    if notices is None:
        raise CheckFailed(
            f"the workflow returned {_SHORT.repr(outcome.result)}: return the Itinerary, whose notices "
            "list the auxiliary steps that failed."
        )
    for name in down:
        what, _, service, words = AUXILIARY[name]
        if not any(w in n.lower() for n in notices for w in words):
            said = f" (its notices: {_SHORT.repr(notices)})" if notices else ""
            raise CheckFailed(
                f"{name} failed for good while the {service} was down, but the workflow's result has no notice "
                f"of it{said}: nobody will know the customer is missing {what.replace('the ', '', 1)}. When you catch "
                "its failure, append a notice to the itinerary you return (itinerary.notices)."
            )
    if not down and notices:
        raise CheckFailed(f"nothing failed, yet the result has notices: {_SHORT.repr(notices)}.")

    expect(world.is_confirmed(trip_id), f"the workflow completed, but trip {trip_id} was not confirmed.")
    undone = [f"{r.kind} {r.id}" for r in world.reservations(trip_id) if r.status != "held"]
    undone += [f"payment {p.id}" for p in world.payments(trip_id) if p.status != "charged"]
    expect(not undone, f"trip {trip_id} is confirmed, but {', '.join(undone)} were undone.")
    expect_no_orphans(outcome)


def _why_it_escaped(outcome: Outcome, lab) -> str:
    """Why an auxiliary step's failure ended the workflow: not caught, or re-raised."""
    failed = [r.name for r in outcome.timeline.runs if r.name in AUXILIARY and r.outcome != "completed"]
    name = failed[0] if failed else "an auxiliary step"
    handlers = handlers_around(lab.source, name) if failed else None
    if handlers == []:
        return f"{name} is called outside any try, so its failure ends the workflow"
    if handlers and not any(catches(h, vars(lab.modules.workflow), ActivityError) for h in handlers):
        return (
            f"your `except {ast.unparse(handlers[0].type)}` around {name} does not catch its failure: "
            "activity failures arrive as `ActivityError`"
        )
    return f"{name}'s failure was re-raised"


@suite.check("With every service up: the trip is confirmed, then the email is sent and the points awarded; no notice")
async def happy_path(lab):
    expect_confirmed(await lab.book(lab.trip()), lab)


@suite.check("An email service down for a moment: the email is retried and sent (a bounded retry, not a single try)")
async def email_blip(lab):
    world.inject("send_email", "fail", times=1)
    expect_confirmed(await lab.book(lab.trip(), endless_after=ENDLESS_AFTER), lab)


@suite.check("With the email service down: the trip stays confirmed, nothing is undone, Completed with a notice")
async def email_down(lab):
    world.inject("send_email", "fail")
    outcome = await lab.book(lab.trip(), endless_after=ENDLESS_AFTER)
    expect_confirmed(outcome, lab, down=("send_confirmation_email",))


@suite.check("With the points service down, and with both down: confirmed, Completed, one notice per failure")
async def points_down(lab):
    world.inject("award_points", "fail")  # for both trips; the email only for the second
    points_only, both = lab.trip(), lab.trip()
    world.inject("send_email", "fail", scope=f"{both.trip_id}:")
    outcomes = await asyncio.gather(*(lab.book(trip, endless_after=ENDLESS_AFTER) for trip in (points_only, both)))
    expect_confirmed(outcomes[0], lab, down=("award_loyalty_points",))
    expect_confirmed(outcomes[1], lab, down=tuple(AUXILIARY))


def expect_no_auxiliary(outcome: Outcome) -> None:
    """A trip that was not booked gets no confirmation email and no points."""
    ran = [r for r in outcome.timeline.runs if r.name in AUXILIARY]
    if ran:
        failed = [r.name for r in outcome.timeline.runs if not r.compensation and r.outcome != "completed"]
        raise CheckFailed(
            f"{ran[0].name} ran for trip {outcome.trip.trip_id}, which was not booked"
            f"{f' ({failed[0]} failed)' if failed else ''}: the customer hears about a trip that is undone. "
            f"Call the auxiliary steps only after {PIVOT}, the pivot, has completed."
        )


@suite.check("A failure before the pivot still undoes everything and sends nothing: a bad card, a confirmation that fails")
async def before_pivot(lab):
    bad_card, unconfirmed = lab.trip(card_number="424242424242424"), lab.trip()
    undo_meets_outage("cancel_car", scope=bad_card.trip_id)
    world.inject("confirm_trip", "fail", scope=unconfirmed.trip_id)  # outlasts the step's retries
    undo_meets_outage("refund_payment", scope=unconfirmed.trip_id)
    for outcome in await asyncio.gather(lab.book(bad_card), lab.book(unconfirmed)):
        expect_no_auxiliary(outcome)
        expect_undone(outcome, lab)
