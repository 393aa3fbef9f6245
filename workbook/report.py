"""What a starter prints after it starts a workflow: the result, the timeline, the audit."""

from __future__ import annotations

import asyncio
import contextvars
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from rich.console import Console
from temporalio.api.enums.v1 import PendingActivityState, PendingWorkflowTaskState, TimeoutType, WorkflowTaskFailedCause
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.service import RPCError

from workbook import terminal
from workbook.audit import audit
from workbook.explain import explain_workflow_error, no_worker_message
from workbook.source import call_lines, learner_frame
from workbook.timeline import root_cause, timeline_of

# Seconds without a result before a starter suspects something is wrong and says what:
# long enough for a healthy booking with a retry or two; WORKBOOK_PATIENCE changes it.
WORKER_HINT_AFTER = float(os.environ.get("WORKBOOK_PATIENCE", "5"))
RECHECK_EVERY = min(2.0, WORKER_HINT_AFTER)  # seconds between later looks, once the first diagnosis is out
VAGUE_AFTER = 4 * WORKER_HINT_AFTER  # seconds before a wait with no visible cause is called one
ENDLESS_AFTER = 3  # failed attempts of a never-ending retry before a run in one process gives up
OUTAGE_GOES_ON = " An outage ends by itself: "
OUTAGE_STOPPED = (
    " Its retry policy has no maximum_attempts, so it is retried for as long as the outage "
    "lasts, and this command stopped waiting. If the step should give up (then be undone or "
    "noted), cap its retries with maximum_attempts."
)


@dataclass(frozen=True)
class Mode:
    """Where the worker runs: that decides what a stuck workflow's advice can say.

    * ``starter`` (the default): worker.py runs in another terminal. A workflow whose code
      is broken waits on the server for a fixed worker: fix the code, restart the worker,
      and the same run goes on. The starter keeps waiting; Ctrl+C leaves the run on the
      server, and the next ``python starter.py`` replaces it.
    * ``run`` (or any other name, e.g. ``watch``): the worker runs inside this process,
      so there is no worker to restart. A workflow that cannot go on is terminated within
      seconds, so nothing is left running, and the command ends non-zero.
    """

    name: str = "starter"
    again: str = "python starter.py"  # the command that tries again, in this mode
    folder: Path | None = None  # the exercise folder being run, for the workflow's source

    @property
    def worker_elsewhere(self) -> bool:
        return self.name == "starter"

    def source(self) -> str:
        if self.folder is None:
            return _workflow_source()
        path = Path(self.folder) / "workflow.py"
        return path.read_text() if path.exists() else ""


_MODE: contextvars.ContextVar[Mode] = contextvars.ContextVar("workbook_report_mode", default=Mode())


@contextmanager
def running_in(name: str, again: str, folder: Path | None = None) -> Iterator[Mode]:
    """Within this block, follow() speaks for ``name`` mode (see Mode), e.g. the
    `workbook run` command, whose worker runs in the same process as its starter."""
    mode = Mode(name, again, folder)
    token = _MODE.set(mode)
    try:
        yield mode
    finally:
        _MODE.reset(token)


class WorkflowStopped(Exception):
    """A run in one process ended a workflow that could not go on (it was terminated)."""


async def task_failure(handle: WorkflowHandle, source: str = "", folder: Path | None = None) -> str | None:
    """Why the workflow's *task* keeps failing, if it does, in plain words; with the
    learner's ``folder``, where (the file and line of its stack trace there).

    A broken workflow does not fail: its task fails and Temporal retries it forever,
    hoping for a fixed worker. The reason is in the history (WorkflowTaskFailed).
    """
    failure = await _last_task_failure(handle, with_stack=True)
    if not failure:
        return None
    kind, message, stack = failure
    where = learner_frame(stack, folder) if folder else ""
    return explain_workflow_error(kind, message, source, where, task=True)


# Task failures that are the server's housekeeping, not the learner's code: a task that
# tried to complete the workflow while a new event (an activity's result) had just
# arrived is rejected and simply run again; so is a task whose worker cache was reset.
_HOUSEKEEPING = {
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_STICKY_TASK_QUEUE,
}


