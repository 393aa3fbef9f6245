"""Checks for exercise 08: a reusable Saga helper (saga.py), and the trip booked with it.

The helper is judged inside a real workflow, like a unit test: the checker's own
workflow (ex08_workflows.SagaProbe) adds the checker's undos to the learner's Saga, and
compensates, or raises (or is cancelled) inside `async with`. Order and concurrency are
read from the event history (one after another: each undo scheduled after the previous
one closed; together: every ActivityTaskScheduled of one workflow task), errors from
the SagaCompensationError the workflow caught (its message and its list of failures).

Then the trip workflow, booked through the helper, must pass exercise 03's and 06's
scenarios: those checks are registered here as they are (Suite.reuse).

They run on the time-skipping test server, which keeps `workbook check 08` near two
seconds: on a dev server every retry of 03's outages waits a second at least. Their
cancels land while an activity runs (or the workflow waits on a condition), which the
test server handles as the dev server does: the verdicts on the catalogue's shielding
mistakes were compared on both, and tests/test_e2e.py cancels a trip while it is being
undone on a dev server.
"""

from __future__ import annotations

import ast
import asyncio
import uuid
import warnings
from dataclasses import dataclass, field

from temporalio.client import WorkflowFailureError
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from workbook.checks import CheckFailed, CodeError, Suite, _code_error, arrow, expect
from workbook.checks import ex03, ex06
from workbook.checks.ex08_workflows import ACTIVITIES, CANCEL_SENT, REFUSAL, Probe, SagaProbe, Seen
from workbook.explain import explain_workflow_error
from workbook.source import learner_frame
from workbook.timeline import ActivityRun, root_cause, timeline_from_events

suite = Suite("08", "A reusable Saga helper: add, compensate, options, and async with")

# The probe imports saga.py as it runs, on purpose (see ex08_workflows): no warning.
warnings.filterwarnings("ignore", message="Module saga was imported after initial workflow load")
WAIT = 20.0  # real seconds for one probe workflow
# The probe's own module comes from the workbook package, passed through the sandbox as
# it is; the learner's saga.py, imported by the probe when it runs, is sandboxed.
PROBE_RUNNER = SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules("workbook"))


@dataclass
class Probed:
    """What one probe workflow left behind."""

    status: str
    seen: Seen | None  # what the workflow returned (None: it did not complete)
    error: str = ""  # the message it failed with
    root: str = ""  # the message of that error's root cause
    runs: list[ActivityRun] = field(default_factory=list)
    tasks: dict[int, int] = field(default_factory=dict)  # scheduled event id: its workflow task
    arguments: dict[int, str] = field(default_factory=dict)  # scheduled event id: its argument

    @property
    def undos(self) -> list[ActivityRun]:
        return [r for r in self.runs if r.compensation]

    def ran(self) -> list[str]:
        return [r.name for r in self.undos]

    def labelled(self) -> list[str]:
        return [f"{r.name}({self.arguments.get(r.scheduled_event, '')})" for r in self.undos]


async def probe(lab, what: Probe, cancel_during: str = "") -> Probed:
    """Run the probe workflow on a worker of its own, with the learner's saga.py."""
    workflow_id = f"{lab.prefix}-saga-{uuid.uuid4().hex[:6]}"
    task_queue = f"saga-probe-{uuid.uuid4()}"
    worker = Worker(lab.client, task_queue=task_queue, workflows=[SagaProbe], activities=ACTIVITIES,
                    workflow_failure_exception_types=[Exception], build_id="workbook-check",
                    workflow_runner=PROBE_RUNNER)  # fmt: skip
    async with worker:
        handle = await lab.client.start_workflow(SagaProbe.run, what, id=workflow_id, task_queue=task_queue)
        canceller = asyncio.ensure_future(_cancel(handle, cancel_during)) if cancel_during else None
        seen, error, root, bug = None, "", "", None
        try:
            seen = await asyncio.wait_for(handle.result(), WAIT)
            seen = seen if isinstance(seen, Seen) else Seen(**seen)
        except WorkflowFailureError as failure:
            error, root, bug = _failure(failure)
        except asyncio.TimeoutError:
            raise CheckFailed(f"the probe workflow did not finish within {WAIT:.0f} seconds: does compensate() "
                              "wait for something that never happens?")  # fmt: skip
        finally:
            if canceller:
                canceller.cancel()
            CANCEL_SENT.discard(workflow_id)
        history = await handle.fetch_history()
    timeline = timeline_from_events(workflow_id, history.events)
    probed = Probed(timeline.status, seen, error, root, timeline.runs)
    for event in history.events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            scheduled = event.activity_task_scheduled_event_attributes
            probed.tasks[event.event_id] = scheduled.workflow_task_completed_event_id
            payloads = scheduled.input.payloads
            probed.arguments[event.event_id] = ", ".join(p.data.decode().strip('"') for p in payloads)
    if bug:
        kind, message, stack = bug
        where = learner_frame(stack, lab.modules.folder)
        source = (lab.modules.folder / "saga.py").read_text() if (lab.modules.folder / "saga.py").exists() else ""
        # The code the probe runs is saga.py: where the explanation names workflow.py, it means saga.py.
        raise CodeError(explain_workflow_error(kind, message, source, where).replace("workflow.py", "saga.py"))
    for run in probed.runs:
        if run.error_type == "NotFoundError" or "not registered" in run.error:
            raise CheckFailed(
                f"the Saga asked for an activity named {run.name!r}, which no worker has: it called the undo "
                "by a name (a string) instead of the function it was given. Keep the function itself, "
                "and pass it to workflow.execute_activity(undo, ...)."
            )
    return probed


