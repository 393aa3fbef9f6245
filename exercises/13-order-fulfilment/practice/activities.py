"""The activities: thin calls into the online shop (workbook/world/orders.py), one undo
for every step that has one, and a way to hand an order to a person.

Each step uses an idempotency key made from the order id and the step's name, so a retry
finds what the first attempt did, and the undo finds it too. A business answer (sold out,
a declined card, a refusal) is final: the step fails at once. An outage is retried, as
the workflow's retry policy says.
"""

from contextlib import contextmanager

from temporalio import activity
from temporalio.exceptions import ApplicationError

from workbook import world
from workbook.orders import Order

shop = world.orders


def key(order: Order, step: str) -> str:
    return f"{order.order_id}:{step}"


@contextmanager
def business_errors_are_final():
    """A sold-out item or a declined card won't change on the next attempt: fail the step
    at once. Outages (world.ServiceUnavailable) pass through and are retried."""
    try:
        yield
    except world.BookingError as err:
        raise ApplicationError(str(err), type=type(err).__name__, non_retryable=True) from err


def lines(order: Order) -> list[tuple[str, int]]:
    return [(line.item, line.quantity) for line in order.lines]


@activity.defn
def reserve_stock(order: Order) -> str:
    with business_errors_are_final():
        return shop.reserve_stock(order.order_id, lines(order), key=key(order, "stock"))


@activity.defn
def release_stock(order: Order) -> None:
    shop.release_stock(key=key(order, "stock"))


@activity.defn
def authorise_payment(order: Order) -> str:
    """Hold what the order costs on the card; nothing is taken until the capture."""
    with business_errors_are_final():
        amount = shop.order_total(lines(order))
        return shop.authorise_payment(order.order_id, order.card_number, amount, key=key(order, "authorisation"))


@activity.defn
def void_authorisation(order: Order) -> None:
    # The bank may refuse to void for good (world.Refused): final, like a business error.
    with business_errors_are_final():
        shop.void_authorisation(key=key(order, "authorisation"))


@activity.defn
def book_pickup(order: Order) -> str:
    with business_errors_are_final():
        return shop.book_pickup(order.order_id, order.address, key=key(order, "pickup"))


@activity.defn
def cancel_pickup(order: Order) -> None:
    shop.cancel_pickup(key=key(order, "pickup"))


@activity.defn
def capture_payment(order: Order) -> str:
    """Take the money the authorisation holds: the point of no return."""
    with business_errors_are_final():
        return shop.capture_payment(
            order.order_id, authorisation_key=key(order, "authorisation"), key=key(order, "capture")
        )


@activity.defn
def hand_to_courier(order: Order) -> None:
    """Hand the parcel to the courier: the order is complete."""
    with business_errors_are_final():
        shop.hand_to_courier(order.order_id, key=key(order, "courier"))


@activity.defn
def send_receipt(order: Order) -> None:
    with business_errors_are_final():
        shop.send_receipt(order.order_id, order.email)


@activity.defn
def flag_for_attention(order: Order, reason: str) -> None:
    """Hand the order to a person: something failed for good, someone must settle it."""
    world.flag_for_attention(order.order_id, reason)


ALL_ACTIVITIES = [
    reserve_stock, release_stock, authorise_payment, void_authorisation, book_pickup, cancel_pickup,
    capture_payment, hand_to_courier, send_receipt, flag_for_attention,
]  # fmt: skip
