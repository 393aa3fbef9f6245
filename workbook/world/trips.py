"""Trips as a whole: confirming one, the auxiliary steps after it (email, points), what it
costs, and the trips handed to a person."""

from __future__ import annotations

from workbook.world.faults import _operation
from workbook.world.store import _connect, _transaction


def flag_for_attention(trip_id: str, reason: str) -> None:
    """Hand the trip to a person: what it still holds is theirs to settle, not an orphan."""
    with _transaction() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS flags (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                     "trip_id TEXT NOT NULL, reason TEXT NOT NULL)")  # fmt: skip
        conn.execute("INSERT INTO flags (trip_id, reason) VALUES (?,?)", (trip_id, reason))


def flags(trip_id: str | None = None) -> dict[str, str]:
    """The trips flagged for a person, with the reason (of one trip, when given)."""
    with _connect() as conn:
        if not conn.execute("SELECT name FROM sqlite_master WHERE name = 'flags'").fetchone():
            return {}
        rows = conn.execute("SELECT trip_id, reason FROM flags ORDER BY seq").fetchall()
    return {row[0]: row[1] for row in rows if trip_id is None or row[0] == trip_id}


def trip_total(trip_id: str) -> int:
    """What the trip's held reservations cost, in cents: what payment should charge."""
    with _connect() as conn:
        return conn.execute(
            "SELECT COALESCE(SUM(amount_cents), 0) FROM reservations "
            "WHERE trip_id = ? AND status IN ('held', 'pending', 'confirmed')",
            (trip_id,),
        ).fetchone()[0]


def store_request(trip_id: str, customer: str, details: str) -> None:
    """Keep the customer's request before anything is booked, so a person can always see
    what was asked for. Storing it again (a retry) keeps the first copy."""
    with _operation("store_request", trip_id) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS requests (trip_id TEXT PRIMARY KEY, "
                     "customer TEXT NOT NULL, details TEXT NOT NULL)")  # fmt: skip
        cursor = conn.execute("INSERT OR IGNORE INTO requests VALUES (?,?,?)", (trip_id, customer, details))
        conn.changed = cursor.rowcount > 0


def stored_request(trip_id: str) -> str | None:
    """The details stored for ``trip_id`` by store_request, or None."""
    with _connect() as conn:
        if not conn.execute("SELECT name FROM sqlite_master WHERE name = 'requests'").fetchone():
            return None
        row = conn.execute("SELECT details FROM requests WHERE trip_id = ?", (trip_id,)).fetchone()
    return row[0] if row else None


def confirm_trip(trip_id: str, customer: str) -> None:
    """Mark the trip confirmed: from now on its reservations and charges are wanted."""
    with _operation("confirm_trip", trip_id) as conn:
        conn.execute(
            "INSERT INTO trips VALUES (?,?,'confirmed') "
            "ON CONFLICT(trip_id) DO UPDATE SET status = 'confirmed'",
            (trip_id, customer),
        )


def send_email(trip_id: str, to: str) -> None:
    """Tell the customer. An auxiliary step: the trip is valid whether or not it lands."""
    with _operation("send_email", f"{trip_id}:{to}"):
        pass


def award_points(trip_id: str, customer: str, points: int, *, key: str) -> None:
    """Credit the customer's loyalty account. Another auxiliary step: nice to have, and
    the trip stands without it. (The journal records the award; no table keeps it.)"""
    with _operation("award_points", key):
        pass
