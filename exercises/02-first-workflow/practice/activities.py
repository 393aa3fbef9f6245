"""The activities: the steps that talk to the outside world (the travel world).

An activity is ordinary Python code that may fail: a network call, a database write.
Temporal runs it on a worker, records its result in the workflow's history, and
retries it when it fails, following the retry policy the workflow gives it.

Each step uses an idempotency key made from the trip id and the step's name, so a
retried attempt finds the reservation an earlier attempt made instead of a second one.
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
    """Two kinds of failure reach an activity. An outage (world.ServiceUnavailable) may
    be gone a second later: retrying is right. A business answer (world.BookingError:
    sold out, no such room, a bad card number) will be the same on every attempt:
    retrying only wastes time before the workflow learns the truth."""
    # TODO Part C: turn every world.BookingError into an ApplicationError marked
    # non_retryable=True, so Temporal fails the step at once instead of retrying it.
    yield


@activity.defn
def book_flight(trip: TripRequest) -> str:
    with business_errors_are_final():
        return world.book_flight(trip.trip_id, trip.flight, key=key(trip, "flight")).id


@activity.defn
def book_hotel(trip: TripRequest) -> str:
    with business_errors_are_final():
        return world.book_hotel(
            trip.trip_id, trip.hotel, trip.room_type, trip.nights, key=key(trip, "hotel")
        ).id


@activity.defn
def book_car(trip: TripRequest) -> str:
    with business_errors_are_final():
        return world.book_car(
            trip.trip_id, trip.car_type, trip.rental_days, key=key(trip, "car")
        ).id


@activity.defn
def charge_payment(trip: TripRequest) -> str:
    """Charge the card for everything the trip holds."""
    with business_errors_are_final():
        amount = world.trip_total(trip.trip_id)
        return world.charge_card(
            trip.trip_id, trip.card_number, amount, key=key(trip, "payment")
        ).id


@activity.defn
def confirm_trip(trip: TripRequest) -> None:
    world.confirm_trip(trip.trip_id, trip.customer)
