"""The benchmark's yardsticks: the capstone's booking without the saga, and without the world.

PlainBookingWorkflow: the same activities, in the same order, with the same options as
TravelBookingWorkflow (store the request → flight → hotel and car at once → payment →
confirm → email), so it does the same world work. What it leaves out is what the
benchmark prices: no Saga, no undo registered, no undo path. A failure here leaves
whatever was booked behind.

NoopBookingWorkflow: the same shape (one step, then one, two at once, then three), with
activities that do nothing: what Temporal itself costs on this machine, the floor under
any booking workflow. The saga's rate over this one says how much of the time is the
travel world's.
"""

from __future__ import annotations

import asyncio

from temporalio import activity, workflow
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


@activity.defn
def do_nothing(request: BookingRequest) -> str:
    """A step that touches nothing: its cost is Temporal's alone."""
    return request.trip_id


@workflow.defn
class NoopBookingWorkflow:
    @workflow.run
    async def run(self, request: BookingRequest) -> BookingResult:
        step = step_options(request)
        await workflow.execute_activity(do_nothing, request, **step)
        flight = await workflow.execute_activity(do_nothing, request, **step)
        hotel, car = await asyncio.gather(
            workflow.execute_activity(do_nothing, request, **step),
            workflow.execute_activity(do_nothing, request, **step),
        )
        payment = await workflow.execute_activity(do_nothing, request, **step)
        await workflow.execute_activity(do_nothing, request, **step)
        await workflow.execute_activity(do_nothing, request, **step)
        return BookingResult(request.trip_id, flight, hotel, car, payment)