def _failure(failure: WorkflowFailureError) -> tuple[str, str, tuple[str, str, str] | None]:
    """The message a probe workflow failed with, its root cause's, and (type, message,
    stack) when that is a bug in the learner's code rather than the failure of an activity."""
    message = getattr(failure.cause, "message", "") or str(failure.cause or failure)
    return message, root_cause(failure), _code_error(failure)


async def _cancel(handle, activity: str) -> None:
    """Cancel the workflow once ``activity`` is running ("wait": once it waits, idle)."""
    while True:
        description = (await handle.describe()).raw_description
        pending = [p.activity_type.name for p in description.pending_activities]
        if (activity in pending) or (activity == "wait" and not pending and await _waiting(handle)):
            await handle.cancel()
            CANCEL_SENT.add(handle.id)
            return
        await asyncio.sleep(0.05)


async def _waiting(handle) -> bool:
    """Has the workflow completed a task, and so reached what it waits on?"""
    history = await handle.fetch_history()
    return any(e.HasField("workflow_task_completed_event_attributes") for e in history.events)


def _one_after_another(probed: Probed) -> None:
    undos = probed.undos
    for before, after in zip(undos, undos[1:]):
        if after.scheduled_event < before.closed_event:
            raise CheckFailed(
                f"the undos ran all at once: {after.name} was started before {before.name} had finished. "
                "Without parallel=True, `await` each undo before you start the next."
            )


def _finished_before_return(probed: Probed) -> None:
    """Every undo closed before compensate() returned (after_compensate was scheduled)."""
    after = [r for r in probed.runs if r.name == "after_compensate"]
    if not after:
        return
    late = [r.name for r in probed.undos if not r.closed_event or r.closed_event > after[0].scheduled_event]
    expect(
        not late,
        f"compensate() returned before {arrow(late)} had finished: it started the undos and did not wait "
        "for them. Await every undo (with parallel, asyncio.gather them) before compensate() returns.",
    )


def _no_error(probed: Probed) -> None:
    if probed.seen is None:
        raise CheckFailed(f"the probe workflow ended {probed.status}: {probed.error}")
    expect(not probed.seen.error, f"every undo worked, yet compensate() raised {probed.seen.error}: "
                                  f"{probed.seen.message}")  # fmt: skip


# --- Part A: add and compensate ----------------------------------------------------


@suite.check("compensate() runs each undo once, newest first, one after another, with its own argument")
async def newest_first(lab):
    added = [("undo_a", "flight"), ("undo_b", "hotel"), ("undo_c", "car")]
    probed = await probe(lab, Probe(undos=added, twice=True))
    expected = [f"{name}({argument})" for name, argument in reversed(added)]
    labelled = probed.labelled()
    if probed.ran() == ["undo_a", "undo_b", "undo_c"]:
        raise CheckFailed(f"the undos ran {arrow(labelled)}; expected {arrow(expected)}: undo the newest first "
                          "(reversed).")  # fmt: skip
    if labelled == expected * 2:
        raise CheckFailed(
            f"compensate() was called twice, and ran every undo twice ({arrow(labelled)}): take the undos "
            "out of the saga as you run them, so a second call has nothing left to undo."
        )
    expect(labelled == expected, f"the undos ran {arrow(labelled)}; expected {arrow(expected)}, each once, "
                                 "with the arguments given to add().")  # fmt: skip
    _one_after_another(probed)
    _finished_before_return(probed)
    _no_error(probed)


# --- Part B: parallel, continue_with_error, one error for every failure -----------


