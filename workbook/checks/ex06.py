"""Checks for exercise 06: a trip cancelled while it is being booked, and an undo that
fails for good.

A cancel arrives in the workflow as asyncio.CancelledError (a BaseException): the saga
must catch it, run every undo, and end Canceled. An undo that fails for good (the bank
refuses the refund) must not stop the others; the workflow then fails naming it, and
flags the trip for a person, so the audit lists the charge as flagged, not as an orphan.

These checks run on a local dev server (Suite.server = "dev"): the time-skipping test
server mishandles activities run after a workflow was cancelled.
"""

from __future__ import annotations

from temporalio.client import WorkflowFailureError

from workbook import world
from workbook.checks import CheckFailed, CodeError, Outcome, Suite, arrow, expect, expect_no_orphans, expect_trip_booked
from workbook.checks.saga import BUSINESS_ERRORS, OUTAGES, WORLD_OPERATION, _activity_bug
from workbook.source import unawaited_activity_calls

suite = Suite("06", "Cancellation and failing compensations", server="dev")

EXCEPT_EXCEPTION = (
    "the cancel arrived as asyncio.CancelledError, which `except Exception` does not catch: "
    "the trip was left booked"
)
UNDOS_AFTER_CAR = ["cancel_car", "cancel_hotel", "cancel_flight"]
ENDLESS_AFTER = 5  # failed attempts of an undo that a refusal should have ended
REFUSED = "refund refused: the charge can no longer be refunded (injected)"


def undo_meets_outage(undo: str) -> None:
    """Make ``undo`` fail once before it works: on the dev server every retry waits at least
    a second, so the checks judge a retry policy that gives up from history instead."""
    world.inject(WORLD_OPERATION[undo], "fail", times=1)


def _bugs(outcome: Outcome, lab) -> None:
    for run in outcome.timeline.runs:  # a bug in the code, before anything else
        if run.outcome in ("failed", "timed out") and run.error_type not in BUSINESS_ERRORS | OUTAGES:
            raise CodeError(_activity_bug(run, lab))


def _undos(outcome: Outcome, lab, expected: list[str], why: str) -> None:
    """Every undo in ``expected`` ran, newest first, and each finished; an outage is
    retried, not given up on."""
    undos = [r for r in outcome.timeline.runs if r.compensation]
    ran = [r.name for r in undos]
    if not undos:
        unawaited = unawaited_activity_calls(lab.source)
        if unawaited:
            raise CheckFailed(f"no compensation ran {why}: the call on workflow.py line "
                              f"{', '.join(map(str, unawaited))} is not awaited.")  # fmt: skip
    for run in undos:
        if run.name != "refund_payment" and run.outcome in ("failed", "timed out"):
            limit = f"its retry policy allows {run.max_attempts} attempts" if run.max_attempts else "it gave up"
            raise CheckFailed(
                f"{run.name} failed {run.attempts} time(s) while its service was briefly down, and "
                f"{limit}: an undo must retry an outage until it passes (UNDO, without maximum_attempts)."
            )
        if run.outcome in ("running", "cancelled"):
            raise CheckFailed(f"{run.name} started, but did not finish: `await` each undo, and shield "
                              "the undos from the cancel (asyncio.shield).")  # fmt: skip
    missing = [name for name in expected if name not in ran]
    if missing:
        raise CheckFailed(
            f"{why}, the compensations ran {arrow(ran)}; expected {arrow(expected)}. "
            f"{arrow(missing)} never ran, so {outcome.describe_orphans() or 'work'} was left behind."
        )
    capped = [r for r in undos if r.bounded]
    if capped:
        raise CheckFailed(
            f"{capped[0].name} runs with a retry policy that gives up (at most {capped[0].max_attempts or 'a time budget of'} "
            "attempts): a longer outage would stop it. An undo must retry an outage until it passes "
            "(UNDO, without maximum_attempts)."
        )
    order = [name for name in ran if name in expected]
    expect(order == expected, f"{why}, the compensations ran {arrow(ran)}; expected {arrow(expected)}: newest first.")


@suite.check("A trip with nothing going wrong is booked")
async def booked(lab):
    expect_trip_booked(await lab.book(lab.trip()))


@suite.check("A cancel while the car is being booked undoes everything and ends Canceled")
async def cancel_during_car(lab):
    trip = lab.trip()
    world.inject("book_car", "slow")
    undo_meets_outage("cancel_hotel")
    outcome = await lab.book(trip, cancel_during="book_car")
    _bugs(outcome, lab)
    undos = [r for r in outcome.timeline.runs if r.compensation]
    if not undos:
        expect(outcome.status != "Canceled", f"{EXCEPT_EXCEPTION} ({outcome.describe_orphans()} still held). "
               "Catch it too: `except (Exception, asyncio.CancelledError):`, undo, then `raise`.")  # fmt: skip
    _undos(outcome, lab, UNDOS_AFTER_CAR, "after the cancel")
    expect(
        outcome.status == "Canceled",
        f"after the cancel the workflow ended {outcome.status}; expected Canceled. Once the undos "
        "have run, re-raise the CancelledError (`raise`), so Temporal records the trip as cancelled.",
    )
    expect_no_orphans(outcome)
    held = [r for r in world.reservations(trip.trip_id) if r.status == "held"]
    expect(not held, f"{', '.join(r.id for r in held)} is still held after the cancel.")


