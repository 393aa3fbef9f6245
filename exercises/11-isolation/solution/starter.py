"""The starter: asks Temporal to book the trip, then shows what happened. With the
failure switch on, two trips book the same flight, hotel and car at once, and another
request acts on the first trip's room while its saga is halfway."""

from workbook.entry import run_and_exit  # first: a typo in the files below is said in one line

import asyncio

from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy

from shared import FAILING_TRIP, OTHER_TRIP, TASK_QUEUE, TRIP, TWO_TRIPS_INTERLEAVED, WORKFLOW_ID
from workbook import world
from workbook.report import follow
from workbook.server import connect
from workbook.timeline import root_cause
from workbook.trips import validate_setting, validate_trip
from workflow import BookTripWorkflow, UpgradeRoomWorkflow

STOCK = [  # what the two trips book, and the suites an upgrade takes
    ("flight", TRIP.flight), ("hotel", f"{TRIP.hotel}/{TRIP.room_type}"), ("hotel", f"{TRIP.hotel}/suite"),
    ("car", f"New York/{TRIP.car_type}"),
]  # fmt: skip


async def run(client: Client, workflow, trip, workflow_id: str):
    """Start ``workflow`` for ``trip``; its result, or the reason it failed, as a line."""
    handle = await client.start_workflow(
        workflow, trip, id=workflow_id, task_queue=TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,  # an earlier stuck run is replaced
    )  # fmt: skip
    try:
        return True, await handle.result()
    except WorkflowFailureError as failure:
        return False, root_cause(failure)


async def two_trips(client: Client) -> int:
    first, other = FAILING_TRIP, OTHER_TRIP
    # trip-11-a's car desk stays at work until the other trip and the upgrade are done (at
    # any machine speed), then says no.
    world.inject("book_car", "hold", scope=first.trip_id)
    # (A fault is kept per operation and scope: the refusal's scope is the trip's keys, "trip-11-a:".)
    world.inject("book_car", "refuse", message="book_car: no economy car is left for these dates", scope=f"{first.trip_id}:")
    start = {item: world.available(kind, item) for kind, item in STOCK}
    failing = asyncio.ensure_future(run(client, BookTripWorkflow.run, first, first.trip_id))
    while world.booking(f"{first.trip_id}:hotel") is None and not failing.done():
        await asyncio.sleep(0.1)  # until trip-11-a holds its flight and its room
    print(f"{first.trip_id} holds a flight and a room; its car desk is still working.")
    booked, result = await run(client, BookTripWorkflow.run, other, other.trip_id)
    print(f"{other.trip_id} {'booked: ' if booked else 'not booked: '}{result}")
    upgraded, result = await run(client, UpgradeRoomWorkflow.run, first, f"{first.trip_id}-upgrade")
    print(f"Upgrade of {first.trip_id}'s room {'done: ' + result + ' is now a suite' if upgraded else 'refused: ' + result}")
    world.release("book_car", first.trip_id)
    booked, result = await failing
    print(f"{first.trip_id} {'booked: ' if booked else 'not booked: '}{result}")
    wrong = 0
    for kind, item in STOCK:  # every reservation still taking one must show in the stock
        holding = [r for r in world.reservations() if r.item == item and r.status in world.HOLDING]
        free, expected = world.available(kind, item), start[item] - len(holding)
        wrong += free != expected
        verdict = "exact" if free == expected else f"WRONG: {expected} expected, a booking was lost"
        print(f"  {item:<20} {start[item]:>3} at the start, {len(holding)} booked, {free:>3} free: {verdict}")
    acted = [u for u in world.upgrades() if not u.trip_confirmed]
    print(f"Upgrades of a booking whose trip was not confirmed: {len(acted)}")
    print("Stock: exact." if not wrong else f"Stock: {wrong} item(s) wrong.")
    return 0 if not wrong and not acted else 1


async def book(client: Client) -> int:
    # A typo in shared.py gets a clear message, not a stack trace, before anything is booked.
    validate_trip(TRIP)
    validate_setting("TWO_TRIPS_INTERLEAVED", TWO_TRIPS_INTERLEAVED, bool)
    world.reset()  # a fresh travel world, so the audit below shows these trips alone
    if TWO_TRIPS_INTERLEAVED:
        return await two_trips(client)
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
