"""The starter: asks Temporal to book the trip, then shows what happened. With the
failure switch on, the hotel desk is slow, and the starter tells you when to crash the
worker and how: the trip must still be booked, each booking made once."""

from workbook.entry import run_and_exit  # first: a typo in the files below is said in one line

import asyncio

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

from shared import SLOW_HOTEL_SECONDS, TASK_QUEUE, TRIP, WORKFLOW_ID
from workbook import world
from workbook.report import follow
from workbook.server import connect
from workbook.trips import validate_count, validate_trip
from workflow import BookTripWorkflow


async def say_when_to_crash(handle: WorkflowHandle) -> None:
    """Once the slow book_hotel runs (it has sent a heartbeat), name the worker running
    it (its identity is 'process id@host'), so you can crash that very process."""
    while True:
        pending = (await handle.describe()).raw_description.pending_activities
        hotel = [p for p in pending if p.activity_type.name == "book_hotel"]
        running = [p for p in hotel if p.HasField("last_heartbeat_time")]
        if running:
            pid = running[0].last_worker_identity.split("@")[0]
            print(f"book_hotel is running, slowly. Crash its worker now: kill -9 {pid}", flush=True)
            print("Then start the worker again (python worker.py), and watch this trip go on.", flush=True)
            return
        await asyncio.sleep(0.2)


async def book(client: Client) -> int:
    # A typo in shared.py gets a clear message, not a stack trace, before anything is booked.
    validate_trip(TRIP)
    validate_count("SLOW_HOTEL_SECONDS", SLOW_HOTEL_SECONDS, most=120)
    world.reset()  # a fresh travel world, so the audit below shows this trip alone
    if SLOW_HOTEL_SECONDS:  # slow the first attempt only: the retry after a crash is quick
        world.inject("book_hotel", "slow", times=1, seconds=SLOW_HOTEL_SECONDS)
    handle = await client.start_workflow(
        BookTripWorkflow.run,
        TRIP,
        id=WORKFLOW_ID,
        task_queue=TASK_QUEUE,
        # An earlier run still stuck on this id is replaced, not waited for.
        id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
    )
    teller = asyncio.ensure_future(say_when_to_crash(handle)) if SLOW_HOTEL_SECONDS else None
    try:  # wait for the result, then print it, the saga timeline and the audit
        return await follow(handle)
    finally:
        if teller:
            teller.cancel()


async def main() -> int:
    return await book(await connect())


if __name__ == "__main__":
    run_and_exit(main)
