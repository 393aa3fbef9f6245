"""Faults injected on purpose, deterministically: an outage, a lost reply, a refusal, a
slow call. Every call to a service goes through ``_operation``, which applies them and
writes the journal."""

from __future__ import annotations

import contextvars
import random
import sqlite3
import time
from contextlib import contextmanager
from typing import Iterator

from workbook.world.errors import ReplyLost, Refused, ServiceUnavailable
from workbook.world.store import _transaction


FAULT_KINDS = ("fail", "lose_reply", "refuse", "slow", "hold")


SLOW_SECONDS = 30.0  # how long a call slowed down by a "slow" fault takes


# Where an injected fault applies: to calls whose idempotency key starts with this scope
# (a trip id, or the prefix the checks give one check's trips), or '' for every call.
# Checks that run side by side each set their own, so their faults never meet.
FAULT_SCOPE: contextvars.ContextVar[str] = contextvars.ContextVar("fault_scope", default="")


OPERATIONS = (
    "book_flight", "book_hotel", "book_car", "charge_card", "confirm_trip",
    "cancel_flight", "cancel_hotel", "cancel_car", "refund", "send_email", "award_points",
    "store_request", "book_partner_car", "cancel_partner_car", "issue_tickets",
    "confirm_booking", "upgrade_room",
    # the online shop (orders.py, exercise 13)
    "reserve_stock", "release_stock", "authorise_payment", "void_authorisation", "capture_payment",
    "refund_capture", "book_pickup", "cancel_pickup", "hand_to_courier", "send_receipt",
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
    kind="hold": the call waits until release(operation, scope) (or ``seconds`` pass): a
    desk kept at work until a story's other events have happened, at any machine speed.
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
               "slow": "slow", "hold": "held"}.get(kind, "service unavailable")  # fmt: skip
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


def slowness(operation: str, trip_id: str, *, key: str) -> float:
    """How many seconds the call ``operation`` with ``key`` should take: the seconds of
    the "slow" fault injected for it (SLOW_SECONDS unless told), else 0. The caller waits that long (an
    activity, heartbeating as it waits, so that a cancel reaches it)."""
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}; choose from {OPERATIONS}")
    with _transaction() as conn:
        seconds = _fault(conn, operation, "slow", key, trip_id, field="seconds") or 0.0
        hold = _fault(conn, operation, "hold", key, trip_id, field="seconds")
    if hold:  # a "hold" fault: wait here until it is released
        deadline = time.monotonic() + hold
        while time.monotonic() < deadline and _held(operation, key, trip_id):
            time.sleep(0.05)
    return seconds


def release(operation: str, scope: str) -> None:
    """End the "hold" fault on ``operation`` for ``scope``: its held call goes on."""
    with _transaction() as conn:
        conn.execute("DELETE FROM faults WHERE operation = ? AND scope = ? AND kind = 'hold'", (operation, scope))


def _held(operation: str, key: str, trip_id: str) -> bool:
    with _transaction() as conn:
        return conn.execute(
            "SELECT 1 FROM faults WHERE operation = ? AND kind = 'hold' AND (substr(?, 1, length(scope)) = scope "
            "OR substr(?, 1, length(scope)) = scope)", (operation, key, trip_id),
        ).fetchone() is not None  # fmt: skip
