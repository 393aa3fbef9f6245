"""The activities: thin calls into the travel world, one undo for every booking.

Temporal delivers an activity *at least* once: when a reply is lost (the hotel booked the
room, then the network dropped the answer), Temporal cannot tell that from a failure, and
runs the step again. So every booking, charge and undo passes an idempotency key made by
key(): the travel world books once per key, and answers a repeated key with the booking
it already made. A retry finds the first attempt's room, and the undo finds it too, only
if every attempt and the undo make the very same key.
"""

from contextlib import contextmanager

from temporalio import activity
from temporalio.exceptions import ApplicationError

from workbook import world
from workbook.trips import TripRequest


def key(trip: TripRequest, step: str) -> str:
    """The idempotency key of one step of one trip, e.g. "trip-04:hotel"."""
    # TODO Part B: make the key the same on every attempt of the step, and in its undo.
    # Build it from values a retry sees unchanged: the trip id (so two trips never share
    # a key) and the step's name (so two steps never do). Never a uuid, the clock or the
    # attempt number: each retry would make a new key, and book again.
    import uuid  # as shipped: a fresh random id on every call (this is the bug)

    return f"{trip.trip_id}:{step}:{uuid.uuid4().hex[:8]}"


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
    world.confirm_trip(trip.trip_id, trip.customer)


ALL_ACTIVITIES = [
    book_flight, cancel_flight, book_hotel, cancel_hotel, book_car, cancel_car,
    charge_payment, refund_payment, confirm_trip,
]  # fmt: skip
