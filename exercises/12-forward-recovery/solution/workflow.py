"""The trip-booking saga, with the two ways forward that come before (or instead of) undoing.

Up to the pivot (confirm_trip) a failure undoes what was done, as in exercise 03, but
not at the first failure of the car: when the car rental cannot book it, the saga asks
a partner desk, and compensates only when both fail. The trip records which desk booked.

After the pivot nothing is undone: the trip is confirmed, the customer has paid. The
tickets must still be issued, and they are not an email (exercise 05) that may go unsent:
the saga goes forward, retrying until the airline's desk is back, however long that
takes. If the airline refuses for good, which no retry can fix, a person takes the trip
over; the payment stays.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities import (
        book_car, book_flight, book_hotel, book_partner_car, cancel_car, cancel_flight,
        cancel_hotel, cancel_partner_car, charge_payment, confirm_trip, flag_for_attention,
        issue_tickets, refund_payment,
    )  # fmt: skip
    from shared import BookedTrip
    from workbook.trips import TripRequest

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
# TODO Part A: a step after the pivot goes forward: retry until it succeeds (no
# maximum_attempts), backing off to one attempt every ten minutes (maximum_interval).
FORWARD = dict(
    start_to_close_timeout=timedelta(seconds=10),
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=10)),
)


async def book_a_car(trip: TripRequest, compensations: list) -> tuple[str, str]:
    """The car's reservation id, and the desk that booked it: "primary" or "partner"."""
    compensations.append(cancel_car)
    # TODO Part B: when the car rental fails (any ActivityError: an outage it did not get
    # over, no car left, its breaker open), try the partner desk before anything is undone.
    # Register the partner's undo first; if the partner fails too, its error goes on.
    try:
        return await workflow.execute_activity(book_car, trip, **STEP), "primary"
    except ActivityError as err:
        workflow.logger.info("The car rental failed (%s); asking the partner desk", err.cause)
    compensations.append(cancel_partner_car)
    return await workflow.execute_activity(book_partner_car, trip, **STEP), "partner"


@workflow.defn
class BookTripWorkflow:
    @workflow.run
    async def run(self, trip: TripRequest) -> BookedTrip:
        compensations = []  # the undos of the steps started so far, oldest first
        try:
            compensations.append(cancel_flight)
            flight = await workflow.execute_activity(book_flight, trip, **STEP)
            compensations.append(cancel_hotel)
            hotel = await workflow.execute_activity(book_hotel, trip, **STEP)
            car, desk = await book_a_car(trip, compensations)
            compensations.append(refund_payment)
            payment = await workflow.execute_activity(charge_payment, trip, **STEP)
            # The pivot: a failure up to here undoes everything; once it completes, nothing.
            await workflow.execute_activity(confirm_trip, trip, **STEP)
            # TODO Part A: the tickets come after the pivot: move them out of the try.
        except Exception:
            workflow.logger.info("Booking failed; running %d compensations", len(compensations))
            for undo in reversed(compensations):
                await workflow.execute_activity(undo, trip, **UNDO)
            raise  # the trip was not booked: the workflow ends Failed

        booked = BookedTrip(trip.trip_id, flight, hotel, car, payment, car_desk=desk)
        # TODO Part A: issue the tickets, going forward (FORWARD). If the airline refuses for
        # good, hand the trip to a person (flag_for_attention) and keep the payment.
        try:
            booked.tickets = await workflow.execute_activity(issue_tickets, trip, **FORWARD)
        except ActivityError as err:  # only a refusal ends FORWARD's retries: no retry can fix it
            reason = f"tickets not issued: {err.cause.message if err.cause else err}"
            await workflow.execute_activity(flag_for_attention, args=[trip, reason], **UNDO)
            booked.notices.append(f"{reason}; a person will issue them")
        return booked
