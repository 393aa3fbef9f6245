"""The starter: asks Temporal to book the trip, then shows what happened. With the
failure switches on, it plays the customer who cancels, and the bank that will not refund."""

from workbook.entry import run_and_exit  # first: a typo in the files below is said in one line

import asyncio

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

from shared import CANCEL_DURING_CAR, REFUND_REFUSED, TASK_QUEUE, TRIP, WORKFLOW_ID
from workbook import world
from workbook.report import follow
from workbook.server import connect
from workbook.trips import validate_setting, validate_trip
from workflow import BookTripWorkflow


async def cancel_once_car_started(handle: WorkflowHandle) -> None:
    """The customer changes their mind while the car is being booked."""
    while True:
        pending = (await handle.describe()).raw_description.pending_activities
        if any(p.activity_type.name == "book_car" for p in pending):
            await handle.cancel()
            return
        await asyncio.sleep(0.1)


async def book(client: Client) -> int:
    # A typo in shared.py gets a clear message, not a stack trace, before anything is booked.
    validate_trip(TRIP)
    validate_setting("CANCEL_DURING_CAR", CANCEL_DURING_CAR, bool)
    validate_setting("REFUND_REFUSED", REFUND_REFUSED, bool)
    world.reset()  # a fresh travel world, so the audit below shows this trip alone
    if CANCEL_DURING_CAR:  # the car rental desk is slow: time enough to change one's mind
        world.inject("book_car", "slow")
    if REFUND_REFUSED:  # the bank says no to the refund, however often it is asked
        world.inject("refund", "refuse", message="refund refused: the charge can no longer be refunded")
        if not CANCEL_DURING_CAR:  # something must fail after the payment for a refund to be needed
            world.inject("confirm_trip", "refuse", message="confirm_trip: the trip can no longer be confirmed")
    handle = await client.start_workflow(
        BookTripWorkflow.run,
        TRIP,
        id=WORKFLOW_ID,
        task_queue=TASK_QUEUE,
        # An earlier run still stuck on this id is replaced, not waited for.
        id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
    )
    canceller = asyncio.ensure_future(cancel_once_car_started(handle)) if CANCEL_DURING_CAR else None
    try:  # wait for the result, then print it, the saga timeline and the audit
        return await follow(handle)
    finally:
        if canceller:
            canceller.cancel()


async def main() -> int:
    return await book(await connect())


if __name__ == "__main__":
    run_and_exit(main)
