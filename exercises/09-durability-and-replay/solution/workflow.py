"""The trip-booking saga of exercise 08, and one new step: the confirmation email.

Temporal runs this code again from the start whenever a worker must rebuild a workflow
(after a crash, a restart, or when its cache is full): it *replays* the event history,
and each activity call must meet the event it made the first time. So code that trips
in flight, or in history, were recorded with must keep making the same calls in the
same order. A new step is added behind `workflow.patched(...)`: runs recorded without
it replay without it, and new runs take it.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from saga import Saga, SagaCompensationError

with workflow.unsafe.imports_passed_through():
    from activities import (
        book_car, book_flight, book_hotel, cancel_car, cancel_flight, cancel_hotel,
        charge_payment, confirm_trip, flag_for_attention, refund_payment, send_confirmation_email,
    )  # fmt: skip
    from workbook.trips import Itinerary, TripRequest

# A step gets a few attempts: outages pass, business errors fail at once (activities.py).
# A slow step heartbeats; when its worker dies (kill -9) the heartbeats stop, and after
# 2 s Temporal retries the step on a worker that is up, instead of waiting out the 60 s.
STEP = dict(
    start_to_close_timeout=timedelta(seconds=60),
    heartbeat_timeout=timedelta(seconds=2),
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),
)
# An undo must not give up on an outage: it retries until it succeeds.
UNDO = dict(
    start_to_close_timeout=timedelta(seconds=10),
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1)),
)
# The email is auxiliary (exercise 05): a few attempts, and the trip stands without it.
EMAIL = dict(
    start_to_close_timeout=timedelta(seconds=10),
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),
)
# The patch's name is recorded in the history of every run that took the new path (a
# marker event), so a replay of that run takes it again. Never rename it.
EMAIL_PATCH = "send-confirmation-email"


@workflow.defn
class BookTripWorkflow:
    @workflow.run
    async def run(self, trip: TripRequest) -> Itinerary:
        try:
            # Every undo runs, even after one failed: the others still hold the customer's money.
            async with Saga(UNDO, continue_with_error=True) as saga:
                saga.add(cancel_flight, trip)
                flight = await workflow.execute_activity(book_flight, trip, **STEP)
                saga.add(cancel_hotel, trip)
                hotel = await workflow.execute_activity(book_hotel, trip, **STEP)
                saga.add(cancel_car, trip)
                car = await workflow.execute_activity(book_car, trip, **STEP)
                saga.add(refund_payment, trip)
                payment = await workflow.execute_activity(charge_payment, trip, **STEP)
                await workflow.execute_activity(confirm_trip, trip, **STEP)
        except SagaCompensationError as err:  # an undo failed for good: a person settles it
            await workflow.execute_activity(flag_for_attention, args=[trip, err.message], **UNDO)
            raise
        # TODO Part B: trips booked before the email existed ran straight from confirm_trip
        # to the end, and must replay that way: send the email only
        # `if workflow.patched(EMAIL_PATCH):` (False when replaying a run recorded without it).
        if workflow.patched(EMAIL_PATCH):
            await self.send_email(trip)
        return Itinerary(trip.trip_id, flight, hotel, car, payment)

    async def send_email(self, trip: TripRequest) -> None:
        """After the pivot: an email that cannot be sent is a notice, never an undo."""
        try:
            await workflow.execute_activity(send_confirmation_email, trip, **EMAIL)
        except ActivityError as err:
            workflow.logger.warning(f"confirmation email not sent: {err.cause or err}")
