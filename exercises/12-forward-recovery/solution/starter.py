"""The starter: asks Temporal to book the trip, then shows what happened. With a failure
switch on, it plays a car rental that is down, or an airline ticket desk that is down for
a while. The breaker lives in the worker, so it remembers the car rental's failures from
one run of the starter to the next: keep the worker running between runs."""

from workbook.entry import run_and_exit  # first: a typo in the files below is said in one line

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from shared import CAR_RENTAL_DOWN, TASK_QUEUE, TICKET_DESK_DOWN, TRIP, WORKFLOW_ID
from workbook import world
from workbook.report import follow
from workbook.server import connect
from workbook.trips import validate_setting, validate_trip
from workflow import BookTripWorkflow

TICKET_DESK_OUTAGE = 3  # the ticket desk's first three calls fail; the fourth works


async def book(client: Client) -> int:
    # A typo in shared.py gets a clear message, not a stack trace, before anything is booked.
    validate_trip(TRIP)
    validate_setting("CAR_RENTAL_DOWN", CAR_RENTAL_DOWN, bool)
    validate_setting("TICKET_DESK_DOWN", TICKET_DESK_DOWN, bool)
    world.reset()  # a fresh travel world, so the audit below shows this trip alone
    if CAR_RENTAL_DOWN:
        world.inject("book_car", "fail", message="book_car: the car rental is down (injected)")
    if TICKET_DESK_DOWN:
        world.inject("issue_tickets", "fail", times=TICKET_DESK_OUTAGE,
                     message="issue_tickets: the airline's ticket desk is down (injected)")  # fmt: skip
    handle = await client.start_workflow(
        BookTripWorkflow.run,
        TRIP,
        id=WORKFLOW_ID,
        task_queue=TASK_QUEUE,
        # An earlier run still stuck on this id is replaced, not waited for.
        id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
    )
    # Wait for the result, then print it, the saga timeline and the audit.
    return await follow(handle)


async def main() -> int:
    return await book(await connect())


if __name__ == "__main__":
    run_and_exit(main)
