"""The capstone's activities: thin calls into the travel world, one undo for every booking.

Every lesson of the exercises that lives in an activity is here: an idempotency key per
trip and step (04), business errors that fail at once and outages that are retried (02),
undos that are safe to run when nothing was booked (03), a person called in when an undo
fails for good (06), an auxiliary email nobody undoes (05), bookings pending until the trip
is confirmed (11's semantic lock), and the car rental behind a circuit breaker, with a partner
desk to fall back on (12).
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import asdict

import pybreaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from seed import load_seed, use_capstone_world
from shared import FORCE_PAYMENT_FAIL, BookingRequest
from workbook import world

use_capstone_world()
SEED = load_seed()


def key(request: BookingRequest, step: str) -> str:
    return f"{request.trip_id}:{step}"


# Exercise 11's semantic lock: the flight, the hotel and the car are booked pending, so
# whoever looks at them (another trip, a desk, the API's trip page) can tell that the saga
# may still undo them; confirm_trip confirms them once the trip stands, and no undo releases
# a confirmed booking. A car from the partner desk is booked pending too.
LOCKED = ("flight", "hotel", "car", "partner_car")


@contextmanager
def business_errors_are_final():
    """A missing flight or a refused card won't change on the next attempt: fail the step
    at once. Outages (world.ServiceUnavailable) pass through, and Temporal retries them."""
    try:
        yield
    except world.BookingError as err:
        raise ApplicationError(str(err), type=type(err).__name__, non_retryable=True) from err


@activity.defn
def store_booking_request(request: BookingRequest) -> None:
    world.store_request(request.trip_id, request.customer, json.dumps(asdict(request)))


@activity.defn
def book_flight(request: BookingRequest) -> str:
    with business_errors_are_final():
        flight = SEED.flight(request.origin, request.destination, request.day, request.cabin)
        return world.book_flight(request.trip_id, flight, key=key(request, "flight"), pending=True).id


@activity.defn
def cancel_flight(request: BookingRequest) -> None:
    world.cancel_flight(key=key(request, "flight"))


def take_time(operation: str, request: BookingRequest, step: str) -> None:
    """A desk that is slow today (a "slow" fault, e.g. from chaos.py) takes its time, and
    heartbeats meanwhile: if this worker dies, Temporal notices within the heartbeat timeout."""
    waited, slow = 0.0, world.slowness(operation, request.trip_id, key=key(request, step))
    while waited < slow:
        activity.heartbeat()
        time.sleep(0.1)
        waited += 0.1


@activity.defn
def book_hotel(request: BookingRequest) -> str:
    take_time("book_hotel", request, "hotel")
    with business_errors_are_final():
        hotel = SEED.hotel_stock(SEED.hotel_in(request.destination), request.day)
        booked = world.book_hotel(
            request.trip_id, hotel, request.room_type, request.nights, key=key(request, "hotel"), pending=True
        )
        return booked.id


@activity.defn
def cancel_hotel(request: BookingRequest) -> None:
    world.cancel_hotel(key=key(request, "hotel"))


# The car rental's circuit breaker: one per worker process, shared by every trip it runs
# (exercise 12). After three outages in a row, for 30 s, trips that may go to the partner
# desk go there without calling the car rental; then one trial call decides. A desk that
# has no car left is healthy: business errors don't count. Which desk books a trip's car
# thus depends on what other trips met just before; what happens to the trip does not.
CAR_RENTAL = pybreaker.CircuitBreaker(fail_max=3, reset_timeout=30, exclude=[world.BookingError], name="car rental")


@activity.defn
def book_car(request: BookingRequest) -> str:
    take_time("book_car", request, "car")
    with business_errors_are_final():
        city = SEED.car_desk(SEED.city(request.destination), request.day)
        args = (request.trip_id, request.car_type, request.rental_days)
        if not request.partner_car_ok:  # the car rental is its only desk: a call is always worth trying
            return world.book_car(*args, key=key(request, "car"), city=city, pending=True).id
        try:
            return CAR_RENTAL.call(world.book_car, *args, key=key(request, "car"), city=city, pending=True).id
        except pybreaker.CircuitBreakerError as err:  # open: the desk was not called
            # A car type nobody rents is no car at the partner either: the catalogue says so.
            world.rents_car(request.car_type, city=city)
            raise ApplicationError(f"the car rental is skipped ({err})", type="CircuitOpen", non_retryable=True) from err


@activity.defn
def cancel_car(request: BookingRequest) -> None:
    """The car step's one undo: the trip's car is released at whichever desk holds it."""
    world.cancel_car(key=key(request, "car"))
    world.cancel_partner_car(key=key(request, "partner_car"))


@activity.defn
def book_partner_car(request: BookingRequest) -> str:
    """The same car from the partner desk, when the car rental could not book it. The car
    rental may have booked one and lost every reply: that one is released first, or a trip
    that stands would hold two cars (both calls are safe to repeat)."""
    take_time("book_partner_car", request, "partner_car")
    with business_errors_are_final():
        city = SEED.car_desk(SEED.city(request.destination), request.day)
        world.cancel_car(key=key(request, "car"))
        args = (request.trip_id, request.car_type, request.rental_days)
        return world.book_partner_car(*args, key=key(request, "partner_car"), city=city, pending=True).id


@activity.defn
def charge_payment(request: BookingRequest) -> str:
    """Charge the card for everything the trip holds: the pivot, after which it stands."""
    if FORCE_PAYMENT_FAIL in request.confirmation_code:  # the reference's test hook
        raise ApplicationError("payment refused: forced failure for testing", type="CardDeclined", non_retryable=True)
    with business_errors_are_final():
        amount = world.trip_total(request.trip_id)
        return world.charge_card(request.trip_id, request.card_number, amount, key=key(request, "payment")).id


@activity.defn
def refund_payment(request: BookingRequest) -> None:
    with business_errors_are_final():  # a bank may refuse a refund for good (world.Refused)
        world.refund(key=key(request, "payment"))


@activity.defn
def confirm_trip(request: BookingRequest) -> None:
    """After the pivot: the trip stands, then its pending bookings are confirmed (the trip
    first: a booking confirmed for a trip that then failed to confirm would be left behind).
    Each is safe to repeat; a booking that is not pending (the car of the desk that did not
    book it, one confirmed already) is left as it is."""
    with business_errors_are_final():
        world.confirm_trip(request.trip_id, request.customer)
        for step in LOCKED:
            world.confirm_booking(key=key(request, step))


@activity.defn
def send_confirmation_email(request: BookingRequest) -> None:
    world.send_email(request.trip_id, request.customer)


@activity.defn
def flag_for_attention(request: BookingRequest, reason: str) -> None:
    world.flag_for_attention(request.trip_id, reason)


ALL_ACTIVITIES = [
    store_booking_request, book_flight, cancel_flight, book_hotel, cancel_hotel, book_car, cancel_car,
    book_partner_car, charge_payment, refund_payment, confirm_trip, send_confirmation_email,
    flag_for_attention,
]  # fmt: skip
