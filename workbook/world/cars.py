"""The car rental: a car of one type in one city for some days."""

from __future__ import annotations

from workbook.world.errors import BookingError, NoAvailability, UnknownItem
from workbook.world.faults import _operation
from workbook.world.holds import Reservation, _cancel, _check_key, _existing, _hold, _reservation, place
from workbook.world.store import _connect


def book_car(
    trip_id: str, car_type: str, days: int, *, key: str, city: str = "New York", pending: bool = False
) -> Reservation:
    """Hold one car of ``car_type`` in ``city`` for ``days`` days (``pending``: see book_flight)."""
    with _operation("book_car", key, trip_id) as conn:
        row = _existing(conn, "reservations", key)
        _check_key("car", trip_id, key, row)
        if row is not None:
            return _reservation(row)
        found = _fleet(conn, car_type, city)
        if found["cars"] <= 0:
            raise NoAvailability(f"no {car_type} car is left in {place(city)}")
        if days < 1:
            raise BookingError(f"a car rental needs at least one day, not {days}")
        conn.execute(
            "UPDATE cars SET cars = cars - 1 WHERE city = ? AND car_type = ?",
            (city, car_type),
        )
        item = f"{city}/{car_type}"
        return _hold(conn, "car", trip_id, key, item, found["price_cents"] * days, pending=pending, left=found["cars"] - 1)


def rents_car(car_type: str, *, city: str = "New York") -> None:
    """Raise UnknownItem, as book_car would, if nobody rents out cars of ``car_type`` in
    ``city``: the car rental's catalogue, read without calling its desk (no outage of the
    desk reaches it), for a caller that skips the desk and must still tell "no such car"."""
    with _connect() as conn:
        _fleet(conn, car_type, city)


def _fleet(conn, car_type: str, city: str):
    found = conn.execute("SELECT * FROM cars WHERE city = ? AND car_type = ?", (city, car_type)).fetchone()
    if found is None:
        raise UnknownItem(f"nobody rents out a car of type {car_type!r} in {place(city)}")
    return found


def cancel_car(*, key: str, restock: bool = True) -> bool:
    """Release the car booked with ``key``. True if a car was released."""
    return _cancel("cancel_car", "car", key, restock)
