"""The travel world: the airline, the hotels, the car rental and the card processor.

Every exercise books against this one simulated "outside world". It lives in a SQLite
file, so a worker process writes it while a starter, a test or the audit reads it.

Rules the exercises rely on:

* Every booking and charge takes an idempotency ``key``: repeating a call with the same
  key returns the same reservation, never a second one.
* Every cancel and refund takes the same key, is safe to repeat, and is a no-op when
  there is nothing to undo (so a compensation may run even if the step never happened).
* Business errors (no seat, unknown hotel, invalid card...) are ``BookingError``s:
  retrying will not help. Injected outages are ``ServiceUnavailable``: retrying will.
* Faults are injected on purpose and deterministically (see ``inject``).
"""

from __future__ import annotations

import contextvars
import os
import random
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

REPO_ROOT = Path(__file__).resolve().parent.parent
DB_ENV_VAR = "WORKBOOK_DB"


# --- errors -------------------------------------------------------------------------


class WorldError(Exception):
    """Anything the travel world refuses to do."""


class BookingError(WorldError):
    """A business answer: asking again will get the same answer."""


class NoAvailability(BookingError):
    """No seat, room or car of that kind is left."""


class UnknownItem(BookingError):
    """No such flight, hotel, room type or car type."""


class InvalidCardNumber(BookingError):
    """The card number is malformed (length or check digit)."""


class CardDeclined(BookingError):
    """The card is valid but the bank said no."""


class Refused(BookingError):
    """The provider says no to an undo, for good: a person has to settle it."""


class ServiceUnavailable(WorldError):
    """An outage: the same call may well succeed if you try again."""


class ReplyLost(ServiceUnavailable):
    """The work was done and committed, but the answer never reached the caller."""


# --- where the world lives ----------------------------------------------------------


def db_path() -> Path:
    """The database file: $WORKBOOK_DB, or .workbook/world.db in the repository."""
    configured = os.environ.get(DB_ENV_VAR)
    return Path(configured) if configured else REPO_ROOT / ".workbook" / "world.db"


SCHEMA = """
CREATE TABLE IF NOT EXISTS flights (
    flight TEXT PRIMARY KEY, origin TEXT NOT NULL, destination TEXT NOT NULL,
    departs TEXT NOT NULL, price_cents INTEGER NOT NULL, seats INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS hotel_rooms (
    hotel TEXT NOT NULL, name TEXT NOT NULL, city TEXT NOT NULL, room_type TEXT NOT NULL,
    price_cents INTEGER NOT NULL, rooms INTEGER NOT NULL, PRIMARY KEY (hotel, room_type));
CREATE TABLE IF NOT EXISTS cars (
    city TEXT NOT NULL, car_type TEXT NOT NULL, price_cents INTEGER NOT NULL,
    cars INTEGER NOT NULL, PRIMARY KEY (city, car_type));
CREATE TABLE IF NOT EXISTS reservations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, trip_id TEXT NOT NULL,
    key TEXT NOT NULL UNIQUE, item TEXT NOT NULL, amount_cents INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'held');
CREATE TABLE IF NOT EXISTS payments (
    id INTEGER PRIMARY KEY AUTOINCREMENT, trip_id TEXT NOT NULL, key TEXT NOT NULL UNIQUE,
    card_last4 TEXT NOT NULL, amount_cents INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'charged');
CREATE TABLE IF NOT EXISTS trips (
    trip_id TEXT PRIMARY KEY, customer TEXT NOT NULL, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, operation TEXT NOT NULL, key TEXT NOT NULL,
    changed INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS faults (
    operation TEXT NOT NULL, scope TEXT NOT NULL, kind TEXT NOT NULL, remaining INTEGER,
    rate REAL, seed TEXT, message TEXT NOT NULL, calls INTEGER NOT NULL DEFAULT 0,
    seconds REAL, PRIMARY KEY (operation, scope));
CREATE TABLE IF NOT EXISTS flags (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, trip_id TEXT NOT NULL, reason TEXT NOT NULL);
"""

