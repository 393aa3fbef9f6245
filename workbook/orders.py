"""The words of exercise 13's online shop: what a customer orders.

Plain dataclasses with no imports beyond the standard library, so workflow code can use
them inside Temporal's sandbox (as workbook/trips.py for the travel booking). No
``from __future__ import annotations``: the sandbox resolves Order's ``list[OrderLine]``
only as a real type, not as a string to look up.
"""


from dataclasses import dataclass, field


@dataclass
class OrderLine:
    item: str  # "mug", "tshirt", "lamp" or "poster" (see workbook/world/orders.py)
    quantity: int


@dataclass
class Order:
    """One customer's order: items from the warehouse, paid with one card, sent by courier."""

    order_id: str
    customer: str
    email: str
    address: str
    card_number: str
    lines: list[OrderLine] = field(default_factory=list)


def example_order(order_id: str = "order-001", **changes: object) -> Order:
    """The order exercise 13 fulfils unless told otherwise: 2 mugs and a lamp, $69."""
    order = Order(
        order_id=order_id,
        customer="Grace Hopper",
        email="grace@example.com",
        address="1 Harbour Street, New York",
        card_number="4242424242424242",
        lines=[OrderLine("mug", 2), OrderLine("lamp", 1)],
    )
    for name, value in changes.items():
        setattr(order, name, value)
    return order
