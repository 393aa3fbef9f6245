"""The order-fulfilment saga: yours to design. Read the rules in the exercise's README.md.

The steps are in activities.py, each a thin call into the shop: reserve_stock,
authorise_payment, book_pickup, capture_payment, hand_to_courier and send_receipt, with
release_stock, void_authorisation and cancel_pickup to undo, and flag_for_attention to
hand an order to a person. Import them as earlier exercises did (inside
workflow.unsafe.imports_passed_through()); shared.py holds Order and Fulfilment.
"""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from shared import Fulfilment, Order


@workflow.defn
class FulfilOrderWorkflow:
    @workflow.run
    async def run(self, order: Order) -> Fulfilment:
        """Fulfil ``order``, keeping every rule of the README:

        1. Never leave stock reserved, money authorised or captured, or a pickup booked for
           an order that is not complete.
        2. Capture the money only once the stock is reserved, the payment authorised and
           the pickup booked.
        3. Once the money is captured, undo nothing.
        4. Take the stock and the money once, exactly.
        5. A short outage (a couple of failed calls) at any step costs the customer nothing.
        6. Before the capture, an outage that lasts gets a few attempts, then the order is
           undone and the workflow fails.
        7. A refusal before the capture (sold out, a declined card, no courier, the capture
           refused) undoes the order, and the workflow fails with its reason.
        8. An undo never gives up on an outage; one refused for good is flagged for a person,
           the other undos still run, and the workflow fails naming it.
        9. The customer may cancel until the capture: everything is undone (a step at work
           when the cancel arrives, once it has settled), and the workflow ends Canceled.
           From the capture on, a cancel is too late: the order ships.
        10. After the capture, go forward: hand the parcel to the courier however many tries
            it takes; if the courier refuses it for good, flag the order for a person, undo
            nothing, and complete.
        11. The receipt is auxiliary: a few tries; if it cannot be sent, the order stands.
        12. A restarted worker changes nothing (Temporal replays your workflow's history).

        Return a Fulfilment naming what each step returned.
        """
        raise NotImplementedError("design the order's saga: see the rules above and the README")
