"""The saga timeline: which activities ran, in which order, and how each ended.

Drawn from the workflow's real event history, so what you see is what Temporal recorded:
steps, then (after a failure) compensations, marked with ↩. Prints as a rich table in
the terminal and as an HTML table in a notebook.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

COMPENSATION_PREFIXES = ("cancel_", "refund", "undo_", "release_", "compensate_", "void_")  # void_: exercise 13

_ACTIVITY_ENDINGS = {
    "activity_task_completed_event_attributes": "completed",
    "activity_task_failed_event_attributes": "failed",
    "activity_task_timed_out_event_attributes": "timed out",
    "activity_task_canceled_event_attributes": "cancelled",
}
_WORKFLOW_ENDINGS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "Completed",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "Failed",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "Canceled",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "Terminated",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "TimedOut",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "ContinuedAsNew",
}


def is_compensation(activity_name: str) -> bool:
    return activity_name.startswith(COMPENSATION_PREFIXES)


@dataclass
class ActivityRun:
    name: str
    outcome: str = "running"  # completed, failed, timed out, cancelled, running
    attempts: int = 1
    error: str = ""
    # What the checks read to judge a saga: where in history it was scheduled and
    # closed (event ids), the type and stack of its root error, and how many attempts
    # its retry policy allowed (0: no limit).
    scheduled_event: int = 0
    closed_event: int = 0
    error_type: str = ""
    stack: str = ""
    max_attempts: int = 0
    budget: float = 0.0  # its schedule_to_close_timeout in seconds (0: none given)
    cancel_requested: bool = False  # the workflow asked for it to be cancelled

    @property
    def bounded(self) -> bool:
        """Do its retries end without success: a maximum of attempts, or a time budget
        (shorter than ten minutes: the server fills in the workflow's own when none is given)?"""
        return bool(self.max_attempts) or 0 < self.budget <= 600

    @property
    def compensation(self) -> bool:
        return is_compensation(self.name)


@dataclass
class Timeline:
    workflow_id: str
    status: str  # Running, Completed, Failed, Canceled, Terminated, TimedOut
    runs: list[ActivityRun] = field(default_factory=list)
    failure: str = ""

    @property
    def activities(self) -> list[str]:
        """Every activity in the order it was scheduled."""
        return [r.name for r in self.runs]

    @property
    def steps(self) -> list[str]:
        return [r.name for r in self.runs if not r.compensation]

    @property
    def compensations(self) -> list[str]:
        return [r.name for r in self.runs if r.compensation]

    def _rows(self):
        for number, run in enumerate(self.runs, 1):
            # The workflow asked it to stop (a cancel): whether the activity had confirmed it
            # by the time the workflow closed is a race the reader need not see.
            stopped = run.cancel_requested and run.outcome in ("running", "cancelled")
            outcome = "cancel requested" if stopped else run.outcome
            mark = {"completed": "✓", "failed": "✗", "running": "…"}.get(outcome, "!")
            name = f"↩ {run.name}" if run.compensation else run.name
            tries = f"{run.attempts} attempts" if run.attempts > 1 else ""
            yield number, name, f"{mark} {outcome}", tries, run.error

    def __rich__(self):
        from rich.table import Table

        colour = {"Completed": "green", "Failed": "red"}.get(self.status, "yellow")
        table = Table(
            title=f"Saga timeline of {self.workflow_id}: [{colour}]{self.status}[/]",
            caption="↩ marks a compensation" if self.compensations else None,
        )
        for column in ("#", "activity", "result", "tries", "error"):
            table.add_column(column, overflow="fold")
        for number, name, result, tries, error in self._rows():
            style = "cyan" if name.startswith("↩") else None
            table.add_row(str(number), name, result, tries, error, style=style)
        if not self.runs:
            table.add_row("", "(no activities ran)", "", "", "")
        return table

    def _repr_html_(self) -> str:
        colour = {"Completed": "#1a7f37", "Failed": "#cf222e"}.get(self.status, "#9a6700")
        rows = "".join(
            f"<tr style='{'background:#eef6ff' if row[1].startswith('↩') else ''}'>"
            + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row)
            + "</tr>"
            for row in self._rows()
        )
        return (
            f"<b>Saga timeline of {html.escape(self.workflow_id)}: "
            f"<span style='color:{colour}'>{self.status}</span></b>"
            "<table><tr><th>#</th><th>activity</th><th>result</th><th>tries</th>"
            f"<th>error</th></tr>{rows}</table>"
        )

    def __str__(self) -> str:
        arrow = " → ".join(
            f"{'↩' if r.compensation else ''}{r.name} {'✓' if r.outcome == 'completed' else '✗'}"
            for r in self.runs
        )
        return f"{self.workflow_id} [{self.status}]: {arrow or '(no activities)'}"

    __repr__ = __str__