@suite.check("A cancel while the undos run does not stop them: every undo finishes before the workflow ends")
async def cancel_while_compensating(lab):
    # The customer cancels after confirm_trip failed, while cancel_hotel waits to retry an
    # outage (a second at least, on this server): the cancel lands inside the compensations.
    trip = lab.trip()
    world.inject("confirm_trip", "refuse", message="confirm_trip: the trip can no longer be confirmed")
    undo_meets_outage("cancel_hotel")
    outcome = await lab.book(trip, cancel_during="cancel_hotel")
    _bugs(outcome, lab)
    hotel = [r for r in outcome.timeline.runs if r.name == "cancel_hotel"]
    if hotel and hotel[-1].cancel_requested:  # (a cancelled activity was asked to cancel first)
        raise CheckFailed(
            "the customer's cancel reached cancel_hotel while it ran, and cancelled the undo itself: "
            f"{outcome.describe_orphans() or 'the hotel'} stayed held. Shield the undos from the cancel "
            "(asyncio.shield), so that they run to the end."
        )
    finished = {r.name for r in outcome.timeline.runs if r.compensation and r.outcome == "completed"}
    undos = ["refund_payment", *UNDOS_AFTER_CAR]
    unfinished = [name for name in undos if name not in finished]
    if unfinished and outcome.status == "Canceled":
        raise CheckFailed(
            f"the cancel ended the workflow while the undos were still running: {arrow(unfinished)} never "
            f"finished, and {outcome.describe_orphans() or 'the trip'} stayed held. `await asyncio.shield(...)` "
            "stops waiting as soon as the workflow is cancelled: keep the undos in a task "
            "(asyncio.ensure_future), and when the shielded await raises CancelledError, await that task again."
        )
    _undos(outcome, lab, undos, "after confirm_trip failed and the customer cancelled")
    expect_no_orphans(outcome)


async def _refund_refused(lab) -> tuple[Outcome, str]:
    """A booking whose last step fails, with a bank that refuses the refund for good and a
    car desk briefly down when the car is returned. Returns the outcome and the message
    the workflow failed with."""
    trip = lab.trip()
    world.inject("confirm_trip", "refuse", message="confirm_trip: the trip can no longer be confirmed")
    world.inject("refund", "refuse", message=REFUSED)
    undo_meets_outage("cancel_car")
    outcome = await lab.book(trip, endless_after=ENDLESS_AFTER)
    _bugs(outcome, lab)
    if outcome.endless:
        raise CheckFailed(
            f"{outcome.endless} was retried without end for a refusal ({REFUSED}): the bank refused "
            "it for good, so no retry can succeed, and the other undos wait forever. Raise business "
            "errors as ApplicationError(..., non_retryable=True) (business_errors_are_final)."
        )
    message = ""
    try:
        await lab.client.get_workflow_handle(trip.trip_id).result()
    except WorkflowFailureError as failure:
        message = getattr(failure.cause, "message", "") or str(failure.cause)
    return outcome, message


@suite.check("A refund refused for good does not stop the other undos")
async def refund_refused_others_run(lab):
    outcome, _ = await _refund_refused(lab)
    refund = [r for r in outcome.timeline.runs if r.name == "refund_payment"]
    expect(refund, f"refund_payment never ran after confirm_trip failed: the compensations ran "
           f"{arrow(outcome.timeline.compensations)}.")  # fmt: skip
    expect(
        refund[0].attempts == 1,
        f"refund_payment was tried {refund[0].attempts} times for a refusal ({REFUSED}): a refusal "
        "is final. Raise business errors as ApplicationError(..., non_retryable=True).",
    )
    ran = [r.name for r in outcome.timeline.runs if r.compensation and r.outcome == "completed"]
    missing = [name for name in UNDOS_AFTER_CAR if name not in ran]
    expect(
        not missing,
        f"the refund was refused, and then {arrow(missing)} never ran: the first undo that failed "
        "stopped the rest. Give each undo a try of its own, note its failure, and go on.",
    )
    _undos(outcome, lab, ["refund_payment", *UNDOS_AFTER_CAR], "after confirm_trip failed")
    expect(
        outcome.status == "Failed",
        f"an undo failed for good, yet the workflow ended {outcome.status}; expected Failed: once "
        "every undo has run, raise an error that names each undo that failed.",
    )


@suite.check("The refused refund is named in the error and flagged for a person")
async def refund_refused_named_and_flagged(lab):
    outcome, message = await _refund_refused(lab)
    expect(
        outcome.status == "Failed",
        f"an undo failed for good, yet the workflow ended {outcome.status}; expected Failed: once "
        "every undo has run, raise an error that names each undo that failed.",
    )
    expect(
        "refund" in message.lower(),
        f"the workflow failed with {message!r}, which does not name the refund that failed: raise "
        "an ApplicationError that lists every failed undo (e.g. 'compensation failed: refund_payment').",
    )
    flagged = world.flags(outcome.trip.trip_id)
    expect(
        flagged,
        "the refund was refused, and nobody was told: the charge is left as a silent orphan. Call "
        "flag_for_attention(trip, reason) when an undo fails for good, so a person settles it.",
    )
    charges = [o for o in outcome.report.flagged if o.kind == "charge"]
    expect(charges, "the trip is flagged, yet the audit does not list its charge as flagged.")
    expect_no_orphans(outcome)