# The small built-in world the exercises use. Prices in cents; hotel and car per night/day.
FLIGHTS = [
    ("TW101", "SFO", "JFK", "2026-12-18", 28000, 40),
    ("TW102", "JFK", "SFO", "2026-12-21", 29500, 40),
    ("TW201", "LAX", "MIA", "2026-12-19", 24000, 40),
    ("TW305", "ORD", "JFK", "2026-12-18", 19900, 0),  # sold out
]
HOTEL_ROOMS = [
    ("harbor-view", "Harbor View Hotel", "New York", "standard", 21000, 20),
    ("harbor-view", "Harbor View Hotel", "New York", "deluxe", 31500, 20),
    ("harbor-view", "Harbor View Hotel", "New York", "suite", 52000, 2),
    ("bayside-inn", "Bayside Inn", "Miami", "standard", 15000, 20),
    ("bayside-inn", "Bayside Inn", "Miami", "deluxe", 22000, 10),
]
CARS = [
    ("New York", "economy", 5500, 20),
    ("New York", "compact", 6200, 10),
    ("New York", "midsize", 7000, 10),
    ("New York", "suv", 9500, 0),  # all rented out
    ("New York", "luxury", 14000, 2),
    ("Miami", "economy", 4900, 10),
    ("Miami", "suv", 8800, 5),
]

DECLINED_CARD = "4000000000000002"  # a well-formed card the bank always refuses


def _open(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so two writers never
    # both read "1 seat left" and both take it.
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    return conn


def _create(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)
    conn.execute("BEGIN IMMEDIATE")
    if conn.execute("SELECT COUNT(*) FROM flights").fetchone()[0] == 0:
        conn.executemany("INSERT INTO flights VALUES (?,?,?,?,?,?)", FLIGHTS)
        conn.executemany("INSERT INTO hotel_rooms VALUES (?,?,?,?,?,?)", HOTEL_ROOMS)
        conn.executemany("INSERT INTO cars VALUES (?,?,?,?)", CARS)
    conn.execute("COMMIT")


@contextmanager
def _connect() -> Iterator[sqlite3.Connection]:
    path = db_path()
    fresh = not path.exists()
    try:
        conn = _open(path)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(faults)")}
        if columns and {"scope", "seconds"} - columns:  # a world file from before faults had them
            conn.execute("DROP TABLE faults")
        if fresh or {"scope", "seconds"} - columns:
            _create(conn)
    except sqlite3.Error as err:
        raise WorldError(
            f"cannot open the travel world at {path}: {err}. "
            f"Set {DB_ENV_VAR} to a writable file path."
        ) from err
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def _transaction() -> Iterator[sqlite3.Connection]:
    with _connect() as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def reset() -> Path:
    """Start over: an empty world with the built-in inventory. Returns the file path."""
    path = db_path()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with _connect():
        pass
    return path


def load_inventory(flights=(), hotel_rooms=(), cars=()) -> None:
    """Add or replace inventory rows (same shapes as FLIGHTS, HOTEL_ROOMS and CARS)."""
    with _transaction() as conn:
        conn.executemany("INSERT OR REPLACE INTO flights VALUES (?,?,?,?,?,?)", flights)
        conn.executemany(
            "INSERT OR REPLACE INTO hotel_rooms VALUES (?,?,?,?,?,?)", hotel_rooms
        )
        conn.executemany("INSERT OR REPLACE INTO cars VALUES (?,?,?,?)", cars)


# --- fault injection ----------------------------------------------------------------

FAULT_KINDS = ("fail", "lose_reply", "refuse", "slow")
SLOW_SECONDS = 30.0  # how long a call slowed down by a "slow" fault takes
# Where an injected fault applies: to calls whose idempotency key starts with this scope
# (a trip id, or the prefix the checks give one check's trips), or '' for every call.
# Checks that run side by side each set their own, so their faults never meet.
FAULT_SCOPE: contextvars.ContextVar[str] = contextvars.ContextVar("fault_scope", default="")
OPERATIONS = (
    "book_flight", "book_hotel", "book_car", "charge_card", "confirm_trip",
    "cancel_flight", "cancel_hotel", "cancel_car", "refund", "send_email", "award_points",
)  # fmt: skip


def inject(
    operation: str,
    kind: str = "fail",
    times: int | None = None,
    *,
    rate: float | None = None,
    seed: str | int | None = None,
    message: str | None = None,
    scope: str | None = None,
    seconds: float = SLOW_SECONDS,
) -> None:
    """Make ``operation`` misbehave on purpose.

    kind="fail": the call raises ServiceUnavailable before doing anything.
    kind="lose_reply": the call does its work, commits, then raises ReplyLost.
    kind="refuse": the call raises Refused (a business error: retrying will not help).
    kind="slow": the call takes ``seconds``; see slowness().
    times=N: only the next N calls misbehave (fail N times, then succeed);
    times=None: every call does. rate (with a seed): each call misbehaves with that
    probability, decided by the seed, so the same seed gives the same story.
    scope: only calls whose key starts with it (default: FAULT_SCOPE, usually every call).
    """
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}; choose from {OPERATIONS}")
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; choose from {FAULT_KINDS}")
    if rate is not None and seed is None:
        raise ValueError("a fault rate needs a seed, so every run tells the same story")
    default = {"lose_reply": "the reply was lost", "refuse": "refused: it can no longer be undone",
               "slow": "slow"}.get(kind, "service unavailable")  # fmt: skip
    with _transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO faults VALUES (?,?,?,?,?,?,?,0,?)",
            (operation, FAULT_SCOPE.get() if scope is None else scope, kind, times, rate,
             None if seed is None else str(seed), message or f"{operation}: {default} (injected)", seconds),
        )  # fmt: skip


