"""The online shop (exercise 13): the warehouse's stock per item, the card processor's
authorisations and captures, the courier's pickups, and the orders they serve.

A second domain beside the travel services, in the same style: every call takes an
idempotency ``key`` (repeating it returns what the first call made), every undo is safe
to repeat and a no-op when there is nothing to undo, business answers are
``BookingError``s and outages ``ServiceUnavailable``, and faults are injected through
``inject`` with these operations' names. An order is complete once its parcel is handed
to the courier (``hand_to_courier``): from then on what it holds is the customer's; until
then, stock reserved, money authorised or captured, or a pickup booked is an orphan for
the audit (workbook/audit.py).

    stock        reserved -> released (undo) | shipped (handed to the courier)
    authorisation authorised -> voided (undo) | captured (the capture took the money)
    capture      captured -> refunded (a return, customer service's business)
    pickup       booked -> cancelled (undo) | collected (handed to the courier)
"""

from __future__ import annotations

from dataclasses import dataclass

from workbook.world.cards import validate_card
from workbook.world.errors import BookingError, NoAvailability, UnknownItem
from workbook.world.faults import _operation
from workbook.world.store import _connect

ITEMS = [  # item, name, price in cents, on hand
    ("mug", "Saga mug", 1200, 20),
    ("tshirt", "Compensation T-shirt", 2500, 10),
    ("lamp", "Idempotent desk lamp", 4500, 3),
    ("poster", "Pivot poster", 900, 0),  # sold out
]
PREFIX = {"stock": "SK", "authorisation": "AU", "capture": "CP", "pickup": "PU"}
# What still takes something from someone while the order is not complete.
HOLDING = {"stock": ("reserved",), "authorisation": ("authorised",), "capture": ("captured",), "pickup": ("booked",)}

_TABLES = (
    "CREATE TABLE IF NOT EXISTS shop_items (item TEXT PRIMARY KEY, name TEXT NOT NULL, "
    "price_cents INTEGER NOT NULL, on_hand INTEGER NOT NULL)",
    # One row per order and kind; a stock row's quantity is in its lines (shop_lines).
    "CREATE TABLE IF NOT EXISTS shop_holds (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, "
    "order_id TEXT NOT NULL, key TEXT NOT NULL UNIQUE, item TEXT NOT NULL, amount_cents INTEGER NOT NULL, "
    "status TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS shop_lines (hold INTEGER NOT NULL, item TEXT NOT NULL, quantity INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS shop_orders (order_id TEXT PRIMARY KEY, status TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS shop_receipts (key TEXT PRIMARY KEY, order_id TEXT NOT NULL, email TEXT NOT NULL)",
)


@dataclass(frozen=True)
class Holding:
    id: str  # e.g. "SK-0001"
    kind: str  # "stock", "authorisation", "capture" or "pickup"
    order_id: str
    item: str  # "2 x mug, 1 x lamp"; "card ending 4242"; the address
    amount_cents: int
    status: str


def _ready(conn) -> None:
    """The shop's tables, created on first use (a fresh world has none), with its stock."""
    for sql in _TABLES:
        conn.execute(sql)
    for row in ITEMS:
        conn.execute("INSERT OR IGNORE INTO shop_items VALUES (?,?,?,?)", row)


def _holding(row) -> Holding:
    return Holding(f"{PREFIX[row['kind']]}-{row['id']:04d}", row["kind"], row["order_id"], row["item"],
                   row["amount_cents"], row["status"])  # fmt: skip


def _existing(conn, kind: str, order_id: str, key: str):
    row = conn.execute("SELECT * FROM shop_holds WHERE key = ?", (key,)).fetchone()
    if row is not None and (row["kind"] != kind or row["order_id"] != order_id):
        raise ValueError(
            f"idempotency key {key!r} was already used for the {row['kind']} of order "
            f"{row['order_id']!r}; give every step of every order its own key"
        )
    return row


def _insert(conn, kind: str, order_id: str, key: str, item: str, cents: int, status: str):
    cur = conn.execute(
        "INSERT INTO shop_holds (kind, order_id, key, item, amount_cents, status) VALUES (?,?,?,?,?,?)",
        (kind, order_id, key, item, cents, status),
    )
    return conn.execute("SELECT * FROM shop_holds WHERE id = ?", (cur.lastrowid,)).fetchone()


def _owner(key: str) -> str:
    """The order a key's holding belongs to (an undo's faults are scoped by it), or the key."""
    with _connect() as conn:
        _ready(conn)
        row = conn.execute("SELECT order_id FROM shop_holds WHERE key = ?", (key,)).fetchone()
    return row[0] if row else key


