"""What other trips see of a saga's work (exercise 11): a reservation's status, the stock as
a number anyone may read and write, and the hotel's upgrade desk, which acts on a booking.

A reservation booked with ``pending=True`` is pending: the desk holds it, but the saga may
still undo it. ``confirm_booking`` makes it confirmed (the customer's): an undo no longer
releases it. A reader (``booking``, the upgrade desk's caller) can tell the two apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbook.world.errors import NoAvailability, UnknownItem
from workbook.world.faults import _operation
from workbook.world.holds import Reservation, _existing, _reservation, place
from workbook.world.store import _connect, _transaction

STOCK = {  # kind: (table, count column, the columns an item names)
    "flight": ("flights", "seats", ("flight",)),
    "hotel": ("hotel_rooms", "rooms", ("hotel", "room_type")),
    "car": ("cars", "cars", ("city", "car_type")),
}


def booking(key: str) -> Reservation | None:
    """The reservation booked with ``key`` (its status tells pending from confirmed), or None."""
    with _connect() as conn:
        row = _existing(conn, "reservations", key)
    return _reservation(row) if row is not None else None


def left_after(key: str) -> int | None:
    """The desk's receipt of the booking made with ``key``: how many of its kind were left
    once it was taken (a number read then, stale as soon as anyone else books)."""
    with _connect() as conn:
        if not conn.execute("SELECT name FROM sqlite_master WHERE name = 'receipts'").fetchone():
            return None
        row = conn.execute("SELECT left_after FROM receipts WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def confirm_booking(*, key: str) -> bool:
    """Make the pending reservation booked with ``key`` confirmed. True if it was pending;
    False (and nothing changes) if it is confirmed already, held, cancelled or unknown."""
    with _operation("confirm_booking", key) as conn:
        row = _existing(conn, "reservations", key)
        if row is None or row["status"] != "pending":
            conn.changed = False
            return False
        conn.execute("UPDATE reservations SET status = 'confirmed' WHERE id = ?", (row["id"],))
        return True


def set_available(kind: str, item: str, count: int) -> None:
    """Write how many seats/rooms/cars of ``item`` are left (a write-back: whatever anyone
    booked or released since the count was read is overwritten)."""
    table, column, names = STOCK[kind]
    where = " AND ".join(f"{name} = ?" for name in names)
    with _transaction() as conn:
        cursor = conn.execute(f"UPDATE {table} SET {column} = ? WHERE {where}", (count, *item.split("/")))
        if cursor.rowcount == 0:
            raise UnknownItem(f"no {kind} {item!r}")


@dataclass(frozen=True)
class Upgrade:
    key: str  # the hotel booking's idempotency key
    trip_id: str
    status: str  # the booking's status when the desk upgraded it
    trip_confirmed: bool  # was its trip confirmed then?


def upgrade_room(*, key: str, to: str = "suite") -> Reservation:
    """Move the hotel booking made with ``key`` to a room of type ``to`` (one of those fewer,
    one of its old type back on sale). The desk does as it is asked: it does not know about
    sagas. Each upgrade is recorded with what the booking was then (see ``upgrades``)."""
    with _operation("upgrade_room", key) as conn:
        row = _existing(conn, "reservations", key)
        if row is None or row["kind"] != "hotel" or row["status"] == "cancelled":
            raise UnknownItem(f"there is no hotel booking {key!r} to upgrade")
        hotel, room_type = row["item"].split("/")
        if room_type == to:
            conn.changed = False
            return _reservation(row)  # upgraded already: asking again changes nothing
        found = conn.execute("SELECT * FROM hotel_rooms WHERE hotel = ? AND room_type = ?", (hotel, to)).fetchone()
        if found is None or found["rooms"] <= 0:
            raise NoAvailability(f"{place(hotel)} has no {to} room left")
        old = conn.execute("SELECT price_cents FROM hotel_rooms WHERE hotel = ? AND room_type = ?", (hotel, room_type)).fetchone()
        nights = row["amount_cents"] // old["price_cents"] if old and old["price_cents"] else 1
        conn.execute("UPDATE hotel_rooms SET rooms = rooms - 1 WHERE hotel = ? AND room_type = ?", (hotel, to))
        conn.execute("UPDATE hotel_rooms SET rooms = rooms + 1 WHERE hotel = ? AND room_type = ?", (hotel, room_type))
        conn.execute(
            "UPDATE reservations SET item = ?, amount_cents = ? WHERE id = ?",
            (f"{hotel}/{to}", found["price_cents"] * nights, row["id"]),
        )
        confirmed = conn.execute(
            "SELECT 1 FROM trips WHERE trip_id = ? AND status = 'confirmed'", (row["trip_id"],)
        ).fetchone()
        conn.execute(UPGRADES)
        conn.execute(
            "INSERT INTO upgrades (key, trip_id, status, trip_confirmed) VALUES (?,?,?,?)",
            (key, row["trip_id"], row["status"], int(confirmed is not None)),
        )
        return _reservation(conn.execute("SELECT * FROM reservations WHERE id = ?", (row["id"],)).fetchone())


UPGRADES = ("CREATE TABLE IF NOT EXISTS upgrades (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, "
            "trip_id TEXT NOT NULL, status TEXT NOT NULL, trip_confirmed INTEGER NOT NULL)")  # fmt: skip


def upgrades(trip_id: str | None = None) -> list[Upgrade]:
    """Every upgrade the desk made (of one trip, when given), oldest first."""
    with _connect() as conn:
        if not conn.execute("SELECT name FROM sqlite_master WHERE name = 'upgrades'").fetchone():
            return []
        rows = conn.execute(
            "SELECT * FROM upgrades WHERE ? IS NULL OR trip_id = ? ORDER BY seq", (trip_id, trip_id)
        ).fetchall()
    return [Upgrade(r["key"], r["trip_id"], r["status"], bool(r["trip_confirmed"])) for r in rows]


__all__ = ["STOCK", "Upgrade", "booking", "confirm_booking", "left_after", "set_available",
           "upgrade_room", "upgrades"]  # fmt: skip
