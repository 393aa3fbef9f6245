"""Settings the worker and the starter share: the task queue, the order to fulfil, what
the workflow returns, and the failure switch."""

from dataclasses import dataclass, field

from workbook.orders import Order, OrderLine, example_order  # noqa: F401  (the order's dataclasses)

TASK_QUEUE = "saga-13-order-fulfilment"
WORKFLOW_ID = "order-13"


@dataclass
class Fulfilment:
    """What a fulfilled order holds: one id per step, and the notices of what went wrong
    after the payment was captured (a receipt that did not go out, a parcel a person ships)."""

    order_id: str
    stock_reservation: str
    authorisation: str
    pickup: str
    capture: str
    notices: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (
            f"stock {self.stock_reservation}, authorisation {self.authorisation}, "
            f"pickup {self.pickup}, capture {self.capture}"
        )
        return text + "".join(f"\n  notice: {notice}" for notice in self.notices)


# ==== FAILURE SWITCH (Part D) ==================================================
# What goes wrong with the next order (python starter.py reads it each time):
#   ""                  nothing: the order is fulfilled
#   "sold out"          the order wants a poster, and the warehouse has none
#   "card declined"     the bank declines the card when the payment is authorised
#   "courier down"      the courier's booking desk is down, and stays down
#   "capture refused"   the bank refuses to capture the money it authorised
#   "courier slow"      handing the parcel over fails five times, then works
#   "receipt down"      the mail service is down, and stays down
FAILURE = ""
# ===============================================================================

ORDER = example_order(WORKFLOW_ID)
