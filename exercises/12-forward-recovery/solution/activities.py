"""The activities: thin calls into the travel world. The car can be booked at two desks:
the car rental (the primary desk, behind a circuit breaker) and a partner desk, each with
its own undo. Tickets are issued after the trip is confirmed, and a trip can be handed to
a person when the airline refuses them for good.

Each step uses an idempotency key made from the trip id and the step's name, so a retry
finds the reservation the first attempt made, and the undo finds it too.
"""

from contextlib import contextmanager

import pybreaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from shared import CAR_DESK_COOLDOWN_SECONDS, CAR_DESK_FAILURES
from workbook import world
from workbook.trips import TripRequest


def key(trip: TripRequest, step: str) -> str:
    return f"{trip.trip_id}:{step}"


@contextmanager
def business_errors_are_final():
    """A sold-out car or a bad card number won't change on the next attempt: fail the
    step at once. Outages (world.ServiceUnavailable) pass through and are retried."""
    try:
        yield
    except world.BookingError as err:
        raise ApplicationError(str(err), type=type(err).__name__, non_retryable=True) from err


@activity.defn
def book_flight(trip: TripRequest) -> str:
    with business_errors_are_final():
        return world.book_flight(trip.trip_id, trip.flight, key=key(trip, "flight")).id


@activity.defn
def cancel_flight(trip: TripRequest) -> None:
    world.cancel_flight(key=key(trip, "flight"))


@activity.defn
def book_hotel(trip: TripRequest) -> str:
    with business_errors_are_final():
        return world.book_hotel(
            trip.trip_id, trip.hotel, trip.room_type, trip.nights, key=key(trip, "hotel")
        ).id


@activity.defn
def cancel_hotel(trip: TripRequest) -> None:
    world.cancel_hotel(key=key(trip, "hotel"))


# TODO Part C: guard the car rental with one circuit breaker for the whole worker process
# (pybreaker.CircuitBreaker, fail_max=CAR_DESK_FAILURES, reset_timeout=CAR_DESK_COOLDOWN_SECONDS).
# A desk that answers "no car left" is healthy: exclude world.BookingError. Then, in book_car,
# call the desk through the breaker, and when the breaker is open, fail at once, for good.
car_rental = pybreaker.CircuitBreaker(
    fail_max=CAR_DESK_FAILURES,
    reset_timeout=CAR_DESK_COOLDOWN_SECONDS,
    exclude=[world.BookingError],
    name="car rental",
)


@activity.defn
def book_car(trip: TripRequest) -> str:
    """Book at the car rental, the primary desk."""
    with business_errors_are_final():
        try:
            return car_rental.call(
                world.book_car, trip.trip_id, trip.car_type, trip.rental_days, key=key(trip, "car")
            ).id
        except pybreaker.CircuitBreakerError as err:  # open: the desk was not called at all
            raise ApplicationError(f"book_car: the car rental is skipped ({err})", type="CircuitOpen",
                                   non_retryable=True) from err  # fmt: skip


@activity.defn
def cancel_car(trip: TripRequest) -> None:
    world.cancel_car(key=key(trip, "car"))


@activity.defn
def book_partner_car(trip: TripRequest) -> str:
    """Book the same car at the partner desk, the fallback."""
    with business_errors_are_final():
        return world.book_partner_car(
            trip.trip_id, trip.car_type, trip.rental_days, key=key(trip, "partner_car")
        ).id


@activity.defn
def cancel_partner_car(trip: TripRequest) -> None:
    world.cancel_partner_car(key=key(trip, "partner_car"))


@activity.defn
def charge_payment(trip: TripRequest) -> str:
    """Charge the card for everything the trip holds."""
    with business_errors_are_final():
        amount = world.trip_total(trip.trip_id)
        return world.charge_card(
            trip.trip_id, trip.card_number, amount, key=key(trip, "payment")
        ).id


@activity.defn
def refund_payment(trip: TripRequest) -> None:
    world.refund(key=key(trip, "payment"))


@activity.defn
def confirm_trip(trip: TripRequest) -> None:
    with business_errors_are_final():
        world.confirm_trip(trip.trip_id, trip.customer)


@activity.defn
def issue_tickets(trip: TripRequest) -> str:
    """Ask the airline for the e-ticket of the trip's flight (the airline may refuse)."""
    with business_errors_are_final():
        return world.issue_tickets(trip.trip_id, key=key(trip, "tickets"))


@activity.defn
def flag_for_attention(trip: TripRequest, reason: str) -> None:  # a person settles it
    world.flag_for_attention(trip.trip_id, reason)


ALL_ACTIVITIES = [
    book_flight, cancel_flight, book_hotel, cancel_hotel, book_car, cancel_car,
    book_partner_car, cancel_partner_car, charge_payment, refund_payment, confirm_trip,
    issue_tickets, flag_for_attention,
]  # fmt: skip