def _expect_failures(probed: Probed, expected: list[tuple[str, str]], why: str) -> None:
    """compensate() raised one SagaCompensationError listing ``expected`` (undo, argument)."""
    seen = probed.seen
    if seen is None:
        raise CheckFailed(f"{why}, the probe workflow ended {probed.status}: {probed.error}")
    expect(seen.error, f"{why}, compensate() raised nothing: the failure was lost. Raise a "
                       "SagaCompensationError that names every undo that failed.")  # fmt: skip
    expect(
        seen.error == "SagaCompensationError",
        f"{why}, compensate() raised {seen.error} ({seen.message}); expected one SagaCompensationError that "
        "collects every failure, so the caller catches one error, whichever undo failed.",
    )
    expect(seen.failures_readable, "SagaCompensationError.failures is not a list of (undo, error) pairs.")
    words = [REFUSAL.format(argument) for _, argument in expected]
    listed = [f"{name} ({cause})" for name, cause in seen.failures]
    wanted = [f"{name} ({cause})" for (name, _), cause in zip(expected, words)]
    expect(
        sorted(listed) == sorted(wanted),
        f"{why}, SagaCompensationError.failures holds {listed or 'nothing'}; expected {wanted}: each undo "
        "that failed, with the error it failed with.",
    )
    missing = [w for w in words if w not in seen.message]
    expect(
        not missing and all(name in seen.message for name, _ in expected),
        f"{why}, the error says {seen.message!r}: name each undo that failed and why "
        f"(its cause: {', '.join(map(repr, missing or words))}), so a person knows what to settle.",
    )
    expect(
        seen.is_application_error,
        "SagaCompensationError is not an ApplicationError: raised out of a workflow, any other error fails "
        "the workflow *task*, which Temporal retries forever. Subclass ApplicationError.",
    )


@suite.check("parallel=True starts every undo at once, waits for them all, and names the one that failed")
async def parallel(lab):
    added = [("undo_a", "flight"), ("undo_broken", "refund"), ("undo_b", "hotel"), ("undo_c", "car")]
    probed = await probe(lab, Probe(undos=added, parallel=True))
    ran = probed.ran()
    tasks = {probed.tasks[r.scheduled_event] for r in probed.undos}
    if len(tasks) > 1 or ran == ["undo_c", "undo_b", "undo_broken"]:
        raise CheckFailed(
            f"with parallel=True the undos were started one after another ({arrow(ran)}, from {len(tasks)} "
            "workflow tasks): start them all before you await any, e.g. "
            "`await asyncio.gather(*(run(undo) for undo in undos), return_exceptions=True)`."
        )
    expect(sorted(ran) == sorted(name for name, _ in added),
           f"with parallel=True the undos ran {arrow(ran)}; expected all four, each once.")  # fmt: skip
    _finished_before_return(probed)
    _expect_failures(probed, [("undo_broken", "refund")], "with parallel=True and undo_broken refused")


@suite.check("Without continue_with_error, the first undo that fails stops the rest, and is named in one SagaCompensationError")
async def stops_at_first_failure(lab):
    added = [("undo_a", "flight"), ("undo_broken", "refund"), ("undo_c", "car")]
    probed = await probe(lab, Probe(undos=added))
    ran = probed.ran()
    if ran == ["undo_c", "undo_broken", "undo_a"]:
        raise CheckFailed(
            "undo_broken failed, and undo_a still ran, although continue_with_error is False: stop at "
            "the first undo that fails (as Java's Saga does), and raise."
        )
    expect(ran == ["undo_c", "undo_broken"], f"the undos ran {arrow(ran)}; expected undo_c → undo_broken, "
                                             "then stop: undo_broken fails for good.")  # fmt: skip
    _expect_failures(probed, [("undo_broken", "refund")], "when undo_broken was refused")


@suite.check("With continue_with_error, every undo runs, and every failure is named with its cause")
async def continues_with_error(lab):
    added = [("undo_broken", "refund"), ("undo_a", "flight"), ("undo_broken", "ticket"), ("undo_b", "hotel")]
    probed = await probe(lab, Probe(undos=added, continue_with_error=True))
    expected = ["undo_b(hotel)", "undo_broken(ticket)", "undo_a(flight)", "undo_broken(refund)"]
    labelled = probed.labelled()
    if labelled == expected[:2]:
        raise CheckFailed(
            "with continue_with_error=True the first undo that failed (undo_broken) stopped the rest: "
            f"the undos ran {arrow(labelled)}; expected {arrow(expected)}. Go on to the next undo."
        )
    expect(labelled == expected, f"with continue_with_error=True the undos ran {arrow(labelled)}; expected "
                                 f"{arrow(expected)}.")  # fmt: skip
    _one_after_another(probed)
    _expect_failures(probed, [("undo_broken", "ticket"), ("undo_broken", "refund")], "when two undos were refused")


# --- Part C: async with, shielded from a cancel ------------------------------------


