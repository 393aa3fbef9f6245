"""The partner car desk and the airline's ticket desk (exercise 12).

The partner is another rental company the saga can book a car from when the car rental
cannot (an outage, or no car left): it rents the same car types in the same cities, from
a fleet of its own (so it has cars when the car rental has none), at a fifth more. Its
reservations are cars of the trip like any other, with an item that names the partner
("partner:New York/economy"), so the audit finds a partner car left behind, and a trip
that holds a car from both desks, as it finds any other.

Tickets are issued for a trip's booked flight, after the trip is confirmed: the airline
needs the seat to exist, and issuing again under the same key returns the same ticket.
"""

from __future__ import annotations

from workbook.world.errors import BookingError, UnknownItem
from workbook.world.faults import _operation
from workbook.world.holds import RELEASABLE, Reservation, _check_key, _existing, _hold, _reservation, place
from workbook.world.store import _connect

PARTNER = "partner:"  # how a partner car's item starts
PARTNER_MARKUP = 1.2  # the partner charges a fifth more than the car rental


def book_partner_car(
    trip_id: str, car_type: str, days: int, *, key: str, city: str = "New York", pending: bool = False
) -> Reservation:
    """Hold one of the partner's cars of ``car_type`` in ``city`` for ``days`` days
    (``pending``: see book_flight; world.confirm_booking confirms it)."""
    with _operation("book_partner_car", key, trip_id) as conn:
        row = _existing(conn, "reservations", key)
        _check_key("car", trip_id, key, row)
        if row is not None:
            return _reservation(row)
        found = conn.execute(  # the same types and cities as the car rental; the stock is the partner's
            "SELECT price_cents FROM cars WHERE city = ? AND car_type = ?", (city, car_type)
        ).fetchone()
        if found is None:
            raise UnknownItem(f"the partner rents out no car of type {car_type!r} in {place(city)}")
        if days < 1:
            raise BookingError(f"a car rental needs at least one day, not {days}")
        cents = round(found["price_cents"] * PARTNER_MARKUP) * days
        return _hold(conn, "car", trip_id, key, f"{PARTNER}{city}/{car_type}", cents, pending=pending)


def cancel_partner_car(*, key: str) -> bool:
    """Release the partner car booked with ``key``. True if a car was released."""
    with _operation("cancel_partner_car", key) as conn:
        row = _existing(conn, "reservations", key)
        if row is None or row["status"] not in RELEASABLE or not row["item"].startswith(PARTNER):
            conn.changed = False
            return False  # nothing to undo: safe to call again and again
        conn.execute("UPDATE reservations SET status = 'cancelled' WHERE id = ?", (row["id"],))
        return True


_TICKETS = ("CREATE TABLE IF NOT EXISTS tickets (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "trip_id TEXT NOT NULL, key TEXT NOT NULL UNIQUE, flight_reservation TEXT NOT NULL)")  # fmt: skip


def issue_tickets(trip_id: str, *, key: str) -> str:
    """Issue the e-ticket for the trip's booked flight; its number, e.g. "TK-0001"."""
    with _operation("issue_tickets", key, trip_id) as conn:
        conn.execute(_TICKETS)
        row = conn.execute("SELECT * FROM tickets WHERE key = ?", (key,)).fetchone()
        if row is None:
            flight = conn.execute(
                "SELECT id FROM reservations WHERE trip_id = ? AND kind = 'flight' AND status = 'held'", (trip_id,)
            ).fetchone()
            if flight is None:
                raise BookingError(f"trip {trip_id!r} holds no flight to issue a ticket for")
            cursor = conn.execute(
                "INSERT INTO tickets (trip_id, key, flight_reservation) VALUES (?,?,?)",
                (trip_id, key, f"FL-{flight['id']:04d}"),
            )
            row = conn.execute("SELECT * FROM tickets WHERE id = ?", (cursor.lastrowid,)).fetchone()
        else:
            conn.changed = False
        return f"TK-{row['id']:04d}"


def tickets(trip_id: str | None = None) -> list[str]:
    """The tickets issued (of one trip, when given), oldest first."""
    with _connect() as conn:
        if not conn.execute("SELECT name FROM sqlite_master WHERE name = 'tickets'").fetchone():
            return []
        rows = conn.execute(
            "SELECT id FROM tickets WHERE ? IS NULL OR trip_id = ? ORDER BY id", (trip_id, trip_id)
        ).fetchall()
    return [f"TK-{row[0]:04d}" for row in rows]
