"""The starter: asks Temporal to fulfil the order, then shows what happened. The failure
switch in shared.py (FAILURE) decides what goes wrong."""

from workbook.entry import run_and_exit  # first: a typo in the files below is said in one line

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from shared import FAILURE, ORDER, TASK_QUEUE, WORKFLOW_ID, OrderLine
from workbook import world
from workbook.report import follow
from workbook.server import connect
from workbook.trips import TripError, validate_setting
from workflow import FulfilOrderWorkflow

# What each setting of the failure switch does to the shop (see shared.py).
FAILURES = {
    "": lambda: None,
    "sold out": lambda: ORDER.lines.append(OrderLine("poster", 1)),
    "card declined": lambda: setattr(ORDER, "card_number", world.DECLINED_CARD),
    "courier down": lambda: world.inject("book_pickup", "fail"),
    "capture refused": lambda: world.inject("capture_payment", "refuse", message="capture_payment: the authorisation has expired"),
    "courier slow": lambda: world.inject("hand_to_courier", "fail", times=5),
    "receipt down": lambda: world.inject("send_receipt", "fail"),
}


async def book(client: Client) -> int:
    # A typo in shared.py gets a clear message, not a stack trace, before anything happens.
    validate_setting("FAILURE", FAILURE, str)
    if FAILURE not in FAILURES:
        raise TripError(f"in shared.py, FAILURE is {FAILURE!r}: use one of {', '.join(map(repr, FAILURES))}.")
    world.reset()  # a fresh world, so the audit below shows this order alone
    FAILURES[FAILURE]()
    handle = await client.start_workflow(
        FulfilOrderWorkflow.run,
        ORDER,
        id=WORKFLOW_ID,
        task_queue=TASK_QUEUE,
        # An earlier run still stuck on this id is replaced, not waited for.
        id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
    )
    # Wait for the result, then print it, the saga timeline and the audit.
    return await follow(handle, done="Order fulfilled", not_done="Order not fulfilled")


async def main() -> int:
    return await book(await connect())


if __name__ == "__main__":
    run_and_exit(main)
