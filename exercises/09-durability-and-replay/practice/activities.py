"""The activities: thin calls into the travel world, one undo for every booking, a way
to hand a trip to a person, and (new in this exercise) the confirmation email.

Each step uses an idempotency key made from the trip id and the step's name, so a retry
finds the reservation the first attempt made, and the undo finds it too. That is what
makes a crash harmless: an attempt cut short by a dead worker is simply tried again.
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


def slow_desk(operation: str, trip: TripRequest, step: str) -> None:
    """A slow desk (the failure switch slows the hotel's): while it works, tell Temporal we
    are alive (heartbeat). A worker killed with kill -9 stops heartbeating, so Temporal
    knows within the step's heartbeat_timeout and retries the step on a worker that is up.
    The heartbeat's reply also carries a cancel of the trip, if one was asked for."""
    waited, slow = 0.0, world.slowness(operation, trip.trip_id, key=key(trip, step))
    while waited < slow:
        activity.heartbeat()
        if activity.is_cancelled():
            raise CancelledError(f"the trip was cancelled during {operation}")
        time.sleep(0.1)
        waited += 0.1


@activity.defn
def book_flight(trip: TripRequest) -> str:
    with business_errors_are_final():
        return world.book_flight(trip.trip_id, trip.flight, key=key(trip, "flight")).id


@activity.defn
def cancel_flight(trip: TripRequest) -> None:
    world.cancel_flight(key=key(trip, "flight"))


@activity.defn
def book_hotel(trip: TripRequest) -> str:
    slow_desk("book_hotel", trip, "hotel")
    with business_errors_are_final():
        return world.book_hotel(
            trip.trip_id, trip.hotel, trip.room_type, trip.nights, key=key(trip, "hotel")
        ).id


@activity.defn
def cancel_hotel(trip: TripRequest) -> None:
    world.cancel_hotel(key=key(trip, "hotel"))


@activity.defn
def book_car(trip: TripRequest) -> str:
    slow_desk("book_car", trip, "car")
    with business_errors_are_final():
        return world.book_car(
            trip.trip_id, trip.car_type, trip.rental_days, key=key(trip, "car")
        ).id


@activity.defn
def cancel_car(trip: TripRequest) -> None:
    slow_desk("cancel_car", trip, "car")
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


@activity.defn
def send_confirmation_email(trip: TripRequest) -> None:
    """The step the business asked for after the first trips were booked (Part B)."""
    world.send_email(trip.trip_id, trip.customer)


ALL_ACTIVITIES = [
    book_flight, cancel_flight, book_hotel, cancel_hotel, book_car, cancel_car,
    charge_payment, refund_payment, confirm_trip, flag_for_attention, send_confirmation_email,
]  # fmt: skip
