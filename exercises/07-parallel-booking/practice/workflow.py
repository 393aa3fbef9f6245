"""The trip-booking saga, with the flight, the hotel and the car booked at once.

The three bookings don't depend on each other, so the saga starts them together and
waits for all three; the payment, which charges for everything the trip holds, comes
after them. When one booking fails, the others may still be in flight: a car desk can
still be working when the hotel says no. The saga waits until every booking has
settled (gather with return_exceptions=True), so none is forgotten, and only then
undoes what was done. Undoing an in-flight car at once would find nothing to cancel,
and the car booked a moment later would stay held.

The undos are kept in groups: the undos of steps that ran side by side form one group.
The groups run newest first, one after another (the payment's undo before the
bookings'), and the undos within a group run together. Cancellation and undos that
fail for good are handled as in exercise 06.
"""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities import (
        book_car, book_flight, book_hotel, cancel_car, cancel_flight, cancel_hotel,
        charge_payment, confirm_trip, flag_for_attention, refund_payment,
    )  # fmt: skip
    from workbook.trips import Itinerary, TripRequest

# A step gets a few attempts: outages pass, business errors fail at once (activities.py).
# The heartbeat timeout notices a desk that went silent. If the trip is cancelled while a
# booking runs, wait until the desk confirms it stopped: only then is it safe to undo.
STEP = dict(
    start_to_close_timeout=timedelta(seconds=60),
    heartbeat_timeout=timedelta(seconds=5),
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),
    cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
)
# An undo must not give up on an outage: it retries until it succeeds.
UNDO = dict(
    start_to_close_timeout=timedelta(seconds=10),
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1)),
)


@workflow.defn
class BookTripWorkflow:
    @workflow.run
    async def run(self, trip: TripRequest) -> Itinerary:
        compensations = []  # groups of undos of the steps started so far, oldest first
        try:
            # TODO Part B: register the three undos as one group, then start the three
            # bookings together and wait until every one has settled (asyncio.gather with
            # return_exceptions=True). If any failed, raise its error.
            compensations.append([cancel_flight])
            flight = await workflow.execute_activity(book_flight, trip, **STEP)
            compensations.append([cancel_hotel])
            hotel = await workflow.execute_activity(book_hotel, trip, **STEP)
            compensations.append([cancel_car])
            car = await workflow.execute_activity(book_car, trip, **STEP)
            compensations.append([refund_payment])
            payment = await workflow.execute_activity(charge_payment, trip, **STEP)
            await workflow.execute_activity(confirm_trip, trip, **STEP)
            return Itinerary(trip.trip_id, flight, hotel, car, payment)
        except (Exception, asyncio.CancelledError):
            workflow.logger.info("Booking stopped; running %d groups of undos", len(compensations))
            failed = await run_to_the_end(undo_all(trip, compensations))
            if failed:
                reason = "; ".join(failed)
                await workflow.execute_activity(flag_for_attention, args=[trip, reason], **UNDO)
                raise ApplicationError(f"compensation failed: {reason}; the trip needs a person")
            raise  # a cancel ends the workflow Canceled; a failed step ends it Failed


async def run_to_the_end(undos):
    """Await ``undos`` to the end, even if the customer cancels while they run."""
    running = asyncio.ensure_future(undos)
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        return await running  # the booking failed anyway: finish undoing, then report it


async def undo_all(trip: TripRequest, compensations: list[list]) -> list[str]:
    """Run the groups of undos newest first, one group after another; the undos of one
    group run together. Return the undos that failed for good."""
    failed = []

    async def undo(activity) -> None:  # each undo in a try of its own, as in exercise 06
        try:
            await workflow.execute_activity(activity, trip, **UNDO)
        except ActivityError as err:
            failed.append(f"{activity.__name__} ({err.cause.message if err.cause else err})")

    for group in reversed(compensations):
        # TODO Part C: run the undos of one group together (asyncio.gather), not one by one.
        for activity in group:
            await undo(activity)
    return failed
