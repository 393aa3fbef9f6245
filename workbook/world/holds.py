"""Reservations: what the airline, the hotels and the car rental hold for a trip, and the
one way each of them is released."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from workbook.world.faults import _operation


@dataclass(frozen=True)
class Reservation:
    id: str  # e.g. "FL-0001"
    kind: str  # "flight", "hotel" or "car"
    trip_id: str
    item: str
    amount_cents: int
    status: str  # "held" or "cancelled"; "pending", then "confirmed", when booked pending=True


PREFIX = {"flight": "FL", "hotel": "HT", "car": "CR"}
# What a reservation still takes from the stock: held (as every exercise books), or, booked
# with pending=True (exercise 11's semantic lock), pending until confirmed, then confirmed.
HOLDING = ("held", "pending", "confirmed")
# What an undo (cancel_*) releases: a confirmed reservation is the customer's, not the saga's.
RELEASABLE = ("held", "pending")


def _reservation(row: sqlite3.Row) -> Reservation:
    return Reservation(
        id=f"{PREFIX[row['kind']]}-{row['id']:04d}",
        kind=row["kind"],
        trip_id=row["trip_id"],
        item=row["item"],
        amount_cents=row["amount_cents"],
        status=row["status"],
    )


def _existing(conn: sqlite3.Connection, table: str, key: str) -> sqlite3.Row | None:
    return conn.execute(f"SELECT * FROM {table} WHERE key = ?", (key,)).fetchone()


def _hold(
    conn, kind: str, trip_id: str, key: str, item: str, cents: int, *, pending: bool = False, left: int | None = None
) -> Reservation:
    cur = conn.execute(
        "INSERT INTO reservations (kind, trip_id, key, item, amount_cents, status) "
        "VALUES (?,?,?,?,?,?)",
        (kind, trip_id, key, item, cents, "pending" if pending else "held"),
    )
    if left is not None:  # the desk's receipt: how many were left once this one was taken
        conn.execute(RECEIPTS)
        conn.execute("INSERT OR REPLACE INTO receipts VALUES (?,?)", (key, left))
    row = conn.execute(
        "SELECT * FROM reservations WHERE id = ?", (cur.lastrowid,)
    ).fetchone()
    return _reservation(row)


RECEIPTS = "CREATE TABLE IF NOT EXISTS receipts (key TEXT PRIMARY KEY, left_after INTEGER NOT NULL)"


def _check_key(kind: str, trip_id: str, key: str, row: sqlite3.Row | None) -> None:
    if row is not None and (row["kind"] != kind or row["trip_id"] != trip_id):
        raise ValueError(
            f"idempotency key {key!r} was already used for a {row['kind']} "
            f"of trip {row['trip_id']!r}; give every step of every trip its own key"
        )


def _cancel(operation: str, kind: str, key: str, restock: bool = True) -> bool:
    with _operation(operation, key) as conn:
        row = _existing(conn, "reservations", key)
        if row is None or row["status"] not in RELEASABLE or row["kind"] != kind:
            conn.changed = False
            return False  # nothing to undo: safe to call again and again
        conn.execute("UPDATE reservations SET status = 'cancelled' WHERE id = ?", (row["id"],))
        if not restock:  # the caller puts the stock back itself (exercise 11's write-back)
            return True
        if kind == "flight":
            conn.execute("UPDATE flights SET seats = seats + 1 WHERE flight = ?", (row["item"],))
        elif kind == "hotel":
            hotel, room_type = row["item"].split("/")
            conn.execute(
                "UPDATE hotel_rooms SET rooms = rooms + 1 WHERE hotel = ? AND room_type = ?",
                (hotel, room_type),
            )
        else:
            city, car_type = row["item"].split("/")
            conn.execute(
                "UPDATE cars SET cars = cars + 1 WHERE city = ? AND car_type = ?",
                (city, car_type),
            )
        return True


def place(name: str) -> str:
    """A city or hotel as a message names it: stock kept per day ("Miami@2027-01-24", as
    the capstone keeps it) reads "Miami on 2027-01-24"."""
    where, _, day = name.partition("@")
    return f"{where} on {day}" if day else name
