"""The saga timeline reads the real event history: which activities ran, in which order,
which were compensations, how many attempts they took, and how the workflow ended."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from rich.console import Console
from temporalio.client import WorkflowFailureError
from temporalio.worker import Worker

from workbook.loader import loaded
from workbook.timeline import fetch_timeline, timeline_from_events

FOLDER = Path(__file__).parent / "fixtures" / "timeline_saga"


@pytest.fixture
def saga():
    with loaded(FOLDER) as modules:
        yield modules


def worker(env, saga, queue: str) -> Worker:
    acts = saga.activities
    return Worker(
        env.client,
        task_queue=queue,
        workflows=[saga.workflow.TinySaga, saga.workflow.RetriedStep],
        activities=[acts.book_x, acts.book_y, acts.cancel_x, acts.flaky],
        workflow_failure_exception_types=[Exception],  # a broken workflow fails fast
    )


async def test_failed_saga_shows_steps_then_compensation(env, saga):
    queue, workflow_id = f"timeline-{uuid.uuid4()}", f"tiny-saga-{uuid.uuid4()}"
    async with worker(env, saga, queue):
        with pytest.raises(WorkflowFailureError):
            await env.client.execute_workflow(
                saga.workflow.TinySaga.run, "t1", id=workflow_id, task_queue=queue
            )

    timeline = await fetch_timeline(env.client, workflow_id)
    assert timeline.status == "Failed"
    assert timeline.activities == ["book_x", "book_y", "cancel_x"]
    assert timeline.steps == ["book_x", "book_y"]
    assert timeline.compensations == ["cancel_x"]
    assert [r.outcome for r in timeline.runs] == ["completed", "failed", "completed"]
    assert saga.activities.REFUSAL in timeline.runs[1].error
    assert saga.activities.REFUSAL in timeline.failure

    console = Console(record=True, width=120, file=io.StringIO())
    console.print(timeline)
    assert "↩ cancel_x" in console.export_text()
    page = timeline._repr_html_()
    assert "<table" in page and "cancel_x" in page
    assert "↩cancel_x" in str(timeline)


async def test_retried_activity_counts_its_attempts(env, saga):
    queue, workflow_id = f"timeline-{uuid.uuid4()}", f"retried-{uuid.uuid4()}"
    async with worker(env, saga, queue):
        result = await env.client.execute_workflow(
            saga.workflow.RetriedStep.run, "t1", id=workflow_id, task_queue=queue
        )
    assert result == "worked"

    timeline = await fetch_timeline(env.client, workflow_id)
    assert timeline.status == "Completed"
    [run] = timeline.runs
    assert (run.name, run.outcome, run.attempts) == ("flaky", "completed", 3)
    assert timeline.compensations == []


def test_no_events_yet_means_running():
    timeline = timeline_from_events("not-started", [])
    assert timeline.status == "Running"
    assert timeline.runs == [] and timeline.activities == []
    console = Console(record=True, width=120, file=io.StringIO())
    console.print(timeline)
    assert "no activities ran" in console.export_text()


def test_a_cancel_reads_the_same_whether_or_not_the_activity_confirmed_it():
    """Exercise 06's cancelled car: the workflow asked the desk to stop and went on; whether
    the desk's confirmation reached history before the workflow closed is a race (it did
    under load), so the README's picture must not depend on it."""
    from workbook.timeline import ActivityRun, Timeline

    pictures = []
    for outcome in ("running", "cancelled"):
        timeline = Timeline("trip-06", "Canceled", [ActivityRun("book_car", outcome=outcome, cancel_requested=True)])
        console = Console(record=True, width=120, file=io.StringIO())
        console.print(timeline)
        pictures.append(console.export_text())
    assert pictures[0] == pictures[1] and "! cancel requested" in pictures[0]
