"""The airline: a seat on a dated flight."""

from __future__ import annotations

from workbook.world.errors import NoAvailability, UnknownItem
from workbook.world.faults import _operation
from workbook.world.holds import Reservation, _cancel, _check_key, _existing, _hold, _reservation


def book_flight(trip_id: str, flight: str, *, key: str, pending: bool = False) -> Reservation:
    """Hold one seat on ``flight``. Repeating with the same key returns the same seat.
    ``pending``: the seat is pending (not yet the customer's) until confirm_booking."""
    with _operation("book_flight", key, trip_id) as conn:
        row = _existing(conn, "reservations", key)
        _check_key("flight", trip_id, key, row)
        if row is not None:
            return _reservation(row)
        found = conn.execute(
            "SELECT * FROM flights WHERE flight = ?", (flight,)
        ).fetchone()
        if found is None:
            raise UnknownItem(f"there is no flight {flight}")
        if found["seats"] <= 0:
            raise NoAvailability(f"flight {flight} is sold out")
        conn.execute("UPDATE flights SET seats = seats - 1 WHERE flight = ?", (flight,))
        return _hold(conn, "flight", trip_id, key, flight, found["price_cents"], pending=pending, left=found["seats"] - 1)


def cancel_flight(*, key: str, restock: bool = True) -> bool:
    """Release the seat booked with ``key``. True if a seat was released."""
    return _cancel("cancel_flight", "flight", key, restock)
