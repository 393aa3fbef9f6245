"""The trip-booking saga: every step registers its undo first; a failure undoes them all.

Why register *before* the step? A step can do its work and still fail to tell us (the
reply is lost, the worker dies). Its undo is safe to run when nothing happened (the
travel world's cancels are no-ops then), so registering early never hurts and registering
late can leave a reservation nobody undoes.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities import (
        book_car, book_flight, book_hotel, cancel_car, cancel_flight, cancel_hotel,
        charge_payment, confirm_trip, refund_payment,
    )  # fmt: skip
    from workbook.trips import Itinerary, TripRequest

# A step gets a few attempts: outages pass, business errors fail at once (activities.py).
STEP = dict(
    start_to_close_timeout=timedelta(seconds=10),
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),
)
# An undo must not give up: it retries until it succeeds.
UNDO = dict(
    start_to_close_timeout=timedelta(seconds=10),
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1)),
)


@workflow.defn
class BookTripWorkflow:
    @workflow.run
    async def run(self, trip: TripRequest) -> Itinerary:
        compensations = []  # the undos of the steps started so far, oldest first
        try:
            # TODO Part B: register the flight's undo (cancel_flight) before booking it.
            compensations.append(cancel_flight)
            flight = await workflow.execute_activity(book_flight, trip, **STEP)

            # TODO Part B: register the hotel's undo before booking it.
            compensations.append(cancel_hotel)
            hotel = await workflow.execute_activity(book_hotel, trip, **STEP)

            # TODO Part B: register the car's undo before booking it.
            compensations.append(cancel_car)
            car = await workflow.execute_activity(book_car, trip, **STEP)

            # TODO Part B: register the payment's undo (refund_payment) before charging.
            compensations.append(refund_payment)
            payment = await workflow.execute_activity(charge_payment, trip, **STEP)

            await workflow.execute_activity(confirm_trip, trip, **STEP)
            return Itinerary(trip.trip_id, flight, hotel, car, payment)
        except Exception:
            workflow.logger.info("Booking failed; running %d compensations", len(compensations))
            # TODO Part B: run every registered undo, newest first, and wait for each.
            for undo in reversed(compensations):
                await workflow.execute_activity(undo, trip, **UNDO)
            # Re-raise so the workflow ends Failed: the trip was not booked.
            raise