def clear_faults() -> None:
    with _transaction() as conn:
        conn.execute("DELETE FROM faults")


def _fault(
    conn: sqlite3.Connection, operation: str, kind: str, key: str, trip_id: str | None = None, field: str = "message"
):
    """Consume one firing of a fault of this kind for the call with ``key``, if one is
    due (the most specific scope wins); return its message (or another ``field``). A scope matches the start of
    the key or of the call's trip id (for an undo, the trip of the booking its key finds),
    so a fault reaches a trip's calls whatever keys the learner's code makes."""
    if trip_id is None:
        owner = conn.execute(
            "SELECT trip_id FROM reservations WHERE key = ?1 UNION ALL SELECT trip_id FROM payments WHERE key = ?1",
            (key,),
        ).fetchone()
        trip_id = owner[0] if owner else key
    row = conn.execute(
        "SELECT * FROM faults WHERE operation = ? AND kind = ? AND (substr(?, 1, length(scope)) = scope "
        "OR substr(?, 1, length(scope)) = scope) ORDER BY length(scope) DESC LIMIT 1",
        (operation, kind, key, trip_id),
    ).fetchone()
    if row is None:
        return None
    where = (operation, row["scope"])
    conn.execute("UPDATE faults SET calls = calls + 1 WHERE operation = ? AND scope = ?", where)
    if row["rate"] is not None:
        draw = random.Random(f"{row['seed']}|{operation}|{row['calls']}").random()
        return row[field] if draw < row["rate"] else None
    if row["remaining"] is None:
        return row[field]
    if row["remaining"] <= 0:
        return None
    conn.execute("UPDATE faults SET remaining = remaining - 1 WHERE operation = ? AND scope = ?", where)
    return row[field]


class _Call:
    """What an operation's body tells the journal: did it change anything?"""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.changed = True

    def execute(self, *args):
        return self.conn.execute(*args)


@contextmanager
def _operation(operation: str, key: str, trip_id: str | None = None) -> Iterator[_Call]:
    """One call to the outside world: a transaction, its injected faults, its journal line.

    The journal records every call that committed, in order, so a check can see that
    the hotel was cancelled before the flight, even without Temporal."""
    with _transaction() as conn:  # the outage is counted even though nothing happens
        outage = _fault(conn, operation, "fail", key, trip_id)
    if outage:
        raise ServiceUnavailable(outage)
    with _transaction() as conn:
        refused = _fault(conn, operation, "refuse", key, trip_id)
    if refused:
        raise Refused(refused)
    with _transaction() as conn:
        call = _Call(conn)
        yield call
        conn.execute(
            "INSERT INTO journal (operation, key, changed) VALUES (?,?,?)",
            (operation, key, int(call.changed)),
        )
        lost = _fault(conn, operation, "lose_reply", key, trip_id)
    if lost:
        raise ReplyLost(lost)


# --- bookings -----------------------------------------------------------------------


