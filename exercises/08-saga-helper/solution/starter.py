"""The starter: asks Temporal to book the trip, then shows what happened. With the
failure switch on, the trip cannot be confirmed, and the customer cancels it while the
saga is still taking the car back."""

from workbook.entry import run_and_exit  # first: a typo in the files below is said in one line

import asyncio

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

from shared import CANCEL_WHILE_UNDOING, TASK_QUEUE, TRIP, WORKFLOW_ID
from workbook import world
from workbook.report import follow
from workbook.server import connect
from workbook.trips import validate_setting, validate_trip
from workflow import BookTripWorkflow

SLOW_RETURN = 3.0  # seconds the car desk takes to take the car back


async def cancel_once_undoing(handle: WorkflowHandle) -> None:
    """The customer cancels the trip while the saga is returning the car."""
    while True:
        pending = (await handle.describe()).raw_description.pending_activities
        if any(p.activity_type.name == "cancel_car" for p in pending):
            await handle.cancel()
            return
        await asyncio.sleep(0.1)


async def book(client: Client) -> int:
    # A typo in shared.py gets a clear message, not a stack trace, before anything is booked.
    validate_trip(TRIP)
    validate_setting("CANCEL_WHILE_UNDOING", CANCEL_WHILE_UNDOING, bool)
    world.reset()  # a fresh travel world, so the audit below shows this trip alone
    if CANCEL_WHILE_UNDOING:  # the last step fails, and returning the car takes a while
        world.inject("confirm_trip", "refuse", message="confirm_trip: the trip can no longer be confirmed")
        world.inject("cancel_car", "slow", seconds=SLOW_RETURN)
    handle = await client.start_workflow(
        BookTripWorkflow.run,
        TRIP,
        id=WORKFLOW_ID,
        task_queue=TASK_QUEUE,
        # An earlier run still stuck on this id is replaced, not waited for.
        id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
    )
    canceller = asyncio.ensure_future(cancel_once_undoing(handle)) if CANCEL_WHILE_UNDOING else None
    try:  # wait for the result, then print it, the saga timeline and the audit
        return await follow(handle)
    finally:
        if canceller:
            canceller.cancel()


async def main() -> int:
    return await book(await connect())


if __name__ == "__main__":
    run_and_exit(main)
