"""The activities: thin calls into the travel world, one undo for every booking, and
the hotel's upgrade desk, which another customer's request reaches while a saga runs.

Other trips book the same flight, hotel and car while this saga runs, and see what it has
done so far: each step commits on its own. So an undo must not write back a number it
read earlier (it would erase what others booked since), a booking is pending until the
saga confirms it, and whoever acts on a booking looks at its status first.
"""

import time
from contextlib import contextmanager

from temporalio import activity
from temporalio.exceptions import ApplicationError

from workbook import world
from workbook.trips import TripRequest


def key(trip: TripRequest, step: str) -> str:
    return f"{trip.trip_id}:{step}"


@contextmanager
def business_errors_are_final():
    """A sold-out car or a bad card number won't change on the next attempt: fail the step
    at once. Outages (world.ServiceUnavailable) pass through and are retried."""
    try:
        yield
    except world.BookingError as err:
        raise ApplicationError(str(err), type=type(err).__name__, non_retryable=True) from err


@activity.defn
def book_flight(trip: TripRequest) -> str:
    with business_errors_are_final():
        # TODO Part C: book it pending (pending=True), so others can tell it may be undone.
        return world.book_flight(trip.trip_id, trip.flight, key=key(trip, "flight")).id


@activity.defn
def book_hotel(trip: TripRequest) -> str:
    with business_errors_are_final():
        # TODO Part C: book it pending (pending=True).
        return world.book_hotel(
            trip.trip_id, trip.hotel, trip.room_type, trip.nights, key=key(trip, "hotel")
        ).id


@activity.defn
def book_car(trip: TripRequest) -> str:
    # A slow car desk, when the starter asks for one (Part E): the other trip books meanwhile.
    time.sleep(world.slowness("book_car", trip.trip_id, key=key(trip, "car")))
    with business_errors_are_final():
        # TODO Part C: book it pending (pending=True).
        return world.book_car(trip.trip_id, trip.car_type, trip.rental_days, key=key(trip, "car")).id


def release(kind: str, trip: TripRequest) -> None:
    """Undo one booking: release the reservation and put what it took back on sale."""
    # TODO Part B: put it back with an increment, not a write-back. The desk's cancel
    # releases the reservation and adds one back (seats = seats + 1), whatever others did since.
    cancel = {"flight": world.cancel_flight, "hotel": world.cancel_hotel, "car": world.cancel_car}[kind]
    booked = world.booking(key(trip, kind))
    if cancel(key=key(trip, kind), restock=False):  # the reservation released; now the stock:
        seats_then = world.left_after(key(trip, kind))  # what was left when we booked, on the receipt
        world.set_available(kind, booked.item, seats_then + 1)  # ...plus ours, written back


@activity.defn
def cancel_flight(trip: TripRequest) -> None:
    release("flight", trip)


@activity.defn
def cancel_hotel(trip: TripRequest) -> None:
    release("hotel", trip)


@activity.defn
def cancel_car(trip: TripRequest) -> None:
    release("car", trip)


@activity.defn
def charge_payment(trip: TripRequest) -> str:
    """Charge the card for everything the trip holds."""
    with business_errors_are_final():
        amount = world.trip_total(trip.trip_id)
        return world.charge_card(trip.trip_id, trip.card_number, amount, key=key(trip, "payment")).id


@activity.defn
def refund_payment(trip: TripRequest) -> None:
    world.refund(key=key(trip, "payment"))


@activity.defn
def confirm_trip(trip: TripRequest) -> None:
    """The pivot: from here on the trip stands, and its bookings are the customer's."""
    with business_errors_are_final():
        world.confirm_trip(trip.trip_id, trip.customer)
    # TODO Part C: confirm the three bookings (world.confirm_booking): no undo releases them now.


@activity.defn
def send_itinerary(trip: TripRequest) -> None:
    """Email the customer their itinerary. They act on it at once (they ask for an upgrade,
    book a taxi), and an email cannot be unsent."""
    world.send_email(trip.trip_id, trip.customer)


@activity.defn
def upgrade_room(trip: TripRequest) -> str:
    """Another request, not the saga: the customer asks to upgrade their room to a suite."""
    booked = world.booking(key(trip, "hotel"))
    # TODO Part C: refuse a room that is still pending: its saga may yet undo it. Raise a
    # non-retryable ApplicationError that says so, and upgrade only a confirmed room.
    with business_errors_are_final():
        return world.upgrade_room(key=key(trip, "hotel")).id


ALL_ACTIVITIES = [
    book_flight, cancel_flight, book_hotel, cancel_hotel, book_car, cancel_car,
    charge_payment, refund_payment, confirm_trip, send_itinerary, upgrade_room,
]  # fmt: skip
