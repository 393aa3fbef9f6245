"""The trip booking as a Temporal workflow: five steps, each one an activity.

The workflow decides what happens and in which order; the activities (activities.py)
do the work. Temporal records every step in the workflow's event history, so the
booking survives a worker restart, and it retries a failed step for you. What it does
not do is undo anything: when the car fails, the flight and the hotel stay booked.
That is what exercise 03 is for.

Workflow code must be deterministic (it is replayed from its history), so it never
calls the travel world itself: only activities do.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities import book_car, book_flight, book_hotel, charge_payment, confirm_trip
    from workbook.trips import Itinerary, TripRequest

# TODO Part B: define STEP, the options every step gets: a start_to_close_timeout (how
# long one attempt may run before Temporal gives up on it and tries again) and a
# retry_policy (how long to wait between attempts, and how many attempts at most).


@workflow.defn
class BookTripWorkflow:
    @workflow.run
    async def run(self, trip: TripRequest) -> Itinerary:
        # Each call asks Temporal to run one activity and waits for its result. If a step
        # still fails after its retries, the error ends the workflow: it is Failed.
        # TODO Part B: pass the options to every call, e.g.
        # workflow.execute_activity(book_flight, trip, **STEP)
        flight = await workflow.execute_activity(book_flight, trip)
        hotel = await workflow.execute_activity(book_hotel, trip)
        car = await workflow.execute_activity(book_car, trip)
        payment = await workflow.execute_activity(charge_payment, trip)
        await workflow.execute_activity(confirm_trip, trip)
        return Itinerary(trip.trip_id, flight, hotel, car, payment)
