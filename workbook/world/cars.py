"""The car rental: a car of one type in one city for some days."""

from __future__ import annotations

from workbook.world.errors import BookingError, NoAvailability, UnknownItem
from workbook.world.faults import _operation
from workbook.world.holds import Reservation, _cancel, _check_key, _existing, _hold, _reservation, place


def book_car(
    trip_id: str, car_type: str, days: int, *, key: str, city: str = "New York", pending: bool = False
) -> Reservation:
    """Hold one car of ``car_type`` in ``city`` for ``days`` days (``pending``: see book_flight)."""
    with _operation("book_car", key, trip_id) as conn:
        row = _existing(conn, "reservations", key)
        _check_key("car", trip_id, key, row)
        if row is not None:
            return _reservation(row)
        found = conn.execute(
            "SELECT * FROM cars WHERE city = ? AND car_type = ?", (city, car_type)
        ).fetchone()
        if found is None:
            raise UnknownItem(f"nobody rents out a car of type {car_type!r} in {place(city)}")
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


def cancel_car(*, key: str, restock: bool = True) -> bool:
    """Release the car booked with ``key``. True if a car was released."""
    return _cancel("cancel_car", "car", key, restock)
