"""The activities: thin calls into the travel world, one undo for every booking, and
two auxiliary steps (the email and the points) with no undo at all.

Each step uses an idempotency key made from the trip id and the step's name, so a retry
finds the reservation the first attempt made, and the undo finds it too.
"""

from contextlib import contextmanager

from temporalio import activity
from temporalio.exceptions import ApplicationError

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


@activity.defn
def book_car(trip: TripRequest) -> str:
    with business_errors_are_final():
        return world.book_car(
            trip.trip_id, trip.car_type, trip.rental_days, key=key(trip, "car")
        ).id


@activity.defn
def cancel_car(trip: TripRequest) -> None:
    world.cancel_car(key=key(trip, "car"))


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
    """The pivot: once the trip is confirmed, its reservations and charge are wanted."""
    world.confirm_trip(trip.trip_id, trip.customer)


# Auxiliary steps: they run after the pivot, and the trip stands whether or not they
# succeed. They have no undo: there is nothing to take back from a confirmed trip.


@activity.defn
def send_confirmation_email(trip: TripRequest) -> None:
    world.send_email(trip.trip_id, trip.customer)


@activity.defn
def award_loyalty_points(trip: TripRequest) -> int:
    """One point per dollar the trip cost; the key makes a retry award them once."""
    points = world.trip_total(trip.trip_id) // 100
    world.award_points(trip.trip_id, trip.customer, points, key=key(trip, "points"))
    return points


ALL_ACTIVITIES = [
    book_flight, cancel_flight, book_hotel, cancel_hotel, book_car, cancel_car,
    charge_payment, refund_payment, confirm_trip, send_confirmation_email, award_loyalty_points,
]  # fmt: skip
