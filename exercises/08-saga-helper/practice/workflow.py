"""The trip-booking saga, booked through the Saga helper (saga.py).

Compare it with exercise 06's workflow.py: the compensations list, the except block that
catches a cancel as well as a failure, the shielded undo loop with a try per undo and
the list of failures are all in the helper now. What is left is the trip itself: each
step with its undo added just before it, and what to do when an undo fails for good.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from saga import Saga, SagaCompensationError

with workflow.unsafe.imports_passed_through():
    from activities import (
        book_car, book_flight, book_hotel, cancel_car, cancel_flight, cancel_hotel,
        charge_payment, confirm_trip, flag_for_attention, refund_payment,
    )  # fmt: skip
    from workbook.trips import Itinerary, TripRequest

# A step gets a few attempts: outages pass, business errors fail at once (activities.py).
# The heartbeat timeout notices a car desk that went silent.
STEP = dict(
    start_to_close_timeout=timedelta(seconds=60),
    heartbeat_timeout=timedelta(seconds=5),
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),
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
        # TODO Part D: book inside `async with Saga(UNDO, continue_with_error=True) as saga:`,
        # adding each undo with its argument (saga.add(cancel_flight, trip)) just before its
        # step. If an undo fails for good (SagaCompensationError), flag the trip for a
        # person (flag_for_attention, with the error's message), then re-raise.
        flight = await workflow.execute_activity(book_flight, trip, **STEP)
        hotel = await workflow.execute_activity(book_hotel, trip, **STEP)
        car = await workflow.execute_activity(book_car, trip, **STEP)
        payment = await workflow.execute_activity(charge_payment, trip, **STEP)
        await workflow.execute_activity(confirm_trip, trip, **STEP)
        return Itinerary(trip.trip_id, flight, hotel, car, payment)
