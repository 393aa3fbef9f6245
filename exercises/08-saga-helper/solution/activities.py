"""The activities: thin calls into the travel world, one undo for every booking, and
a way to hand a trip to a person when an undo fails for good.

Each step uses an idempotency key made from the trip id and the step's name, so a retry
finds the reservation the first attempt made, and the undo finds it too.
"""

import time
from contextlib import contextmanager

from temporalio import activity
from temporalio.exceptions import ApplicationError, CancelledError

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
    """A slow car rental desk: while it works, tell Temporal we are alive (heartbeat),
    which is also how a cancel of the trip reaches this activity."""
    waited, slow = 0.0, world.slowness("book_car", trip.trip_id, key=key(trip, "car"))
    while waited < slow:
        activity.heartbeat()  # the heartbeat's reply carries a cancel request, if any
        if activity.is_cancelled():
            raise CancelledError("the trip was cancelled before the car was booked")
        time.sleep(0.1)
        waited += 0.1
    with business_errors_are_final():
        return world.book_car(
            trip.trip_id, trip.car_type, trip.rental_days, key=key(trip, "car")
        ).id


@activity.defn
def cancel_car(trip: TripRequest) -> None:
    """The car desk can be slow to take a car back as well: heartbeat while it works."""
    waited, slow = 0.0, world.slowness("cancel_car", trip.trip_id, key=key(trip, "car"))
    while waited < slow:
        activity.heartbeat()
        time.sleep(0.1)
        waited += 0.1
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
    # The bank may refuse a refund for good (world.Refused): final, like a booking error.
    with business_errors_are_final():
        world.refund(key=key(trip, "payment"))


@activity.defn
def flag_for_attention(trip: TripRequest, reason: str) -> None:
    """Hand the trip to a person: an undo failed for good, someone must settle it."""
    world.flag_for_attention(trip.trip_id, reason)


@activity.defn
def confirm_trip(trip: TripRequest) -> None:
    with business_errors_are_final():
        world.confirm_trip(trip.trip_id, trip.customer)


ALL_ACTIVITIES = [
    book_flight, cancel_flight, book_hotel, cancel_hotel, book_car, cancel_car,
    charge_payment, refund_payment, confirm_trip, flag_for_attention,
]  # fmt: skip
