"""The order-fulfilment saga: reserve the stock, authorise the payment, book the pickup;
capture the payment (the pivot); hand the parcel to the courier; mail the receipt.

Before the capture, every step that did something can be undone: a failure or the
customer's cancel undoes them newest first, each undo retried until it works, and an undo
refused for good is flagged for a person. The capture is the point of no return: once it
has been asked for, a cancel is too late, and once it succeeded nothing is undone: the
parcel goes to the courier however long that takes, and the receipt (auxiliary) gets a
few tries and a notice.
"""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities import (
        authorise_payment, book_pickup, cancel_pickup, capture_payment, flag_for_attention, hand_to_courier,
        release_stock, reserve_stock, send_receipt, void_authorisation,
    )  # fmt: skip
    from shared import Fulfilment, Order

# A step gets a few attempts: outages pass, business errors fail at once. A cancelled step
# is waited for until its desk has settled, so its undo finds what it did.
STEP = dict(
    start_to_close_timeout=timedelta(seconds=30),
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),
    cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
)
# An undo, and the hand-over after the capture, must not give up on an outage.
UNDO = dict(start_to_close_timeout=timedelta(seconds=10), retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1)))
FORWARD = dict(
    start_to_close_timeout=timedelta(seconds=30),
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5)),
)
# The receipt is auxiliary: a few tries, then a notice.
RECEIPT = dict(start_to_close_timeout=timedelta(seconds=10), retry_policy=RetryPolicy(maximum_attempts=3))


@workflow.defn
class FulfilOrderWorkflow:
    @workflow.run
    async def run(self, order: Order) -> Fulfilment:
        """Fulfil ``order``: the rules are in the exercise's README.md."""
        undos = []  # the undos of the steps started so far, oldest first
        try:
            undos.append(release_stock)
            stock = await step(reserve_stock, order)
            undos.append(void_authorisation)
            authorisation = await step(authorise_payment, order)
            undos.append(cancel_pickup)
            pickup = await step(book_pickup, order)
            # The pivot: from the moment it is asked for, a cancel no longer stops the order.
            capture = await to_the_end(workflow.execute_activity(capture_payment, order, **STEP))
        except (Exception, asyncio.CancelledError):
            failed = await to_the_end(undo_all(order, undos))
            if failed:
                reason = "; ".join(failed)
                await workflow.execute_activity(flag_for_attention, args=[order, reason], **UNDO)
                raise ApplicationError(f"compensation failed: {reason}; the order needs a person")
            raise  # a cancel ends the workflow Canceled; a failed step ends it Failed
        fulfilment = Fulfilment(order.order_id, stock, authorisation, pickup, capture)
        return await to_the_end(ship(order, fulfilment))


async def step(activity, order: Order):
    """Run one step. If the customer cancels while it runs, wait until its desk has
    settled (whatever it did is then registered to be undone), then pass the cancel on."""
    running = asyncio.ensure_future(workflow.execute_activity(activity, order, **STEP))
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        if not running.done():
            running.cancel()
            await workflow.wait([running])
        raise


async def to_the_end(work):
    """Await ``work`` to the end, even if the customer cancels while it runs."""
    running = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        return await running


async def ship(order: Order, fulfilment: Fulfilment) -> Fulfilment:
    """After the capture: hand the parcel over (retried until it works; a refusal goes to a
    person, nothing is undone), then mail the receipt (auxiliary)."""
    try:
        await workflow.execute_activity(hand_to_courier, order, **FORWARD)
    except ActivityError as err:  # only a refusal ends FORWARD's retries
        reason = f"parcel not handed to the courier: {err.cause.message if err.cause else err}"
        await workflow.execute_activity(flag_for_attention, args=[order, reason], **UNDO)
        fulfilment.notices.append(f"{reason}; a person will ship it")
    try:
        await workflow.execute_activity(send_receipt, order, **RECEIPT)
    except ActivityError as err:
        fulfilment.notices.append(f"receipt not sent: {err.cause.message if err.cause else err}")
    return fulfilment


async def undo_all(order: Order, undos: list) -> list[str]:
    """Run the undos newest first, each in a try of its own; return those that failed."""
    failed = []
    for undo in reversed(undos):
        try:
            await workflow.execute_activity(undo, order, **UNDO)
        except ActivityError as err:
            failed.append(f"{undo.__name__} ({err.cause.message if err.cause else err})")
    return failed