def _undo(operation: str, kind: str, key: str, to: str) -> bool:
    with _operation(operation, key, _owner(key)) as conn:
        _ready(conn)
        row = conn.execute("SELECT * FROM shop_holds WHERE key = ? AND kind = ?", (key, kind)).fetchone()
        if row is None or row["status"] not in HOLDING[kind]:
            conn.changed = False
            return False  # nothing to undo: safe to call again and again
        conn.execute("UPDATE shop_holds SET status = ? WHERE id = ?", (to, row["id"]))
        if kind == "stock":
            for line in conn.execute("SELECT item, quantity FROM shop_lines WHERE hold = ?", (row["id"],)).fetchall():
                conn.execute("UPDATE shop_items SET on_hand = on_hand + ? WHERE item = ?", (line[1], line[0]))
        return True


# --- the warehouse ---------------------------------------------------------------------


def add_item(item: str, name: str, price_cents: int, on_hand: int) -> None:
    """Stock the shop with ``item`` (or restock it): the checks give each order an item of
    its own, so its stock is exact whatever other orders do meanwhile."""
    with _connect() as conn:
        _ready(conn)
        conn.execute("INSERT OR REPLACE INTO shop_items VALUES (?,?,?,?)", (item, name, price_cents, on_hand))


def order_total(lines: list[tuple[str, int]]) -> int:
    """What the lines cost, in cents (an unknown item is an UnknownItem)."""
    with _connect() as conn:
        _ready(conn)
        return sum(_item(conn, item)["price_cents"] * quantity for item, quantity in lines)


def _item(conn, item: str):
    row = conn.execute("SELECT * FROM shop_items WHERE item = ?", (item,)).fetchone()
    if row is None:
        known = ", ".join(r[0] for r in conn.execute("SELECT item FROM shop_items ORDER BY rowid"))
        raise UnknownItem(f"the shop sells no {item!r} (it sells {known})")
    return row


def reserve_stock(order_id: str, lines: list[tuple[str, int]], *, key: str) -> str:
    """Set the order's items aside in the warehouse, all lines or none; the reservation's id."""
    with _operation("reserve_stock", key, order_id) as conn:
        _ready(conn)
        row = _existing(conn, "stock", order_id, key)
        if row is not None:
            return _holding(row).id
        if not lines:
            raise BookingError(f"order {order_id!r} has no items")
        for item, quantity in lines:
            found = _item(conn, item)
            if quantity < 1:
                raise BookingError(f"an order line needs at least one {found['name']}, not {quantity}")
            if found["on_hand"] < quantity:
                raise NoAvailability(f"reserve_stock: only {found['on_hand']} {found['name']} left, the order wants {quantity}")
        what = ", ".join(f"{quantity} x {item}" for item, quantity in lines)
        row = _insert(conn, "stock", order_id, key, what, order_total_in(conn, lines), "reserved")
        for item, quantity in lines:
            conn.execute("INSERT INTO shop_lines VALUES (?,?,?)", (row["id"], item, quantity))
            conn.execute("UPDATE shop_items SET on_hand = on_hand - ? WHERE item = ?", (quantity, item))
        return _holding(row).id


def order_total_in(conn, lines) -> int:
    return sum(_item(conn, item)["price_cents"] * quantity for item, quantity in lines)


def release_stock(*, key: str) -> bool:
    """Put the items reserved with ``key`` back on the shelf. True if any went back."""
    return _undo("release_stock", "stock", key, "released")


# --- the card processor: authorise, then capture ------------------------------------------


def authorise_payment(order_id: str, card_number: str, amount_cents: int, *, key: str) -> str:
    """Hold ``amount_cents`` on the card (nothing is taken yet); the authorisation's id."""
    with _operation("authorise_payment", key, order_id) as conn:
        _ready(conn)
        row = _existing(conn, "authorisation", order_id, key)
        if row is not None:
            return _holding(row).id
        validate_card(card_number)
        if amount_cents <= 0:
            raise BookingError(f"nothing to authorise: the amount is {amount_cents} cents")
        return _holding(_insert(conn, "authorisation", order_id, key, f"card ending {card_number[-4:]}",
                                amount_cents, "authorised")).id  # fmt: skip


def void_authorisation(*, key: str) -> bool:
    """Release the hold made with ``key`` (a captured one stays captured). True if voided."""
    return _undo("void_authorisation", "authorisation", key, "voided")


def capture_payment(order_id: str, *, authorisation_key: str, key: str) -> str:
    """Take the money the authorisation holds; the capture's id."""
    with _operation("capture_payment", key, order_id) as conn:
        _ready(conn)
        row = _existing(conn, "capture", order_id, key)
        if row is not None:
            return _holding(row).id
        held = _existing(conn, "authorisation", order_id, authorisation_key)
        if held is None or held["status"] != "authorised":
            why = "there is none" if held is None else f"it was {held['status']}"
            raise BookingError(f"capture_payment: no authorisation of order {order_id!r} to capture ({why})")
        conn.execute("UPDATE shop_holds SET status = 'captured' WHERE id = ?", (held["id"],))
        return _holding(_insert(conn, "capture", order_id, key, held["item"], held["amount_cents"], "captured")).id


