"""The trip-booking saga under test: exercise 03's saga plus exercise 05's pivot and
auxiliary steps, unchanged. In this exercise you change nothing here: you test it.

The critical steps (flight, hotel, car, payment, and confirm_trip, the pivot) either all
happen or are all undone, as in exercise 03. Once confirm_trip has completed, the trip
is booked for good. What follows is auxiliary (the confirmation email, the loyalty
points): each gets a few attempts, and if it still fails, the failure is recorded as a
notice in the result for a person to follow up. It is never compensated (that would
cancel a confirmed trip over an email) and never re-raised (the trip *is* booked).
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities import (
        award_loyalty_points, book_car, book_flight, book_hotel, cancel_car, cancel_flight,
        cancel_hotel, charge_payment, confirm_trip, refund_payment, send_confirmation_email,
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
# Auxiliary steps get a bounded retry: a few attempts, then give up, so a service that
# stays down cannot keep a booked trip's workflow open.
AUX = dict(
    start_to_close_timeout=timedelta(seconds=10),
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),
)


@workflow.defn
class BookTripWorkflow:
    @workflow.run
    async def run(self, trip: TripRequest) -> Itinerary:
        compensations = []  # the undos of the steps started so far, oldest first
        try:
            compensations.append(cancel_flight)
            flight = await workflow.execute_activity(book_flight, trip, **STEP)
            compensations.append(cancel_hotel)
            hotel = await workflow.execute_activity(book_hotel, trip, **STEP)
            compensations.append(cancel_car)
            car = await workflow.execute_activity(book_car, trip, **STEP)
            compensations.append(refund_payment)
            payment = await workflow.execute_activity(charge_payment, trip, **STEP)
            # The pivot: a failure up to here undoes everything; once it completes, nothing.
            await workflow.execute_activity(confirm_trip, trip, **STEP)
        except Exception:
            workflow.logger.info("Booking failed; running %d compensations", len(compensations))
            for undo in reversed(compensations):
                await workflow.execute_activity(undo, trip, **UNDO)
            raise  # the trip was not booked: the workflow ends Failed

        # Past the pivot: the trip is confirmed. From here on, a failure is news, not a rollback.
        itinerary = Itinerary(trip.trip_id, flight, hotel, car, payment)
        # The confirmation email: if it still fails after its attempts, a notice for a
        # person, not a compensation and not an error (the trip *is* booked).
        try:
            await workflow.execute_activity(send_confirmation_email, trip, **AUX)
        except Exception:
            itinerary.notices.append("confirmation email not sent: send it by hand")
        # The loyalty points the same way, in a try of their own, so an email that fails
        # does not cost the customer their points.
        try:
            await workflow.execute_activity(award_loyalty_points, trip, **AUX)
        except Exception:
            itinerary.notices.append("loyalty points not awarded: credit them by hand")
        return itinerary