async def _last_task_failure(handle: WorkflowHandle, with_stack: bool = False) -> tuple[str, ...] | None:
    """(error type, message) of the workflow's failing workflow task, if it still fails:
    a task that completed since (a fixed worker took over) clears it. ``with_stack``:
    (error type, message, stack trace)."""
    history = await handle.fetch_history()
    failure = None
    for event in history.events:
        if event.HasField("workflow_task_failed_event_attributes"):
            attributes = event.workflow_task_failed_event_attributes
            if attributes.cause not in _HOUSEKEEPING:
                failure = attributes.failure
        elif event.HasField("workflow_task_completed_event_attributes"):
            failure = None
    if failure is None:
        return None
    found = failure.application_failure_info.type or "Error", failure.message
    return (*found, failure.stack_trace) if with_stack else found


def _nondeterministic(kind: str, message: str) -> bool:
    return kind == "NondeterminismError" or "Nondeterminism" in message or "TMPRL1100" in message


# Errors that mean a bug in the code, not an outage: retrying will never fix them.
CODE_ERRORS = {"NotImplementedError", "NameError", "AttributeError", "TypeError", "ImportError"}


async def activity_bug(handle: WorkflowHandle, source: str = "") -> str | None:
    """An activity that Temporal keeps retrying although it fails with a bug (a TODO
    still raising NotImplementedError, a typo): an undo's retries never give up.
    With the workflow's ``source``, say where it is called."""
    return _activity_bug((await handle.describe()).raw_description, source)


def _activity_bug(description, source: str = "") -> str | None:
    for pending in description.pending_activities:
        kind = pending.last_failure.application_failure_info.type
        if kind in CODE_ERRORS:
            name = pending.activity_type.name
            message = pending.last_failure.message
            if kind == "NotImplementedError":
                return f"a TODO is still waiting for you: {name} raises NotImplementedError ({message})."
            lines = call_lines(source, name)
            where = f" (called at workflow.py, line {', '.join(map(str, lines))})" if lines else ""
            return f"{name} fails with a bug, not an outage, and retrying won't fix it{where}: {kind}: {message}"
    return None


async def diagnose(handle: WorkflowHandle, source: str = "") -> str | None:
    """Why a workflow is not getting anywhere, or None if we can't tell: a failing
    workflow task, an activity retried again and again, or nobody polling its queue."""
    return (await _diagnosis(handle, source))[1]


