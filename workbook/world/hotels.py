"""The hotels: a room of one type for some nights."""

from __future__ import annotations

from workbook.world.errors import BookingError, NoAvailability, UnknownItem
from workbook.world.faults import _operation
from workbook.world.holds import Reservation, _cancel, _check_key, _existing, _hold, _reservation, place


def book_hotel(
    trip_id: str, hotel: str, room_type: str, nights: int, *, key: str, pending: bool = False
) -> Reservation:
    """Hold one room of ``room_type`` for ``nights`` nights (``pending``: see book_flight)."""
    with _operation("book_hotel", key, trip_id) as conn:
        row = _existing(conn, "reservations", key)
        _check_key("hotel", trip_id, key, row)
        if row is not None:
            return _reservation(row)
        found = conn.execute(
            "SELECT * FROM hotel_rooms WHERE hotel = ? AND room_type = ?",
            (hotel, room_type),
        ).fetchone()
        if found is None:
            kinds = conn.execute(
                "SELECT group_concat(room_type, ', ') FROM hotel_rooms WHERE hotel = ?",
                (hotel,),
            ).fetchone()[0]
            if kinds is None:
                raise UnknownItem(f"there is no hotel {hotel!r}")
            raise UnknownItem(f"{place(hotel)} has no {room_type} rooms (it has {kinds})")
        if found["rooms"] <= 0:
            raise NoAvailability(f"{place(hotel)} has no {room_type} room left")
        if nights < 1:
            raise BookingError(f"a hotel stay needs at least one night, not {nights}")
        conn.execute(
            "UPDATE hotel_rooms SET rooms = rooms - 1 WHERE hotel = ? AND room_type = ?",
            (hotel, room_type),
        )
        item = f"{hotel}/{room_type}"
        return _hold(conn, "hotel", trip_id, key, item, found["price_cents"] * nights, pending=pending, left=found["rooms"] - 1)


def cancel_hotel(*, key: str, restock: bool = True) -> bool:
    """Release the room booked with ``key``. True if a room was released."""
    return _cancel("cancel_hotel", "hotel", key, restock)