@dataclass(frozen=True)
class Reservation:
    id: str  # e.g. "FL-0001"
    kind: str  # "flight", "hotel" or "car"
    trip_id: str
    item: str
    amount_cents: int
    status: str  # "held" or "cancelled"


PREFIX = {"flight": "FL", "hotel": "HT", "car": "CR"}


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


def _hold(conn, kind: str, trip_id: str, key: str, item: str, cents: int) -> Reservation:
    cur = conn.execute(
        "INSERT INTO reservations (kind, trip_id, key, item, amount_cents) "
        "VALUES (?,?,?,?,?)",
        (kind, trip_id, key, item, cents),
    )
    row = conn.execute(
        "SELECT * FROM reservations WHERE id = ?", (cur.lastrowid,)
    ).fetchone()
    return _reservation(row)


def _check_key(kind: str, trip_id: str, key: str, row: sqlite3.Row | None) -> None:
    if row is not None and (row["kind"] != kind or row["trip_id"] != trip_id):
        raise ValueError(
            f"idempotency key {key!r} was already used for a {row['kind']} "
            f"of trip {row['trip_id']!r}; give every step of every trip its own key"
        )


def book_flight(trip_id: str, flight: str, *, key: str) -> Reservation:
    """Hold one seat on ``flight``. Repeating with the same key returns the same seat."""
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
        return _hold(conn, "flight", trip_id, key, flight, found["price_cents"])


def book_hotel(
    trip_id: str, hotel: str, room_type: str, nights: int, *, key: str
) -> Reservation:
    """Hold one room of ``room_type`` for ``nights`` nights."""
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
            raise UnknownItem(f"{hotel} has no {room_type} rooms (it has {kinds})")
        if found["rooms"] <= 0:
            raise NoAvailability(f"{hotel} has no {room_type} room left")
        if nights < 1:
            raise BookingError(f"a hotel stay needs at least one night, not {nights}")
        conn.execute(
            "UPDATE hotel_rooms SET rooms = rooms - 1 WHERE hotel = ? AND room_type = ?",
            (hotel, room_type),
        )
        item = f"{hotel}/{room_type}"
        return _hold(conn, "hotel", trip_id, key, item, found["price_cents"] * nights)


def book_car(
    trip_id: str, car_type: str, days: int, *, key: str, city: str = "New York"
) -> Reservation:
    """Hold one car of ``car_type`` in ``city`` for ``days`` days."""
    with _operation("book_car", key, trip_id) as conn:
        row = _existing(conn, "reservations", key)
        _check_key("car", trip_id, key, row)
        if row is not None:
            return _reservation(row)
        found = conn.execute(
            "SELECT * FROM cars WHERE city = ? AND car_type = ?", (city, car_type)
        ).fetchone()
        if found is None:
            raise UnknownItem(f"no {car_type} cars are rented in {city}")
        if found["cars"] <= 0:
            raise NoAvailability(f"no {car_type} car is left in {city}")
        if days < 1:
            raise BookingError(f"a car rental needs at least one day, not {days}")
        conn.execute(
            "UPDATE cars SET cars = cars - 1 WHERE city = ? AND car_type = ?",
            (city, car_type),
        )
        item = f"{city}/{car_type}"
        return _hold(conn, "car", trip_id, key, item, found["price_cents"] * days)


def _cancel(operation: str, kind: str, key: str) -> bool:
    with _operation(operation, key) as conn:
        row = _existing(conn, "reservations", key)
        if row is None or row["status"] != "held" or row["kind"] != kind:
            conn.changed = False
            return False  # nothing to undo: safe to call again and again
        conn.execute("UPDATE reservations SET status = 'cancelled' WHERE id = ?", (row["id"],))
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


def cancel_flight(*, key: str) -> bool:
    """Release the seat booked with ``key``. True if a seat was released."""
    return _cancel("cancel_flight", "flight", key)


def cancel_hotel(*, key: str) -> bool:
    """Release the room booked with ``key``. True if a room was released."""
    return _cancel("cancel_hotel", "hotel", key)


def cancel_car(*, key: str) -> bool:
    """Release the car booked with ``key``. True if a car was released."""
    return _cancel("cancel_car", "car", key)


# --- payments -----------------------------------------------------------------------


@dataclass(frozen=True)
class Payment:
    id: str  # e.g. "PAY-0001"
    trip_id: str
    amount_cents: int
    status: str  # "charged" or "refunded"


