"""What a starter prints after it starts a workflow: the result, the timeline, the audit."""

from __future__ import annotations

import asyncio

from rich.console import Console
from temporalio.client import WorkflowFailureError, WorkflowHandle

from workbook.audit import audit
from workbook.explain import explain_workflow_error, no_worker_message
from workbook.timeline import root_cause, timeline_of

WORKER_HINT_AFTER = 5.0  # seconds without a result before we suspect no worker is running


async def task_failure(handle: WorkflowHandle, source: str = "") -> str | None:
    """Why the workflow's *task* keeps failing, if it does, in plain words.

    A broken workflow does not fail: its task fails and Temporal retries it forever,
    hoping for a fixed worker. The reason is in the history (WorkflowTaskFailed).
    """
    history = await handle.fetch_history()
    failures = [
        e.workflow_task_failed_event_attributes.failure
        for e in history.events
        if e.HasField("workflow_task_failed_event_attributes")
    ]
    if not failures:
        return None
    kind = failures[-1].application_failure_info.type or "Error"
    return explain_workflow_error(kind, failures[-1].message, source)


# Errors that mean a bug in the code, not an outage: retrying will never fix them.
CODE_ERRORS = {"NotImplementedError", "NameError", "AttributeError", "TypeError", "ImportError"}


async def activity_bug(handle: WorkflowHandle) -> str | None:
    """An activity that Temporal keeps retrying although it fails with a bug (a TODO
    still raising NotImplementedError, a typo): an undo's retries never give up."""
    return _activity_bug((await handle.describe()).raw_description)


def _activity_bug(description) -> str | None:
    for pending in description.pending_activities:
        kind = pending.last_failure.application_failure_info.type
        if kind in CODE_ERRORS:
            name = pending.activity_type.name
            message = pending.last_failure.message
            if kind == "NotImplementedError":
                return f"a TODO is still waiting for you: {name} raises NotImplementedError ({message})."
            return f"{name} fails with a bug, not an outage, and retrying won't fix it: {kind}: {message}"
    return None


async def diagnose(handle: WorkflowHandle, source: str = "") -> str | None:
    """Why a workflow is not getting anywhere, or None if we can't tell: a failing
    workflow task, an activity retried again and again, or nobody polling its queue."""
    reason = await task_failure(handle, source)
    if reason:
        return reason
    description = (await handle.describe()).raw_description
    reason = _activity_bug(description)
    if reason:
        return reason
    for pending in description.pending_activities:
        if pending.attempt > 1 and pending.HasField("last_failure"):
            return (
                f"{pending.activity_type.name} has failed {pending.attempt - 1} time(s) and "
                f"Temporal keeps retrying it: {pending.last_failure.message}. If that error will "
                "not go away by itself, make it non-retryable, or cap the retries with "
                "maximum_attempts."
            )
    task_queue = description.execution_config.task_queue.name
    if not await _has_pollers(handle, task_queue):
        return no_worker_message(task_queue)
    return None


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


async def wait_for_result(handle: WorkflowHandle, console: Console):
    """The workflow's result; says what is wrong if nothing happens for a while."""
    waiting = asyncio.ensure_future(handle.result())
    done, _ = await asyncio.wait({waiting}, timeout=WORKER_HINT_AFTER)
    if not done:
        reason = await diagnose(handle, _workflow_source())
        console.print(f"[yellow]Still waiting for {handle.id}:[/] {reason or 'is the worker running?'}")
        if reason:
            console.print("Fix it, restart the worker (Ctrl+C, python worker.py), and this run goes on.")
    return await waiting


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


async def follow(handle: WorkflowHandle, console: Console | None = None) -> int:
    """Wait for the workflow, then print the story. Exit status: 0 booked, 1 not."""
    console = console or Console(highlight=False)
    console.print(f"Started workflow [bold]{handle.id}[/].{web_ui_link(handle)}")
    try:
        itinerary = await wait_for_result(handle, console)
        console.print(f"[bold green]Trip booked:[/] {itinerary}")
        code = 0
    except WorkflowFailureError as failure:
        console.print(f"[bold red]Trip not booked:[/] {root_cause(failure)}")
        code = 1
    console.print(await timeline_of(handle))
    console.print(audit())
    return code