async def _diagnosis(handle: WorkflowHandle, source: str = "", in_process: bool = False):
    """(kind, reason) of ``diagnose``, or (None, None). Kinds: "task" (the workflow's
    code fails), "nondeterminism", "activity-bug", "retrying", "retrying-forever"
    (no maximum_attempts, and failed ENDLESS_AFTER times already), "no-worker"."""
    failure = await _last_task_failure(handle)
    if failure:
        kind = "nondeterminism" if _nondeterministic(*failure) else "task"
        return kind, explain_workflow_error(*failure, source)
    description = (await handle.describe()).raw_description
    reason = _activity_bug(description, source)
    if reason:
        return "activity-bug", reason
    for pending in description.pending_activities:
        if pending.attempt > 1 and pending.HasField("last_failure") and pending.last_failure.HasField("timeout_failure_info"):
            # No answer from the worker that had it (killed, frozen): the lesson of a crash,
            # not an error to make non-retryable.
            how = "its heartbeats stopped" if "HEARTBEAT" in TimeoutType.Name(
                pending.last_failure.timeout_failure_info.timeout_type) else "it ran past its timeout"
            return "worker-lost", (
                f"{pending.activity_type.name}'s attempt {pending.attempt - 1} got no answer from its worker "
                f"({how}): Temporal gives attempt {pending.attempt} to the next worker that asks for work."
            )
        if pending.attempt > 1 and pending.HasField("last_failure"):
            forever = pending.maximum_attempts == 0 and pending.attempt > ENDLESS_AFTER
            retried = (
                f"{pending.activity_type.name} has failed {pending.attempt - 1} time(s) and "
                f"Temporal keeps retrying it: {pending.last_failure.message}."
            )
            if pending.last_failure.application_failure_info.type in _outages():
                # The travel world is down for a while: retrying is right, and advice to make
                # it non-retryable is wrong (12's ticket desk after the pivot, retried on
                # purpose with FORWARD, was told so, and `run 12` terminated the trip).
                endless = (
                    " Its retry policy has no maximum_attempts: right for a step that must go "
                    "forward, wrong for one that should give up and be undone or noted."
                    if pending.maximum_attempts == 0 else ""
                )
                return "outage-forever" if forever else "outage", (
                    f"{retried}{OUTAGE_GOES_ON}this run goes on once "
                    f"{pending.activity_type.name} gets through.{endless}"
                )
            return "retrying-forever" if forever else "retrying", (
                f"{retried} If that error will not go away by itself, make it non-retryable, "
                "or cap the retries with maximum_attempts."
            )
    task_queue = description.execution_config.task_queue.name
    unstarted = [
        pending.activity_type.name
        for pending in description.pending_activities
        if pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED
        and pending.attempt <= 1
        and _waiting_for(pending.scheduled_time) >= WORKER_HINT_AFTER
    ]
    if unstarted:
        where = (
            "the worker that this command started from worker.py does not register it: add it to "
            "activities=[...] in create_worker()."
            if in_process
            else "is the worker running (python worker.py), and is it in its activities=[...]?"
        )
        return "no-worker", f"nothing has started the activity {unstarted[0]} on task queue {task_queue!r}: {where}"
    task = description.pending_workflow_task
    never_picked_up = (
        description.HasField("pending_workflow_task")
        and task.state == PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED
        and _waiting_for(task.original_scheduled_time if task.original_scheduled_time.seconds else task.scheduled_time)
        >= WORKER_HINT_AFTER
    )  # a poller seen a minute ago may be gone: a task nobody starts says more
    if never_picked_up or not await _has_pollers(handle, task_queue):
        if in_process:
            workflow_type = description.workflow_execution_info.type.name
            return "no-worker", (
                f"nothing runs {workflow_type} on task queue {task_queue!r}: the worker that this "
                "command started from worker.py does not register it. Add it to workflows=[...] "
                "in create_worker(), and every activity it calls to activities=[...]."
            )
        return "no-worker", no_worker_message(task_queue)
    return None, None


def _outages() -> set[str]:
    """The failure types of a travel world that is down for a moment (ServiceUnavailable and
    its kinds): errors that go away by themselves, which Temporal is right to retry."""
    from workbook import world

    return world.kinds_of(world.ServiceUnavailable)


def _waiting_for(timestamp) -> float:
    """Seconds since ``timestamp`` (a protobuf Timestamp), 0 when it is unset."""
    if not timestamp.seconds:
        return 0.0
    return (datetime.now(timezone.utc) - timestamp.ToDatetime(tzinfo=timezone.utc)).total_seconds()


async def _has_pollers(handle: WorkflowHandle, task_queue: str) -> bool:
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    client = handle._client  # the handle's own client: same server, same namespace
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return bool(response.pollers)


# What the starter says next, when worker.py runs in another terminal (Mode "starter").
RESTART_WORKER = "Fix it, restart the worker (Ctrl+C, python worker.py), and this run goes on."
START_WORKER = "Start the worker, or fix it and restart it (Ctrl+C, python worker.py), and this run goes on."
NEW_RUN = (
    "This run cannot go on with the changed code: press Ctrl+C here, then run python "
    "starter.py again (the new run replaces this one)."
)


