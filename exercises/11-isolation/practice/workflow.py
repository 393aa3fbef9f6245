"""The trip-booking saga, run while other trips book the same flight, hotel and car.

A saga gives up isolation: each step commits on its own, so other trips see what it has
done so far, and may act on it before the saga undoes it. Three countermeasures:

* commutative updates: an undo adds back what its step took (activities.py), so it never
  erases what other trips booked in between;
* a semantic lock: the bookings are pending until confirm_trip, the pivot, confirms them;
  whoever acts on a booking (the upgrade desk) refuses a pending one;
* a pessimistic view: the step others act on at once, the itinerary email, comes after
  the pivot, when nothing can be undone any more.

UpgradeRoomWorkflow is not part of the saga: it is another customer request, which may
arrive while a saga is halfway.
"""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities import (
        book_car, book_flight, book_hotel, cancel_car, cancel_flight, cancel_hotel,
        charge_payment, confirm_trip, refund_payment, send_itinerary, upgrade_room,
    )  # fmt: skip
    from workbook.trips import Itinerary, TripRequest

# A step gets a few attempts: outages pass, business errors fail at once (activities.py).
STEP = dict(
    start_to_close_timeout=timedelta(seconds=10),
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
        compensations = []  # the undos of the steps started so far, oldest first
        try:
            compensations.append(cancel_flight)
            flight = await workflow.execute_activity(book_flight, trip, **STEP)
            compensations.append(cancel_hotel)
            hotel = await workflow.execute_activity(book_hotel, trip, **STEP)
            compensations.append(cancel_car)
            car = await workflow.execute_activity(book_car, trip, **STEP)
            # TODO Part D: the customer acts on the itinerary at once, and an email cannot be
            # unsent: send it after the pivot (below), not while the trip may still be undone.
            await workflow.execute_activity(send_itinerary, trip, **STEP)  # so the customer has it at once
            compensations.append(refund_payment)
            payment = await workflow.execute_activity(charge_payment, trip, **STEP)
            await workflow.execute_activity(confirm_trip, trip, **STEP)  # the pivot
        except (Exception, asyncio.CancelledError):
            workflow.logger.info("Booking stopped; undoing %d steps", len(compensations))
            for undo in reversed(compensations):
                await workflow.execute_activity(undo, trip, **UNDO)
            raise  # a failed step ends the workflow Failed, with the desk's reason
        notices = []
        # TODO Part D: send the itinerary here, once the trip stands. If the email fails,
        # the trip still stands: add a notice instead of undoing anything.
        return Itinerary(trip.trip_id, flight, hotel, car, payment, notices)


@workflow.defn
class UpgradeRoomWorkflow:
    """Another customer request, not part of the saga: upgrade the trip's room to a suite.
    It may arrive while the trip's saga is halfway, and the room still pending."""

    @workflow.run
    async def run(self, trip: TripRequest) -> str:
        return await workflow.execute_activity(upgrade_room, trip, **STEP)
