"""The benchmark's yardstick: the capstone's booking, without the saga.

The same activities, in the same order, with the same options as TravelBookingWorkflow
(store the request → flight → hotel and car at once → payment → confirm → email), so it
does the same world work. What it leaves out is what the benchmark prices: no Saga, no
undo registered, no undo path. A failure here leaves whatever was booked behind.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities import (
        book_car, book_flight, book_hotel, charge_payment, confirm_trip, send_confirmation_email,
        store_booking_request,
    )  # fmt: skip
    from shared import BookingRequest, BookingResult
    from workflow import step_options


@workflow.defn
class PlainBookingWorkflow:
    @workflow.run
    async def run(self, request: BookingRequest) -> BookingResult:
        step = step_options(request)
        await workflow.execute_activity(store_booking_request, request, **step)
        flight = await workflow.execute_activity(book_flight, request, **step)
        hotel, car = await asyncio.gather(
            workflow.execute_activity(book_hotel, request, **step),
            workflow.execute_activity(book_car, request, **step),
        )
        payment = await workflow.execute_activity(charge_payment, request, **step)
        await workflow.execute_activity(confirm_trip, request, **step)
        result = BookingResult(request.trip_id, flight, hotel, car, payment)
        try:  # as in the saga: the email is auxiliary, its failure is a notice
            await workflow.execute_activity(send_confirmation_email, request, **step)
        except ActivityError:
            result.notices.append("the confirmation email was not sent; please follow up")
        return result
