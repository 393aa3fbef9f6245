"""The card processor (payments): charges and refunds, with the card checks a bank makes."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from workbook.world.errors import BookingError, CardDeclined, InvalidCardNumber
from workbook.world.faults import _operation
from workbook.world.holds import _existing


DECLINED_CARD = "4000000000000002"  # a well-formed card the bank always refuses


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
