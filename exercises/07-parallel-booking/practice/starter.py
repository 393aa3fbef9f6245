"""The starter: asks Temporal to book the trip, then shows what happened. With the
failure switch on, it plays a hotel desk that says no while the car desk still works."""

from workbook.entry import run_and_exit  # first: a typo in the files below is said in one line

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from shared import HOTEL_FAILS_WHILE_CAR_BOOKS, TASK_QUEUE, TRIP, WORKFLOW_ID
from workbook import world
from workbook.report import follow
from workbook.server import connect
from workbook.trips import validate_setting, validate_trip
from workflow import BookTripWorkflow

HOTEL_SECONDS = 1.0  # the hotel desk answers (no) after a second...
CAR_SECONDS = 3.0  # ...while the car desk needs three: the car is still in flight


def hotel_fails_while_car_books() -> None:
    """The flight is booked at once; the hotel refuses after a second, for good; the car
    is booked two seconds later, long after the hotel's failure reached the workflow."""
    world.inject("book_hotel", "slow", seconds=HOTEL_SECONDS, scope=TRIP.trip_id)
    world.inject("book_hotel", "refuse", message="book_hotel: no deluxe room is left for these dates")
    world.inject("book_car", "slow", seconds=CAR_SECONDS)


async def book(client: Client) -> int:
    # A typo in shared.py gets a clear message, not a stack trace, before anything is booked.
    validate_trip(TRIP)
    validate_setting("HOTEL_FAILS_WHILE_CAR_BOOKS", HOTEL_FAILS_WHILE_CAR_BOOKS, bool)
    world.reset()  # a fresh travel world, so the audit below shows this trip alone
    if HOTEL_FAILS_WHILE_CAR_BOOKS:
        hotel_fails_while_car_books()
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
