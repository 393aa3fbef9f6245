"""Where the world lives: one SQLite file, its schema, the built-in inventory, and the
transactions every service writes through."""

from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from workbook.world.errors import WorldError


REPO_ROOT = Path(__file__).resolve().parents[2]


DB_ENV_VAR = "WORKBOOK_DB"


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


# A trip's reservations and charges are read by trip (trip_total before every charge, the audit
# of one trip): without these, each read scans every booking of every trip, a cost that grows
# with the world (measured: 1 ms per charge at 5,000 booked trips, 0.01 ms with them). Made
# on every open, so a world file made before them gets them too (IF NOT EXISTS: no lock).
INDEXES = """
CREATE INDEX IF NOT EXISTS reservations_by_trip ON reservations (trip_id);
CREATE INDEX IF NOT EXISTS payments_by_trip ON payments (trip_id);
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


def _open(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so two writers never
    # both read "1 seat left" and both take it.
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    # A commit survives the process that made it (a worker killed with kill -9), not a
    # power cut: enough for a simulated world, and it spares every call an fsync.
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _create(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)
    conn.execute("BEGIN IMMEDIATE")
    if conn.execute("SELECT COUNT(*) FROM flights").fetchone()[0] == 0:
        conn.executemany("INSERT INTO flights VALUES (?,?,?,?,?,?)", FLIGHTS)
        conn.executemany("INSERT INTO hotel_rooms VALUES (?,?,?,?,?,?)", HOTEL_ROOMS)
        conn.executemany("INSERT INTO cars VALUES (?,?,?,?)", CARS)
    conn.execute("COMMIT")


class _Kept:
    """A thread's open connection to the world file, kept between calls (opening one and
    reading the schema costs more than most calls). When reset() (in this process or
    another) has replaced the file, the path names another file than the one the
    connection has open, and it is opened again. The inode numbers tell them apart: the
    open connection holds its file's inode, so a new file cannot be given the same one."""

    def __init__(self, path: Path, conn: sqlite3.Connection, inode: tuple[int, int]):
        self.path, self.conn, self.inode, self.pid, self.busy = path, conn, inode, os.getpid(), False

    def current(self, path: Path) -> bool:
        return self.pid == os.getpid() and path == self.path and _inode(path) == self.inode

    def close(self) -> None:
        if self.pid == os.getpid():  # a forked child must not touch its parent's connection
            self.conn.close()


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


_kept = threading.local()


def _open_world(path: Path) -> sqlite3.Connection:
    fresh = not path.exists()
    try:
        conn = _open(path)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(faults)")}
        if columns and {"scope", "seconds"} - columns:  # a world file from before faults had them
            conn.execute("DROP TABLE faults")
        if fresh or {"scope", "seconds"} - columns:
            _create(conn)
        conn.executescript(INDEXES)
    except sqlite3.Error as err:
        raise WorldError(
            f"cannot open the travel world at {path}: {err}. "
            f"Set {DB_ENV_VAR} to a writable file path."
        ) from err
    return conn


@contextmanager
def _connect() -> Iterator[sqlite3.Connection]:
    """A connection to the world file: this thread's kept one, or, when that one is in
    use further up the stack, one of its own for this call."""
    path = db_path()
    kept: _Kept | None = getattr(_kept, "connection", None)
    if kept is not None and not kept.busy and not kept.current(path):
        kept.close()
        kept = _kept.connection = None
    if kept is None:
        before = _inode(path)
        conn = _open_world(path)
        inode = _inode(path)
        if inode is None or before not in (None, inode):  # replaced while we opened it: use it once
            try:
                yield conn
            finally:
                conn.close()
            return
        kept = _kept.connection = _Kept(path, conn, inode)
    elif kept.busy:
        conn = _open_world(path)
        try:
            yield conn
        finally:
            conn.close()
        return
    kept.busy = True
    try:
        yield kept.conn
    finally:
        kept.busy = False


def forget_connections() -> None:
    """Close this thread's kept connection (before the file is deleted on purpose)."""
    kept: _Kept | None = getattr(_kept, "connection", None)
    if kept is not None and not kept.busy:
        kept.close()
        _kept.connection = None


# The threads of one process (a worker's 32 activity threads) take turns at writing here,
# not in SQLite's busy handler: a writer that finds the file locked sleeps 1, 2, 5... up to
# 100 ms and tries again, so under 32 writers a call waited for seconds while the lock sat
# free (measured, the capstone's calls from 32 threads: the slowest 1% took 1.6 s, one 8.9 s,
# past a step's 2 s heartbeat timeout; with this lock, 0.2 s and 0.7 s, three times the
# calls per second). Other processes are still kept apart by SQLite's lock (measured: another
# process's writes meanwhile waited 0.1 s at most, none failed). Reentrant, for a
# world call made inside another; and a writer that waited WRITER_WAIT for it goes on to
# SQLite's busy handler, as before, rather than wait longer than SQLite would.
_writer = threading.RLock()
WRITER_WAIT = 30.0


def _new_writer_lock() -> None:
    global _writer
    _writer = threading.RLock()  # a forked child starts with no writer: the parent's may be held


os.register_at_fork(after_in_child=_new_writer_lock)


@contextmanager
def _transaction() -> Iterator[sqlite3.Connection]:
    writer = _writer
    turn = writer.acquire(timeout=WRITER_WAIT)
    try:
        with _connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
    finally:
        if turn:
            writer.release()


def reset() -> Path:
    """Start over: an empty world with the built-in inventory. Returns the file path."""
    path = db_path()
    forget_connections()
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