async def wait_for_result(handle: WorkflowHandle, console: Console, mode: Mode | None = None):
    """The workflow's result; says what is wrong if nothing happens for a while.

    With the worker in another terminal, it keeps waiting: the run goes on once a fixed
    worker picks it up. With the worker in this process (``workbook run``), a workflow
    that cannot go on is terminated and WorkflowStopped is raised, within seconds."""
    mode = mode or _MODE.get()
    waiting = asyncio.ensure_future(handle.result())
    try:
        if mode.worker_elsewhere:
            return await _wait_for_worker_elsewhere(handle, waiting, console, mode)
        return await _wait_in_process(handle, waiting, console, mode)
    finally:
        waiting.cancel()


async def _wait_for_worker_elsewhere(handle, waiting, console: Console, mode: Mode):
    """Keep waiting; say what is wrong after a while, and again whenever that changes
    (a restarted worker got past one mistake and met the next)."""
    done, _ = await asyncio.wait({waiting}, timeout=WORKER_HINT_AFTER)
    # `seen`: when a cause was last visible. The vague guess waits for VAGUE_AFTER of no
    # visible cause in a row, not since the start: a look that falls between an activity's
    # completion and the workflow's next task sees nothing (13's "courier slow", 31 s of
    # retries, was asked 'is the worker running?' as its sixth attempt got through).
    said, seen = None, time.monotonic() - WORKER_HINT_AFTER
    while not done:
        kind, reason = await _diagnosis(handle, mode.source())
        reason = reason or await _at_work(handle)
        if reason:
            seen = time.monotonic()
        if not reason and time.monotonic() - seen < VAGUE_AFTER:
            # A worker polls and nothing is wrong that we can see: on a busy machine its
            # first workflow task can take seconds. Guessing now would send the student
            # looking for a worker that is running; the real cause, if any, shows soon.
            done, _ = await asyncio.wait({waiting}, timeout=RECHECK_EVERY)
            continue
        reason = reason or "is the worker running?"
        news = re.sub(r"\d+", "#", reason)  # a retry count going up is not news
        if said is None or news != said:
            console.print(f"[yellow]Still waiting for {handle.id}:[/] {reason}")
            if kind == "nondeterminism":
                console.print(NEW_RUN)
            elif kind == "no-worker":
                console.print(START_WORKER)
            elif kind == "worker-lost":
                console.print("If no worker is running now, start one (python worker.py): this run goes on.")
            elif kind in ("outage", "outage-forever"):
                pass  # nothing to fix or restart: the reason says the run goes on
            elif kind:
                console.print(RESTART_WORKER)
            said = news
        done, _ = await asyncio.wait({waiting}, timeout=RECHECK_EVERY)
    return waiting.result()


async def _at_work(handle: WorkflowHandle) -> str:
    """What a workflow that is simply slow is doing: an activity a worker has been running
    for WORKER_HINT_AFTER at least. One that has just started is a run making progress,
    not a wait worth a word: a healthy run that takes a little over WORKER_HINT_AFTER on a
    busy machine (08's cancel while undoing: a 3 s car desk) was told 'Still waiting for
    trip-08: cancel_flight is at work on a worker' the moment its last undo started."""
    description = (await handle.describe()).raw_description
    for pending in description.pending_activities:
        if (
            pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
            and _waiting_for(pending.last_started_time) >= WORKER_HINT_AFTER
        ):
            return f"{pending.activity_type.name} is at work on a worker (attempt {pending.attempt}); waiting for it."
    return ""


async def _wait_in_process(handle, waiting, console: Console, mode: Mode):
    said, waited = None, 0.0
    while True:
        done, _ = await asyncio.wait({waiting}, timeout=1.0)
        if done:
            return waiting.result()
        waited += 1.0
        # A failing workflow task or an activity bug shows at once; no poller and retries
        # only after a while (the worker may still be starting; a retry may succeed).
        kind, reason = await _diagnosis(handle, mode.source(), in_process=True)
        if kind in ("no-worker", "retrying", "retrying-forever", "outage", "outage-forever") and waited < WORKER_HINT_AFTER:
            continue
        if kind == "outage-forever" and waited >= VAGUE_AFTER:
            # An outage this long, retried without end: stop, so that run never hangs.
            kind, reason = "retrying-forever", reason.split(OUTAGE_GOES_ON)[0] + OUTAGE_STOPPED
        if kind in ("task", "nondeterminism", "activity-bug", "no-worker", "retrying-forever"):
            reason = reason.replace("python starter.py", mode.again)
            console.print(f"[bold red]Stopped {handle.id}:[/] {reason}")
            await _terminate(handle, f"{mode.again} stopped it: {reason}")
            console.print(
                "The worker ran inside this command, so there is no worker to restart: the "
                f"workflow was terminated and nothing is left running. Fix it, then run {mode.again} again."
            )
            raise WorkflowStopped(reason)
        news = re.sub(r"\d+", "#", reason or "")  # a retry count going up is not news
        if reason and news != said:
            console.print(f"[yellow]Still waiting for {handle.id}:[/] {reason}")
            said = news


