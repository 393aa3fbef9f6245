"""The trip-booking saga, cancellable, with undos that may fail.

A customer may cancel the trip while it is being booked. A cancel that lands while an
activity runs reaches the workflow as an ActivityError (its cause a CancelledError); one
that lands while the workflow waits on anything else (a timer, a condition) arrives as
asyncio.CancelledError, a BaseException that `except Exception` lets through, undos and
all. So the except block catches both, runs every undo, and then re-raises, so the
workflow ends Canceled.

An undo may fail as well. An outage is retried until it passes (UNDO never gives up);
a refusal (the bank will not refund) is final. One undo that fails must not stop the
others: each runs in a try of its own, and the failures are reported together, once
every undo has run, with the trip flagged for a person to settle.
"""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

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
            await workflow.execute_activity(confirm_trip, trip, **STEP)
            return Itinerary(trip.trip_id, flight, hotel, car, payment)
        # TODO Part B: catch the cancel too: it may be asyncio.CancelledError, which is not
        # an Exception, so `except Exception` would let it through and undo nothing.
        except (Exception, asyncio.CancelledError):
            workflow.logger.info("Booking stopped; running %d compensations", len(compensations))
            # TODO Part B: run the undos to the end, even if a cancel lands meanwhile
            # (run_to_the_end). If any failed for good, flag the trip for a person
            # (flag_for_attention), then raise an ApplicationError naming every failed
            # undo. Else re-raise (`raise`).
            failed = await run_to_the_end(undo_all(trip, compensations))
            if failed:
                reason = "; ".join(failed)
                await workflow.execute_activity(flag_for_attention, args=[trip, reason], **UNDO)
                raise ApplicationError(f"compensation failed: {reason}; the trip needs a person")
            raise  # a cancel ends the workflow Canceled; a failed step ends it Failed


async def run_to_the_end(undos):
    """Await ``undos`` to the end, even if the customer cancels while they run."""
    # TODO Part B: shield the undos from the cancel. asyncio.shield keeps the cancel from
    # reaching them, but the shielded await itself stops at once: then wait for them again.
    running = asyncio.ensure_future(undos)
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        return await running  # the booking failed anyway: finish undoing, then report it


async def undo_all(trip: TripRequest, compensations: list) -> list[str]:
    """Run every undo, newest first, one after another; return those that failed for good."""
    failed = []
    for undo in reversed(compensations):
        # TODO Part B: give each undo a try of its own: note a failure, go on to the next.
        try:
            await workflow.execute_activity(undo, trip, **UNDO)
        except ActivityError as err:
            failed.append(f"{undo.__name__} ({err.cause.message if err.cause else err})")
    return failed
