"""What a starter prints after it starts a workflow: the result, the timeline, the audit."""

from __future__ import annotations

import asyncio

from rich.console import Console
from temporalio.client import WorkflowFailureError, WorkflowHandle

from workbook.audit import audit
from workbook.timeline import root_cause, timeline_of

WORKER_HINT_AFTER = 5.0  # seconds without a result before we suspect no worker is running


async def wait_for_result(handle: WorkflowHandle, console: Console):
    """The workflow's result; says what to check if nothing happens for a while."""
    waiting = asyncio.ensure_future(handle.result())
    done, _ = await asyncio.wait({waiting}, timeout=WORKER_HINT_AFTER)
    if not done:
        console.print(
            f"[yellow]Still waiting for {handle.id}.[/] Is the worker running? "
            "Start it in another terminal with: [bold]python worker.py[/]"
        )
    return await waiting


async def follow(handle: WorkflowHandle, console: Console | None = None) -> int:
    """Wait for the workflow, then print the story. Exit status: 0 booked, 1 not."""
    console = console or Console(highlight=False)
    console.print(f"Started workflow [bold]{handle.id}[/]. Web UI: http://localhost:8233")
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