async def _terminate(handle: WorkflowHandle, reason: str) -> None:
    try:
        await handle.terminate(reason=reason[:500])
    except RPCError:
        pass  # it ended in the meantime: nothing left running either way


def web_ui_link(handle: WorkflowHandle) -> str:
    """Where to watch this workflow, when it runs on the local dev server (whose Web UI
    is on port 8233); elsewhere we can't know the address."""
    address = handle._client.service_client.config.target_host
    if address not in ("localhost:7233", "127.0.0.1:7233"):
        return ""
    namespace = handle._client.namespace
    return f" Watch it at http://localhost:8233/namespaces/{namespace}/workflows/{handle.id}"


def _workflow_source() -> str:
    """The workflow.py next to the running starter, if there is one."""
    import sys
    from pathlib import Path

    path = Path(sys.argv[0]).resolve().parent / "workflow.py"
    return path.read_text() if path.exists() else ""


async def follow(
    handle: WorkflowHandle, console: Console | None = None, mode: Mode | None = None,
    done: str = "Trip booked", not_done: str = "Trip not booked",
) -> int:
    """Wait for the workflow, then print the story. Exit status: 0 booked, 1 not.

    ``mode`` (default: the one set by running_in(), else "starter") decides what the
    advice says when the workflow cannot go on; see Mode. ``done``/``not_done``: the
    words of the outcome (exercise 13 fulfils an order, it books no trip)."""
    console = console or terminal.console(highlight=False)
    mode = mode or _MODE.get()
    console.print(f"Started workflow [bold]{handle.id}[/].{web_ui_link(handle)}")
    try:
        itinerary = await wait_for_result(handle, console, mode)
    except WorkflowFailureError as failure:
        console.print(f"[bold red]{not_done}:[/] {root_cause(failure)}")
        itinerary, code = None, 1
    except WorkflowStopped:
        itinerary, code = None, 1
    except asyncio.CancelledError:  # Ctrl+C
        if not mode.worker_elsewhere:  # nobody else would ever run it: don't leave it behind
            await _terminate(handle, f"{mode.again} was stopped with Ctrl+C")
        raise
    else:
        code = 0 if itinerary is not None else 1
    timeline = await timeline_of(handle)
    if code == 0:
        console.print(f"[bold green]{done}:[/] {itinerary}")
    elif timeline.status == "Completed":
        console.print(_completed_without_itinerary(timeline))
    console.print(timeline)
    console.print(audit())
    return code


def _completed_without_itinerary(timeline) -> str:
    """A workflow that returned nothing: usually an except block that compensated and
    then ended quietly, so Temporal recorded a success that was not one."""
    undone = [r.name for r in timeline.runs if r.compensation and r.outcome == "completed"]
    if undone:
        return (
            f"[bold red]Trip not booked:[/] the workflow completed without an itinerary, although "
            f"{len(undone)} step(s) were undone ({' → '.join(undone)}). Its except block "
            "compensated and then ended quietly, so Temporal recorded a success: end the except "
            "block with a bare `raise`, so the workflow fails and the caller knows."
        )
    return (
        "[bold red]Trip not booked:[/] the workflow completed without an itinerary: does "
        "run() end with `return Itinerary(...)`?"
    )