def refund_capture(*, key: str) -> bool:
    """Give the captured money back (a return: customer service's business, not an undo)."""
    return _undo("refund_capture", "capture", key, "refunded")


# --- the courier ------------------------------------------------------------------------


def book_pickup(order_id: str, address: str, *, key: str) -> str:
    """Book the courier to collect the order's parcel; it needs the order's stock reserved."""
    with _operation("book_pickup", key, order_id) as conn:
        _ready(conn)
        row = _existing(conn, "pickup", order_id, key)
        if row is not None:
            return _holding(row).id
        if not address.strip():
            raise BookingError("book_pickup: the courier needs a delivery address")
        reserved = conn.execute(
            "SELECT 1 FROM shop_holds WHERE order_id = ? AND kind = 'stock' AND status = 'reserved'", (order_id,)
        ).fetchone()
        if reserved is None:
            raise BookingError(f"book_pickup: order {order_id!r} has no reserved stock to pick up")
        return _holding(_insert(conn, "pickup", order_id, key, address, 0, "booked")).id


def cancel_pickup(*, key: str) -> bool:
    """Cancel the pickup booked with ``key``. True if one was cancelled."""
    return _undo("cancel_pickup", "pickup", key, "cancelled")


def hand_to_courier(order_id: str, *, key: str) -> None:
    """Hand the paid parcel to the courier: the stock ships, the pickup is collected, and the
    order is complete. It needs the order's pickup booked and its payment captured."""
    with _operation("hand_to_courier", key, order_id) as conn:
        _ready(conn)
        done = conn.execute("SELECT status FROM shop_orders WHERE order_id = ?", (order_id,)).fetchone()
        if done is not None:
            conn.changed = False
            return
        for kind, status, missing in (("pickup", "booked", "no pickup booked"),
                                      ("capture", "captured", "its payment is not captured"),
                                      ("stock", "reserved", "no stock reserved")):  # fmt: skip
            if not conn.execute("SELECT 1 FROM shop_holds WHERE order_id = ? AND kind = ? AND status = ?",
                                (order_id, kind, status)).fetchone():  # fmt: skip
                raise BookingError(f"hand_to_courier: order {order_id!r} cannot ship: {missing}")
        conn.execute("UPDATE shop_holds SET status = 'collected' WHERE order_id = ? AND kind = 'pickup' AND status = 'booked'", (order_id,))
        conn.execute("UPDATE shop_holds SET status = 'shipped' WHERE order_id = ? AND kind = 'stock' AND status = 'reserved'", (order_id,))
        conn.execute("INSERT INTO shop_orders VALUES (?, 'complete')", (order_id,))


def send_receipt(order_id: str, email: str) -> None:
    """Mail the receipt. Auxiliary: the order stands whether or not it lands."""
    with _operation("send_receipt", f"{order_id}:receipt", order_id) as conn:
        _ready(conn)
        conn.execute("INSERT OR IGNORE INTO shop_receipts VALUES (?,?,?)", (f"{order_id}:receipt", order_id, email))


# --- reading ----------------------------------------------------------------------------


def holdings(order_id: str | None = None) -> list[Holding]:
    """Every stock reservation, authorisation, capture and pickup (of one order), oldest first."""
    with _connect() as conn:
        if not _exists(conn):
            return []
        rows = conn.execute("SELECT * FROM shop_holds WHERE ? IS NULL OR order_id = ? ORDER BY id",
                            (order_id, order_id)).fetchall()  # fmt: skip
    return [_holding(r) for r in rows]


def complete_orders() -> set[str]:
    with _connect() as conn:
        return {r[0] for r in conn.execute("SELECT order_id FROM shop_orders")} if _exists(conn) else set()


def is_complete(order_id: str) -> bool:
    return order_id in complete_orders()


def on_hand(item: str) -> int:
    """How many of ``item`` the warehouse has left on its shelves."""
    with _connect() as conn:
        if not _exists(conn):
            _ready(conn)
        row = conn.execute("SELECT on_hand FROM shop_items WHERE item = ?", (item,)).fetchone()
    if row is None:
        raise UnknownItem(f"the shop sells no {item!r}")
    return row[0]


def receipts(order_id: str | None = None) -> list[str]:
    """The addresses receipts were mailed to (of one order)."""
    with _connect() as conn:
        if not _exists(conn):
            return []
        return [r[0] for r in conn.execute("SELECT email FROM shop_receipts WHERE ? IS NULL OR order_id = ?",
                                           (order_id, order_id))]  # fmt: skip


def _exists(conn) -> bool:
    return conn.execute("SELECT name FROM sqlite_master WHERE name = 'shop_orders'").fetchone() is not None
