"""Reading the world (for the audit, the checks and the notebooks): never changes it."""

from __future__ import annotations

from workbook.world.cards import Payment, _payment
from workbook.world.errors import UnknownItem
from workbook.world.holds import Reservation, _reservation
from workbook.world.store import _connect


def reservations(trip_id: str | None = None) -> list[Reservation]:
    return [_reservation(r) for r in _rows("reservations", trip_id)]


def payments(trip_id: str | None = None) -> list[Payment]:
    return [_payment(r) for r in _rows("payments", trip_id)]


def _rows(table: str, trip_id: str | None) -> list:
    """Every row of ``table``, or one trip's, oldest first. Two queries, not one with
    "? IS NULL OR trip_id = ?": SQLite cannot use the index by trip for that one, and the
    audit of one trip would read every trip's bookings."""
    with _connect() as conn:
        if trip_id is None:
            return conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
        return conn.execute(f"SELECT * FROM {table} WHERE trip_id = ? ORDER BY id", (trip_id,)).fetchall()


def is_confirmed(trip_id: str) -> bool:
    with _connect() as conn:
        row = conn.execute("SELECT status FROM trips WHERE trip_id = ?", (trip_id,)).fetchone()
    return row is not None and row["status"] == "confirmed"


def journal() -> list[tuple[str, str, bool]]:
    """Every committed call, oldest first: (operation, key, changed anything)."""
    with _connect() as conn:
        rows = conn.execute("SELECT operation, key, changed FROM journal ORDER BY seq")
        return [(r[0], r[1], bool(r[2])) for r in rows]


def keys(trip_id: str | None = None) -> list[tuple[str, str, str, str]]:
    """The idempotency keys that bookings and charges were made under, oldest first, as
    (kind, id, key, status): kind "flight", "hotel", "car" or "charge"."""
    found = [(r.kind, r.id, key, r.status) for r, key in _with_keys("reservations", trip_id, _reservation)]
    return found + [("charge", p.id, key, p.status) for p, key in _with_keys("payments", trip_id, _payment)]


def _with_keys(table: str, trip_id: str | None, make) -> list:
    return [(make(r), r["key"]) for r in _rows(table, trip_id)]


def confirmed_trips() -> set[str]:
    with _connect() as conn:
        rows = conn.execute("SELECT trip_id FROM trips WHERE status = 'confirmed'")
        return {r[0] for r in rows}


def available(kind: str, item: str) -> int:
    """How many seats/rooms/cars are left: ("flight", "TW101"), ("hotel",
    "harbor-view/deluxe") or ("car", "New York/economy")."""
    queries = {
        "flight": ("SELECT seats FROM flights WHERE flight = ?", (item,)),
        "hotel": (
            "SELECT rooms FROM hotel_rooms WHERE hotel = ? AND room_type = ?",
            tuple(item.split("/")),
        ),
        "car": ("SELECT cars FROM cars WHERE city = ? AND car_type = ?", tuple(item.split("/"))),
    }
    sql, args = queries[kind]
    with _connect() as conn:
        row = conn.execute(sql, args).fetchone()
    if row is None:
        raise UnknownItem(f"no {kind} {item!r}")
    return row[0]
