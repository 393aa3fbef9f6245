"""The starter: asks Temporal to book the trip, then shows what happened."""

from workbook.entry import run_and_exit  # first: a typo in the files below is said in one line

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from shared import EMAIL_SERVICE_DOWN, TASK_QUEUE, TRIP, WORKFLOW_ID
from workbook import world
from workbook.report import follow
from workbook.server import connect
from workbook.trips import validate_setting, validate_trip
from workflow import BookTripWorkflow


async def book(client: Client) -> int:
    # A typo in shared.py gets a clear message, not a stack trace, before anything is booked.
    validate_trip(TRIP)
    validate_setting("EMAIL_SERVICE_DOWN", EMAIL_SERVICE_DOWN, bool)
    world.reset()  # a fresh travel world, so the audit below shows this trip alone
    if EMAIL_SERVICE_DOWN:  # the failure switch: every email fails, however often it is retried
        world.inject("send_email", "fail")
    handle = await client.start_workflow(
        BookTripWorkflow.run,
        TRIP,
        id=WORKFLOW_ID,
        task_queue=TASK_QUEUE,
        # An earlier run still stuck on this id is replaced, not waited for.
        id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
    )
    # Wait for the result, then print it (with its notices), the saga timeline and the audit.
    return await follow(handle)


async def main() -> int:
    return await book(await connect())


if __name__ == "__main__":
    run_and_exit(main)