def _payment(row: sqlite3.Row) -> Payment:
    return Payment(f"PAY-{row['id']:04d}", row["trip_id"], row["amount_cents"], row["status"])


def _short(value: object, limit: int = 40) -> str:
    """A value for an error message, cut short: a 1 MB mistake is not echoed whole."""
    import reprlib

    shortener = reprlib.Repr()
    shortener.maxstring = shortener.maxother = limit
    return shortener.repr(value)


def _luhn_ok(number: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def validate_card(card_number: str) -> None:
    digits = card_number.replace(" ", "")
    ascii_digits = sum(c in "0123456789" for c in digits)  # not str.isdigit(): "４" and "²" are not
    shown = _short(card_number)
    if ascii_digits != len(digits):
        raise InvalidCardNumber(f"card number {shown} is invalid: it may hold only the digits 0-9")
    if len(digits) != 16:
        raise InvalidCardNumber(f"card number {shown} is invalid: it needs 16 digits, it has {ascii_digits}")
    if not _luhn_ok(digits):
        raise InvalidCardNumber(f"card number {shown} fails its check digit")
    if digits == DECLINED_CARD:
        raise CardDeclined(f"the bank declined card ending {digits[-4:]}")


def charge_card(trip_id: str, card_number: str, amount_cents: int, *, key: str) -> Payment:
    """Charge the card. Repeating with the same key returns the same payment."""
    with _operation("charge_card", key, trip_id) as conn:
        row = _existing(conn, "payments", key)
        if row is not None and row["trip_id"] != trip_id:
            raise ValueError(
                f"idempotency key {key!r} was already used for a payment of trip "
                f"{row['trip_id']!r}; give every trip its own key"
            )
        if row is not None:
            return _payment(row)
        validate_card(card_number)
        if amount_cents <= 0:
            raise BookingError(f"nothing to charge: amount is {amount_cents} cents")
        cur = conn.execute(
            "INSERT INTO payments (trip_id, key, card_last4, amount_cents) VALUES (?,?,?,?)",
            (trip_id, key, card_number[-4:], amount_cents),
        )
        return _payment(
            conn.execute("SELECT * FROM payments WHERE id = ?", (cur.lastrowid,)).fetchone()
        )


def refund(*, key: str) -> bool:
    """Refund the charge made with ``key``. True if money went back to the card."""
    with _operation("refund", key) as conn:
        row = _existing(conn, "payments", key)
        if row is None or row["status"] != "charged":
            conn.changed = False
            return False
        conn.execute("UPDATE payments SET status = 'refunded' WHERE id = ?", (row["id"],))
        return True


def slowness(operation: str, trip_id: str, *, key: str) -> float:
    """How many seconds the call ``operation`` with ``key`` should take: the seconds of
    the "slow" fault injected for it (SLOW_SECONDS unless told), else 0. The caller waits that long (an
    activity, heartbeating as it waits, so that a cancel reaches it)."""
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}; choose from {OPERATIONS}")
    with _transaction() as conn:
        return _fault(conn, operation, "slow", key, trip_id, field="seconds") or 0.0


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
            "WHERE trip_id = ? AND status = 'held'",
            (trip_id,),
        ).fetchone()[0]


# --- trips --------------------------------------------------------------------------


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


# --- reading the world --------------------------------------------------------------


def reservations(trip_id: str | None = None) -> list[Reservation]:
    with _connect() as conn:
        rows = conn.execute(
            "SELECT * FROM reservations WHERE ? IS NULL OR trip_id = ? ORDER BY id",
            (trip_id, trip_id),
        ).fetchall()
    return [_reservation(r) for r in rows]


def payments(trip_id: str | None = None) -> list[Payment]:
    with _connect() as conn:
        rows = conn.execute(
            "SELECT * FROM payments WHERE ? IS NULL OR trip_id = ? ORDER BY id",
            (trip_id, trip_id),
        ).fetchall()
    return [_payment(r) for r in rows]


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
    with _connect() as conn:
        rows = conn.execute(
            f"SELECT * FROM {table} WHERE ? IS NULL OR trip_id = ? ORDER BY id", (trip_id, trip_id)
        ).fetchall()
    return [(make(r), r["key"]) for r in rows]


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