def timeline_from_events(workflow_id: str, events) -> Timeline:
    """Build a Timeline from history events (e.g. ``WorkflowHistory.events``)."""
    timeline = Timeline(workflow_id=workflow_id, status="Running")
    by_scheduled_id: dict[int, ActivityRun] = {}
    for event in events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            scheduled = event.activity_task_scheduled_event_attributes
            run = ActivityRun(scheduled.activity_type.name, scheduled_event=event.event_id)
            run.max_attempts = scheduled.retry_policy.maximum_attempts
            run.budget = scheduled.schedule_to_close_timeout.ToTimedelta().total_seconds()
            by_scheduled_id[event.event_id] = run
            timeline.runs.append(run)
        elif event.HasField("activity_task_started_event_attributes"):
            started = event.activity_task_started_event_attributes
            by_scheduled_id[started.scheduled_event_id].attempts = started.attempt
        elif event.HasField("activity_task_cancel_requested_event_attributes"):
            requested = event.activity_task_cancel_requested_event_attributes
            by_scheduled_id[requested.scheduled_event_id].cancel_requested = True
        else:
            for attribute, outcome in _ACTIVITY_ENDINGS.items():
                if event.HasField(attribute):
                    ending = getattr(event, attribute)
                    run = by_scheduled_id[ending.scheduled_event_id]
                    run.outcome, run.closed_event = outcome, event.event_id
                    if outcome in ("failed", "timed out"):
                        root = _root(ending.failure)
                        run.error, run.stack = root.message, root.stack_trace
                        run.error_type = root.application_failure_info.type
        if event.event_type in _WORKFLOW_ENDINGS:
            timeline.status = _WORKFLOW_ENDINGS[event.event_type]
            if event.HasField("workflow_execution_failed_event_attributes"):
                timeline.failure = _innermost(
                    event.workflow_execution_failed_event_attributes.failure
                )
    return timeline


def _root(failure):
    """The root cause of a failure proto: 'no suv car is left', not 'Activity task failed'."""
    while failure.HasField("cause"):
        failure = failure.cause
    return failure


def _innermost(failure) -> str:
    return _root(failure).message


def root_cause(error: BaseException) -> str:
    """The same for a Python exception chain (e.g. a WorkflowFailureError)."""
    while error.__cause__ is not None:
        error = error.__cause__
    return getattr(error, "message", None) or str(error)


async def timeline_of(handle: WorkflowHandle, data_converter=None) -> Timeline:
    """Read a workflow's history from the server and turn it into a Timeline. With the
    ``data_converter`` of a client whose codec encrypts failures (the capstone's), their
    messages are decrypted first: the server holds only "Encoded failure"."""
    history = await handle.fetch_history()
    if data_converter is not None:
        await decode_failures(history.events, data_converter)
    return timeline_from_events(handle.id, history.events)


_FAILURES = ("activity_task_failed_event_attributes", "workflow_execution_failed_event_attributes",
             "activity_task_timed_out_event_attributes", "workflow_task_failed_event_attributes")  # fmt: skip


async def decode_failures(events, data_converter) -> None:
    """Decrypt, in place, the failures in ``events`` that a codec encrypted (their message and
    stack trace are in encoded_attributes, as DefaultFailureConverterWithEncodedAttributes writes)."""
    codec = data_converter.payload_codec
    if codec is None:
        return
    for event in events:
        for name in _FAILURES:
            if event.HasField(name):
                failure = getattr(event, name).failure
                await codec.decode_failure(failure)
                while True:
                    if failure.HasField("encoded_attributes"):
                        attributes = data_converter.payload_converter.from_payload(failure.encoded_attributes)
                        failure.message = attributes.get("message", failure.message)
                        failure.stack_trace = attributes.get("stack_trace", failure.stack_trace)
                        failure.ClearField("encoded_attributes")
                    if not failure.HasField("cause"):
                        break
                    failure = failure.cause


async def fetch_timeline(client: Client, workflow_id: str, run_id: str | None = None) -> Timeline:
    """The Timeline of a workflow by id (its latest run unless run_id is given)."""
    return await timeline_of(client.get_workflow_handle(workflow_id, run_id=run_id))