@suite.check("async with: a block that raises is compensated and its error goes on; a block that succeeds undoes nothing")
async def block_form(lab):
    added = [("undo_a", "flight"), ("undo_b", "hotel")]
    failed, succeeded = await asyncio.gather(
        probe(lab, Probe(undos=added, form="block")),
        probe(lab, Probe(undos=added, form="block", block="step_ok")),
    )
    expect(not succeeded.undos, f"the block succeeded, yet {arrow(succeeded.ran())} ran: compensate only when "
                                "the block raised (__aexit__ gets the error, or None).")  # fmt: skip
    expect(failed.ran(), "the block raised (step_fails), and no undo ran: __aexit__ must compensate when it "
                         "is given an error.")  # fmt: skip
    expect(failed.labelled() == ["undo_b(hotel)", "undo_a(flight)"],
           f"after the block raised the undos ran {arrow(failed.labelled())}; expected undo_b(hotel) → undo_a(flight).")  # fmt: skip
    expect(
        failed.status == "Failed" and failed.root == "step_fails failed",
        f"the block raised (step_fails failed), and the workflow ended {failed.status}"
        f"{' with ' + repr(failed.error) if failed.error else ''}: after compensating, let the block's "
        "own error go on (__aexit__ returns False), so the workflow fails with it.",
    )


@suite.check("async with: a cancel that arrives while the block waits is compensated too, and the workflow ends Canceled")
async def cancel_in_block(lab):
    probed = await probe(lab, Probe(undos=[("undo_a", "flight"), ("undo_b", "hotel")], form="block", block="wait"),
                         cancel_during="wait")  # fmt: skip
    if not probed.undos:
        raise CheckFailed(
            "the workflow was cancelled while the block waited, and no undo ran: the cancel arrives as "
            "asyncio.CancelledError, a BaseException, which a check for Exception lets through. "
            "Compensate for any error __aexit__ is given."
        )
    expect(probed.labelled() == ["undo_b(hotel)", "undo_a(flight)"],
           f"after the cancel the undos ran {arrow(probed.labelled())}; expected undo_b(hotel) → undo_a(flight).")  # fmt: skip
    expect(probed.status == "Canceled", f"after the cancel the workflow ended {probed.status}; expected "
                                        "Canceled: let the CancelledError go on once the undos ran.")  # fmt: skip


@suite.check("A cancel that arrives while the undos run does not stop them: each finishes before the workflow ends")
async def cancel_while_undoing(lab):
    probed = await probe(lab, Probe(undos=[("undo_a", "flight"), ("undo_slow", "car")], form="block"),
                         cancel_during="undo_slow")  # fmt: skip
    slow = [r for r in probed.undos if r.name == "undo_slow"]
    expect(slow, f"the block raised, and undo_slow never ran: the undos ran {arrow(probed.ran())}.")
    if slow[0].cancel_requested or slow[0].outcome == "cancelled":
        raise CheckFailed(
            "the cancel reached undo_slow while it ran, and cancelled the undo itself: compensate shielded "
            "from the cancel (asyncio.shield), so the undos run to the end."
        )
    unfinished = [r.name for r in probed.undos if r.outcome != "completed"]
    unfinished += [] if "undo_a" in probed.ran() else ["undo_a"]
    if unfinished:
        raise CheckFailed(
            f"the cancel ended the workflow ({probed.status}) while the undos were still running: "
            f"{arrow(unfinished)} never finished. `await asyncio.shield(...)` stops waiting as soon as the "
            "workflow is cancelled: keep compensate() in a task (asyncio.ensure_future), and when the "
            "shielded await raises CancelledError, await that task again, then re-raise."
        )
    expect(probed.status in ("Canceled", "Failed"), f"the workflow ended {probed.status} after the block raised "
                                                    "and the cancel; expected Canceled.")  # fmt: skip


# --- Part D: the trip, booked through the helper ------------------------------------


@suite.check("The trip workflow books through your Saga: async with Saga(...), an add() before each step")
async def trip_uses_saga(lab):
    tree = ast.parse(lab.source)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    made = [c for c in calls if getattr(c.func, "id", "") == "Saga"]
    adds = [c for c in calls if getattr(c.func, "attr", "") == "add"]
    expect(made, "workflow.py never makes a Saga: book the trip inside `async with Saga(UNDO, ...) as saga:`.")
    expect(len(adds) >= 4, f"workflow.py calls saga.add() {len(adds)} time(s); expected one before each of the "
                           "four steps that can be undone (flight, hotel, car, payment).")  # fmt: skip


suite.reuse(ex03.suite, "happy_path", "typed_undos", "bad_card", "hotel_fails", "lost_reply", "confirm_fails",
            "business_errors")  # fmt: skip
suite.reuse(ex06.suite, "cancel_during_car", "cancel_while_compensating", "refund_refused_others_run",
            "refund_refused_named_and_flagged")  # fmt: skip
