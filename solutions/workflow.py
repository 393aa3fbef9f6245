"""The capstone's booking workflow: one saga that uses every lesson of the workbook.

store the request → book the flight → book the hotel and the car at once → charge the card
(the pivot) → confirm → email the customer (auxiliary: its failure undoes nothing). The
flight, the hotel and the car are booked pending, and confirmed by the confirm step, after
the pivot (exercise 11's semantic lock): until then anyone can tell they may be undone, and
an undo releases only what is still pending. When the car rental cannot book the car, the
partner desk's car is booked instead, before anything is undone (exercise 12); the car
step's one undo releases the car at whichever desk holds it.
A failure or a cancel before the pivot undoes what was booked, newest first, shielded from
the cancel (the Saga helper of exercise 08); an undo that fails for good hands the trip to
a person.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from saga import Saga, SagaCompensationError

with workflow.unsafe.imports_passed_through():
    from activities import (
        book_car, book_flight, book_hotel, book_partner_car, cancel_car, cancel_flight, cancel_hotel,
        charge_payment, confirm_trip, flag_for_attention, refund_payment, send_confirmation_email,
        store_booking_request,
    )  # fmt: skip
    from shared import BookingRequest, BookingResult

# An undo must not give up on an outage: it retries until it succeeds.
UNDO = dict(start_to_close_timeout=timedelta(seconds=5), retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1)))


def step_options(request: BookingRequest) -> dict:
    """A step gets request.attempts tries: outages pass, business errors fail at once."""
    policy = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=max(1, request.attempts))
    # The heartbeat timeout: a slow desk heartbeats, so a worker that died is noticed in 2 s.
    return dict(start_to_close_timeout=timedelta(seconds=5), heartbeat_timeout=timedelta(seconds=2), retry_policy=policy)


async def book_a_car(request: BookingRequest, step: dict) -> str:
    """The car rental's car; or, for a trip that accepts one, the partner desk's, before
    anything is undone. A car type nobody rents (UnknownItem) is unknown to the partner too."""
    try:
        return await workflow.execute_activity(book_car, request, **step)
    except ActivityError as err:
        if not request.partner_car_ok or getattr(err.cause, "type", "") == "UnknownItem":
            raise
    return await workflow.execute_activity(book_partner_car, request, **step)


@workflow.defn
class TravelBookingWorkflow:
    @workflow.run
    async def run(self, request: BookingRequest) -> BookingResult:
        step = step_options(request)
        await workflow.execute_activity(store_booking_request, request, **step)
        try:
            async with Saga(UNDO, continue_with_error=True) as saga:
                saga.add(cancel_flight, request)  # before the step: a lost reply may hide a booking
                flight = await workflow.execute_activity(book_flight, request, **step)
                saga.add(cancel_hotel, request)
                saga.add(cancel_car, request)  # either desk's car
                # Both at once, and both settled before any undo runs (exercise 07): a car
                # still being booked when the hotel fails is undone after it lands.
                hotel, car = await asyncio.gather(
                    workflow.execute_activity(book_hotel, request, **step),
                    book_a_car(request, step),
                    return_exceptions=True,
                )
                for outcome in (hotel, car):
                    if isinstance(outcome, BaseException):
                        raise outcome
                saga.add(refund_payment, request)
                payment = await workflow.execute_activity(charge_payment, request, **step)
                # The trip stands; its pending bookings become confirmed (activities.py).
                await workflow.execute_activity(confirm_trip, request, **step)
        except SagaCompensationError as err:  # an undo failed for good: a person settles it
            await workflow.execute_activity(flag_for_attention, args=[request, err.message], **UNDO)
            raise
        result = BookingResult(request.trip_id, flight, hotel, car, payment)
        try:  # the trip stands: an email that does not go out is a notice, not an undo
            await workflow.execute_activity(send_confirmation_email, request, **step)
        except ActivityError:
            result.notices.append("the confirmation email was not sent; please follow up")
        return result
