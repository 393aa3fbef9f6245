"""Checks for exercise 13: an order's fulfilment, designed from the business rules alone.

The learner writes the whole workflow; the checks judge only what each order leaves behind
(its status, the shop's stock, the money authorised or captured, the pickup, the receipt,
the flags) and the few facts of history the rules are about (what ran after the capture,
when the capture started). Any structure passes that keeps the rules: a compensations
list, exercise 08's Saga helper, steps in helper methods, steps side by side.

Every order is given an item of its own (world.orders.add_item), so its stock is exact
whatever the other orders of the checks, run side by side on one worker, do meanwhile.
Faults are scoped to each order; a desk at work is held (Lab.book(held=...)) until the
workflow has nothing else to do, so a cancel always finds it at work, on every run.

What the README's rules say, and what proves them:

| README rule                                        | scenario (check)                              | what fails when it is violated                       |
| -------------------------------------------------- | --------------------------------------------- | ---------------------------------------------------- |
| 1 nothing left behind (stock, money, pickup) for   | every scenario                                | "nothing was undone"; "never ran"; "stayed reserved",|
|   an order that is not complete                    |                                               | "stayed authorised", "stayed captured", "booked"     |
| 2 capture only once stock, authorisation and       | fulfilled (history: the capture's start after | "captured the money before"; a pickup beside the     |
|   pickup are in place                              | the three steps completed; the warehouse held | stock: "no reserved stock to pick up"                |
|                                                    | so it answers last)                           |                                                      |
| 3 nothing undone once the money is captured        | after_the_capture, cancels                    | "ran after the money was captured"                   |
| 4 stock and money taken once, exactly              | fulfilled, lost_replies (the first reply of   | "on the shelf", "captured N times"                   |
|                                                    | every step lost)                              |                                                      |
| 5 a short outage costs the customer nothing        | short_outages: two failed calls at every step | "gave up after N attempt(s) on an outage of two"     |
| 6 an outage that lasts undoes the order before the | long_outages: each step up to the capture     | "retried an outage without end"; what stayed behind  |
|   capture (a few attempts), Failed                 | down for good                                 |                                                      |
| 7 a refusal up to the capture undoes the order     | refusals: at each of the four steps; the      | what stayed behind; "ended Completed"; "ran while    |
|                                                    | authorisation held while the stock is refused | ... was still at work" (steps side by side)          |
| 1/4 an undo planned before its step                | lost_replies: each step before the capture    | "its reply never came back ... plan its undo before" |
|                                                    | does its work and loses every reply           |                                                      |
| 8 undos never give up; one refused for good is     | failing_undos: each undo meets three failed   | "gave up on an outage"; "stopped the rest"; "nobody  |
|   flagged, the others still run, Failed naming it; | calls; the void refused for good; a cancel    | was told"; "does not name"; "cut the undos short"    |
|   a cancel does not cut them short                 | while cancel_pickup is at work                |                                                      |
| 9 a cancel before the capture undoes it all,       | cancels: at each step (the desk held at work) | "nothing was undone"; "ran while ... was still at    |
|   Canceled; from the capture on, it is too late    | and at the capture and the hand-over          | work"; "the cancel was lost"; "came too late"        |
| 10 after the capture, go forward: the hand-over    | after_the_capture: three failed calls; the    | "gave up after N attempt(s)"; "nobody was told";     |
|   retried until it works; a refusal flagged,       | courier refuses                               | "ended Failed"                                       |
|   nothing undone, Completed                        |                                               |                                                      |
| 11 the receipt is auxiliary: a few tries, then the | after_the_capture: refused; down for good     | "retried the mail outage without end"; "ended Failed"|
|   order stands (Completed)                         |                                               |                                                      |
| 12 a restarted worker changes nothing              | worker_restarts: every workflow task replays  | what the replay changed, as any rule above           |
|                                                    | the history (a worker with no cache)          |                                                      |

Each scenario names the first cause it finds, in this order: a bug in the code, a step or the
receipt that retries without end, a capture too early, an undo after the capture, an undo cut
short by a cancel or giving up, then how the order ended and what it left behind. One mistake
has one ``mistake`` name, so the checks after the first that meet it say "failed the same way".

A source scan never fails an answer: these checks read no source at all, beyond naming the
line of a bug the run showed (an activity called wrongly). They run on a local dev server
(Suite.server = "dev"): the time-skipping test server mishandles activities run after a
workflow was cancelled.
"""

from __future__ import annotations

import asyncio
import uuid

from temporalio.client import WorkflowFailureError

from workbook import world
from workbook.audit import dollars
from temporalio.worker import Worker

from workbook.checks import CheckFailed, CodeError, Outcome, Suite, arrow, expect
from workbook.checks.fast_retries import FastRetries
from workbook.checks.observe import Observer
from workbook.checks.saga import BUSINESS_ERRORS, OUTAGES, _activity_bug
from workbook.orders import OrderLine, example_order

suite = Suite("13", "On your own: an order's fulfilment, judged by its outcome", server="dev",
              workflow="FulfilOrderWorkflow")  # fmt: skip

BEFORE = ["reserve_stock", "authorise_payment", "book_pickup"]  # what the capture needs in place
STEPS = [*BEFORE, "capture_payment", "hand_to_courier", "send_receipt"]
UNDO_OF = {"reserve_stock": "release_stock", "authorise_payment": "void_authorisation", "book_pickup": "cancel_pickup"}
KIND_OF = {"reserve_stock": "stock", "authorise_payment": "authorisation", "book_pickup": "pickup"}
OPERATION = {"void_authorisation": "void_authorisation", "release_stock": "release_stock", "cancel_pickup": "cancel_pickup"}
ON_HAND, QUANTITY, PRICE = 5, 2, 1500  # each order's own item: 5 on the shelf, 2 ordered, $15 each
SHORT = 2  # failed calls of a short outage: a step with three attempts rides it out
LONG = 3  # failed calls of the hand-over's outage: as many as a step's few attempts (three) allow


def order(lab, **changes):
    """A fresh order of ``QUANTITY`` of an item of its own (``ON_HAND`` on the shelf)."""
    lab._trips += 1
    order_id = f"{lab.prefix}-{lab._trips}-{uuid.uuid4().hex[:6]}"
    item = f"item-{order_id}"
    STOCKED[item] = changes.pop("on_hand", ON_HAND)
    world.orders.add_item(item, f"item of {order_id}", PRICE, STOCKED[item])
    return example_order(order_id, lines=[OrderLine(item, QUANTITY)], **changes)


STOCKED: dict[str, int] = {}  # each order's item: how many were on the shelf to begin with


def _item(outcome: Outcome) -> str:
    return outcome.trip.lines[0].item


def _runs(outcome: Outcome, name: str):
    return [r for r in outcome.timeline.runs if r.name == name]


def _still(outcome: Outcome, step: str) -> bool:
    """Does what ``step`` did still hold something (stock reserved, money authorised, a pickup)?"""
    kind = KIND_OF[step]
    return any(h.status in world.orders.HOLDING[kind] for h in _kind(outcome, kind))


def _kind(outcome: Outcome, kind: str):
    return [h for h in world.orders.holdings(outcome.trip.order_id) if h.kind == kind]


async def run(lab, the_order, **options) -> Outcome:
    outcome = await lab.book(the_order, **options)
    for r in outcome.timeline.runs:  # a bug in the code, before anything else
        if r.outcome in ("failed", "timed out") and r.error_type not in BUSINESS_ERRORS | OUTAGES:
            raise CodeError(_activity_bug(r, lab))
    outcome.message = ""  # the message the workflow failed with (Outcome.error is its root cause)
    if outcome.status == "Failed":
        try:
            await lab.client.get_workflow_handle(the_order.order_id).result()
        except WorkflowFailureError as failure:
            outcome.message = getattr(failure.cause, "message", "") or str(failure.cause)
    return outcome


async def run_all(*runs) -> list[Outcome]:
    """Run several orders at once; a failure names the first in the order written."""
    outcomes = await asyncio.gather(*runs, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return outcomes


# --- what an order left behind ------------------------------------------------------------


def _left_behind(outcome: Outcome) -> list[str]:
    words = {"stock": "stock {id} ({item}) stayed reserved", "authorisation": "{amount} stayed authorised on the card ({id})",
             "capture": "{amount} stayed captured ({id})", "pickup": "pickup {id} stayed booked"}  # fmt: skip
    return [words.get(o.kind, "{id} stayed held").format(id=o.id, item=o.item, amount=dollars(o.amount_cents))
            for o in outcome.report.orphans]  # fmt: skip


def _after_capture(outcome: Outcome) -> list[str]:
    """The undos that started after the capture had taken the money."""
    captured = [r for r in _runs(outcome, "capture_payment") if r.outcome == "completed"]
    if not captured:
        return []
    return [r.name for r in outcome.timeline.runs if r.compensation and r.scheduled_event > captured[0].closed_event]


def _expect_nothing_undone_after_capture(outcome: Outcome) -> None:
    undone = _after_capture(outcome)
    if undone:
        raise CheckFailed(
            f"Rule 3 broken: {arrow(undone)} ran after the money was captured: the order was undone "
            "after the point of no return. Once capture_payment has succeeded, go forward: hand the parcel "
            "over and mail the receipt, outside the part of your saga that undoes.",
            mistake="undone after capture",
        )


def _expect_capture_last(outcome: Outcome) -> None:
    for capture in _runs(outcome, "capture_payment")[:1]:
        early = []
        for step in BEFORE:
            done = [r for r in _runs(outcome, step) if r.outcome == "completed"]
            if not done or done[0].closed_event > capture.scheduled_event:
                early.append(step)
        if early:
            raise CheckFailed(
                f"Rule 2 broken: your saga captured the money before {arrow(early)} had finished. The capture "
                "is the point of no return: start it only once the stock is reserved, the payment authorised "
                "and the pickup booked.",
                mistake="capture early",
            )


def _endless(outcome: Outcome, why: str) -> None:
    if not outcome.endless:
        return
    if outcome.endless == "send_receipt":
        raise CheckFailed(
            "Rule 11 broken: send_receipt retried the mail outage without end, so the order never finished. "
            "The receipt is auxiliary: give it a few attempts (maximum_attempts), then note it and finish.",
            mistake="receipt endless",
        )
    if outcome.endless in BEFORE or outcome.endless == "capture_payment":
        raise CheckFailed(
            f"Rule 6 broken: {outcome.endless} retried an outage without end ({why}), so the customer waits "
            "forever and the stock stays reserved. Before the capture, a step gets a few attempts "
            "(maximum_attempts), then the order is undone.",
            mistake="step endless",
        )
    raise CheckFailed(f"{outcome.endless} retried without end ({why}), so the order never finished.")


def expect_fulfilled(outcome: Outcome, why: str, *, receipt: bool = True, flagged: bool = False) -> None:
    """Completed, complete in the shop, stock and money taken once, nothing undone."""
    order_id = outcome.trip.order_id
    _endless(outcome, why)
    _expect_capture_last(outcome)
    _expect_nothing_undone_after_capture(outcome)
    if outcome.status != "Completed":
        gave_up = [r for r in outcome.timeline.runs if not r.compensation and r.outcome in ("failed", "timed out")
                   and r.error_type in OUTAGES]  # fmt: skip
        if gave_up and why.startswith(("two failed calls", "the first reply")):  # a retry too few
            run = gave_up[0]
            raise CheckFailed(
                f"Rule 5 broken: {run.name} gave up after {run.attempts} attempt(s) on an outage of two calls, "
                "so the order was not fulfilled. A short outage must cost the customer nothing: give every step "
                "at least three attempts.",
                mistake="short outage",
            )
        after = [r.name for r in _runs(outcome, "hand_to_courier") + _runs(outcome, "send_receipt")
                 if r.outcome != "completed"]  # fmt: skip
        if after and _runs(outcome, "capture_payment") and _runs(outcome, "capture_payment")[-1].outcome == "completed":
            rule = "11" if after[0] == "send_receipt" else "10"
            raise CheckFailed(
                f"Rule {rule} broken: the money was captured, then {after[0]} failed ({why}), and the workflow "
                f"ended {outcome.status}. After the capture the order never fails: "
                + ("the receipt is auxiliary: note it and finish." if rule == "11" else
                   "retry the hand-over until it works, and flag a refusal for a person."),
                mistake=f"failed after capture {rule}",
            )  # fmt: skip
        raise CheckFailed(f"the order was not fulfilled ({why}): the workflow ended {outcome.status}: {outcome.error}")
    undone = [r.name for r in outcome.timeline.runs if r.compensation]
    expect(not undone, f"nothing failed for good ({why}), yet {arrow(undone)} ran: undo only when the order cannot go on.")
    handed = _runs(outcome, "hand_to_courier")
    if handed and handed[-1].outcome in ("failed", "timed out") and handed[-1].error_type in OUTAGES:
        raise CheckFailed(
            f"Rule 10 broken: hand_to_courier gave up after {handed[-1].attempts} attempt(s) on an outage ({why}), "
            "so the parcel never left although the customer paid. After the capture, hand the parcel over however "
            "many tries it takes: a retry policy without maximum_attempts.",
            mistake="hand-over gave up",
        )
    if not flagged:
        expect(world.orders.is_complete(order_id), f"the workflow completed ({why}), but the parcel was never handed to "
               "the courier: hand_to_courier is what completes the order.")  # fmt: skip
    captures = [h for h in _kind(outcome, "capture") if h.status == "captured"]
    expect(len(captures) == 1, f"Rule 4 broken: the money was captured {len(captures)} times ({why}); capture it once.")
    total = QUANTITY * PRICE
    expect(captures[0].amount_cents == total, f"Rule 4 broken: {dollars(captures[0].amount_cents)} was captured; the "
           f"order costs {dollars(total)}.")  # fmt: skip
    shelf = world.orders.on_hand(_item(outcome))
    expect(shelf == ON_HAND - QUANTITY, f"Rule 4 broken: {shelf} of the order's item are on the shelf ({why}); expected "
           f"{ON_HAND - QUANTITY}: {QUANTITY} of {ON_HAND} taken, once.")  # fmt: skip
    if receipt:
        expect(world.orders.receipts(order_id), f"the order was fulfilled ({why}), but no receipt was mailed: "
               "send_receipt comes last.")  # fmt: skip
    if flagged:
        expect(world.flags(order_id), f"Rule 10 broken: the courier refused the parcel for good ({why}), and nobody was "
               "told: the customer has paid for a parcel that will never leave. Call flag_for_attention(order, reason) "
               "so a person ships it, and complete the workflow.")  # fmt: skip
        stock = [h.status for h in _kind(outcome, "stock")]
        expect(stock == ["reserved"], f"Rule 3 broken: the order's stock is {stock} after the capture; it must stay "
               "reserved for the person who ships it.")  # fmt: skip
    else:
        expect(not world.flags(order_id), f"nothing failed for good ({why}), yet the order was flagged for a person: "
               f"{next(iter(world.flags(order_id).values()), '')}.")  # fmt: skip
    expect(not outcome.report.orphans, f"Rule 1 broken ({why}): {'; '.join(_left_behind(outcome))}.")


def expect_undone(outcome: Outcome, why: str, *, cancelled: bool = False, refused: str = "",
                  while_undoing: bool = False) -> None:
    """Nothing left behind: the stock back on the shelf, no money held or taken, no pickup;
    Failed (Canceled after a cancel); ``refused``: that undo was refused for good, and the
    order is flagged, the workflow failing with its name."""
    order_id = outcome.trip.order_id
    _endless(outcome, why)
    _expect_capture_last(outcome)
    _expect_nothing_undone_after_capture(outcome)
    undone = [r for r in outcome.timeline.runs if r.compensation]
    cut = [r.name for r in undone if r.cancel_requested or r.outcome == "cancelled"]
    if cut:
        raise CheckFailed(
            f"Rule 8 broken: the customer's cancel reached {arrow(cut)} ({why}): the cancel cut the undos short, "
            "as if the undo had failed. Once undoing has begun, finish it: shield the undos from a cancel "
            "(asyncio.shield, and await them to the end).",
            mistake="undos cut short",
        )
    gave_up = [r for r in undone if r.outcome in ("failed", "timed out") and r.error_type in OUTAGES]
    if gave_up:
        raise CheckFailed(
            f"Rule 8 broken: {gave_up[0].name} gave up on an outage after {gave_up[0].attempts} attempt(s) ({why}), "
            f"so {'; '.join(_left_behind(outcome)) or 'its work stayed behind'}. An undo must retry an outage until "
            "it passes (a retry policy without maximum_attempts).",
            mistake="undo gave up",
        )
    if outcome.status == "Completed" and not world.orders.is_complete(order_id) and undone:
        raise CheckFailed(
            f"the order was undone ({why}), yet the workflow ended Completed, as if it had been fulfilled. "
            "After undoing, re-raise the error (`raise`), so the workflow ends "
            f"{'Canceled' if cancelled else 'Failed'}.",
            mistake="not re-raised",
        )
    if cancelled and outcome.status == "Completed" and world.orders.is_complete(order_id):
        raise CheckFailed(
            f"Rule 9 broken: the customer cancelled {why}, and the order was fulfilled anyway: the cancel was lost. "
            "Until the capture, a cancel undoes the order: a step at work when it arrives is waited for, "
            "then undone, and the workflow ends Canceled.",
            mistake="cancel lost",
        )
    left = _left_behind(outcome)
    held = [f"{h.kind} {h.id} stayed {h.status}" for h in world.orders.holdings(order_id)
            if h.status in world.orders.HOLDING[h.kind]]  # fmt: skip
    refusals = [u for u in undone if u.outcome in ("failed", "timed out") and u.error_type in BUSINESS_ERRORS]
    if held:  # flagged or not: a flag does not excuse an undo that never ran
        lost = [step for step in BEFORE if _runs(outcome, step) and _runs(outcome, step)[-1].outcome != "completed"
                and _still(outcome, step) and not _runs(outcome, UNDO_OF[step])]  # fmt: skip
        if lost:
            raise CheckFailed(
                f"Rule 1 broken: {lost[0]} did its work ({why}), but its reply never came back, and "
                f"{UNDO_OF[lost[0]]} never ran, so {'; '.join(left or held)}. A step that failed may still have done its "
                "work: plan its undo before the step starts, not after it returns.",
                mistake="undo planned late",
            )
        stopped = [UNDO_OF[step] for step in BEFORE if _still(outcome, step) and not _runs(outcome, UNDO_OF[step])]
        if while_undoing and stopped:
            raise CheckFailed(
                f"Rule 8 broken: the customer cancelled while the undos ran ({why}), and then {arrow(stopped)} never "
                f"ran, so {'; '.join(left or held)}: the cancel cut the undos short. Once undoing has begun, finish it: "
                "shield the undos from a cancel (asyncio.shield, and await them to the end).",
                mistake="undos cut short",
            )
        if refusals and stopped:
            raise CheckFailed(
                f"Rule 8 broken: {refusals[0].name} was refused for good ({why}), and then {arrow(stopped)} never "
                f"ran, so {'; '.join(left or held)}: the undo that failed stopped the rest. Give each undo a try of its own, "
                "note the failure, and go on with the next.",
                mistake="undo stopped the rest",
            )
    if left:
        if refusals and not world.flags(order_id):
            raise CheckFailed(
                f"Rule 8 broken: {refusals[0].name} was refused for good ({refusals[0].error}; {why}), and nobody was "
                f"told, so {'; '.join(left)}, silently. Call flag_for_attention(order, reason) when an undo fails "
                "for good, so a person settles it; then fail the workflow naming it.",
                mistake="refusal not flagged",
            )
        if not undone:
            raise CheckFailed(
                f"Rule 1 broken: nothing was undone ({why}), so {'; '.join(left)}. When the order cannot go on "
                "(a failure, or the customer's cancel), undo every step that did something.",
                mistake="nothing undone",
            )
        for step, undo in UNDO_OF.items():
            still = [h for h in _kind(outcome, KIND_OF[step]) if h.status in world.orders.HOLDING[KIND_OF[step]]]
            if not still:
                continue
            runs = _runs(outcome, step)
            undos = _runs(outcome, undo)
            if undos and runs and any(u.scheduled_event < (runs[-1].closed_event or 10**9) for u in undos):
                raise CheckFailed(
                    f"Rule 9 broken: {undo} ran while {step} was still at work ({why}); the step finished a moment "
                    f"later, and {'; '.join(left)}. Wait until a step at work has settled (for a cancelled step: "
                    "cancellation_type=WAIT_CANCELLATION_COMPLETED, or await it to the end), then undo it.",
                    mistake="undone before settled",
                )
            if runs and runs[-1].outcome != "completed":
                raise CheckFailed(
                    f"Rule 1 broken: {step} did its work ({why}), but its reply never came back, and {undo} never "
                    f"ran, so {'; '.join(left)}. A step that failed may still have done its work: plan its undo "
                    "before the step starts, not after it returns.",
                    mistake="undo planned late",
                )
            raise CheckFailed(
                f"Rule 1 broken: {step} went through, but {undo} never ran ({why}), so {'; '.join(left)}. "
                f"Undo every step that did something (the undos ran: {arrow([u.name for u in undone])}).",
                mistake=f"missing {undo}",
            )
        raise CheckFailed(f"Rule 1 broken ({why}): {'; '.join(left)}.")
    shelf, stocked = world.orders.on_hand(_item(outcome)), STOCKED[_item(outcome)]
    expect(shelf == stocked, f"Rule 4 broken: {shelf} of the order's item are on the shelf after it was undone "
           f"({why}); expected all {stocked} back.")  # fmt: skip
    if refused:
        expect(world.flags(order_id), f"Rule 8 broken: the bank refused {refused} for good ({why}), and nobody was "
               "told. Call flag_for_attention(order, reason) when an undo fails for good, so a person settles it.",
               )  # fmt: skip
        expect(outcome.status == "Failed", f"an undo failed for good ({why}), yet the workflow ended {outcome.status}; "
               "expected Failed.")  # fmt: skip
        expect(refused in outcome.message, f"Rule 8 broken: the workflow failed with {outcome.message!r}, which does not "
               f"name the undo that failed ({refused}): raise an error that lists every failed undo.")  # fmt: skip
        return
    expect(not world.flags(order_id), f"every undo worked ({why}), yet the order was flagged for a person: flag an "
           "order only when an undo failed for good.")  # fmt: skip
    # A cancel that arrives while a failure is being undone may end it either way: the failure's
    # error re-raised (Failed), or the cancel (Canceled).
    wanted = ("Failed", "Canceled") if while_undoing else ("Canceled",) if cancelled else ("Failed",)
    expect(outcome.status in wanted, f"the order was undone ({why}), and the workflow ended {outcome.status}; expected "
           f"{wanted[0]}. After undoing, re-raise (`raise`).")  # fmt: skip


# --- the checks ---------------------------------------------------------------------------


@suite.check("An order with nothing going wrong is fulfilled: stock, money and pickup taken once, the receipt mailed")
async def fulfilled(lab):
    # The warehouse answers last: a pickup booked side by side with the stock finds none to collect.
    expect_fulfilled(await run(lab, order(lab), held=("reserve_stock",)), "nothing went wrong")


@suite.check("A short outage (two failed calls) at every step costs the customer nothing")
async def short_outages(lab):
    # Two orders, each meeting three of the outages: fewer orders than steps, fewer retries in a row than six.
    orders = [order(lab), order(lab)]
    for index, operation in enumerate(STEPS):
        world.inject(operation, "fail", times=SHORT, scope=orders[index % 2].order_id)
    for index, outcome in enumerate(await run_all(*(run(lab, o) for o in orders))):
        expect_fulfilled(outcome, f"two failed calls at {', '.join(STEPS[index::2])}")


@suite.check("A refusal at any step up to the capture undoes the order: sold out, card declined, no courier, capture refused")
async def refusals(lab):
    sold_out, declined, no_courier, not_captured = (order(lab, on_hand=1), order(lab, card_number=world.DECLINED_CARD),
                                                    order(lab), order(lab))  # fmt: skip
    world.inject("book_pickup", "refuse", message="book_pickup: no courier serves this address", scope=no_courier.order_id)
    world.inject("capture_payment", "refuse", message="capture_payment: the authorisation has expired",
                 scope=not_captured.order_id)  # fmt: skip
    whys = ["the warehouse had too few", "the bank declined the card", "the courier refused", "the capture was refused"]
    # A step side by side with the one that fails is still at work when it fails (held): a saga
    # that runs them together must let it settle before undoing it.
    held = [("authorise_payment",), (), (), ()]
    outcomes = await run_all(*(run(lab, o, held=h) for o, h in zip((sold_out, declined, no_courier, not_captured), held)))
    for outcome, why in zip(outcomes, whys):
        expect_undone(outcome, why)


@suite.check("An outage that lasts, at any step up to the capture, undoes the order after a few attempts")
async def long_outages(lab):
    orders = [order(lab) for _ in (*BEFORE, "capture_payment")]
    for the_order, operation in zip(orders, (*BEFORE, "capture_payment")):
        world.inject(operation, "fail", scope=the_order.order_id)
    outcomes = await run_all(*(run(lab, o, endless_after=8) for o in orders))
    for outcome, operation in zip(outcomes, (*BEFORE, "capture_payment")):
        expect_undone(outcome, f"{operation} down for good")


@suite.check("A lost reply at every step: the order is fulfilled once; a step whose every reply is lost is undone too")
async def lost_replies(lab):
    once, always = [order(lab), order(lab)], [order(lab) for _ in BEFORE]
    for index, operation in enumerate(STEPS):
        world.inject(operation, "lose_reply", times=1, scope=once[index % 2].order_id)
    for the_order, operation in zip(always, BEFORE):
        world.inject(operation, "lose_reply", scope=the_order.order_id)
    outcomes = await run_all(*(run(lab, o) for o in once + always))
    for index, outcome in enumerate(outcomes[:2]):
        expect_fulfilled(outcome, f"the first reply was lost at {', '.join(STEPS[index::2])}")
    for outcome, operation in zip(outcomes[2:], BEFORE):
        expect_undone(outcome, f"{operation} did its work and lost every reply")


@suite.check("After the capture the order goes forward: the hand-over is retried, a refusal flagged; the receipt is auxiliary")
async def after_the_capture(lab):
    slow, refused, no_mail, mail_down = order(lab), order(lab), order(lab), order(lab)
    world.inject("hand_to_courier", "fail", times=LONG, scope=slow.order_id)
    world.inject("hand_to_courier", "refuse", message="hand_to_courier: the courier refuses the parcel", scope=refused.order_id)
    world.inject("send_receipt", "refuse", message="send_receipt: the mailbox does not exist", scope=no_mail.order_id)
    world.inject("send_receipt", "fail", scope=mail_down.order_id)
    outcomes = await run_all(run(lab, slow), run(lab, refused), run(lab, no_mail), run(lab, mail_down, endless_after=8))
    expect_fulfilled(outcomes[0], f"the hand-over failed {LONG} times, then worked")
    expect_fulfilled(outcomes[1], "the courier refused the parcel for good", receipt=False, flagged=True)
    expect_fulfilled(outcomes[2], "the mail service refused the receipt", receipt=False)
    expect_fulfilled(outcomes[3], "the mail service stayed down", receipt=False)


@suite.check("The customer cancels while each step is at work: undone up to the capture (Canceled), too late from it on")
async def cancels(lab):
    orders = [order(lab) for _ in range(5)]
    at = [*BEFORE, "capture_payment", "hand_to_courier"]
    outcomes = await run_all(*(run(lab, o, held=(step,), cancel_when_idle=True) for o, step in zip(orders, at)))
    for outcome, step in zip(outcomes[:3], at):
        expect_undone(outcome, f"while {step} was at work", cancelled=True)
    for outcome, step in zip(outcomes[3:], at[3:]):
        if outcome.status == "Canceled" or _runs(outcome, "release_stock"):
            _expect_nothing_undone_after_capture(outcome)
            raise CheckFailed(
                f"Rule 9 broken: the customer cancelled while {step} was at work, and the workflow ended "
                f"{outcome.status}: the cancel came too late, once the capture was asked for the order ships. "
                f"{''.join(f'{left}. ' for left in _left_behind(outcome))}Let nothing from the capture on be stopped by a cancel "
                "(asyncio.shield the capture and what follows, and await them to the end).",
                mistake="cancel too late",
            )
        expect_fulfilled(outcome, f"the customer cancelled while {step} was at work")


@suite.check("Undos meet outages and a refusal: they retry, the refused one is flagged and named, a cancel does not cut them short")
async def failing_undos(lab):
    outages = [order(lab) for _ in OPERATION]  # one undo meets the outage in each: side by side
    refused, cancelled = order(lab), order(lab)
    for the_order in (*outages, refused, cancelled):
        world.inject("capture_payment", "refuse", message="capture_payment: the authorisation has expired",
                     scope=the_order.order_id)  # fmt: skip
    for the_order, operation in zip(outages, OPERATION.values()):
        world.inject(operation, "fail", times=3, scope=the_order.order_id)
    world.inject("void_authorisation", "refuse", message="void_authorisation: the bank refuses to void it",
                 scope=refused.order_id)  # fmt: skip
    outcomes = await run_all(
        *(run(lab, o) for o in outages), run(lab, refused),
        run(lab, cancelled, held=("cancel_pickup",), cancel_when_idle=True),
    )  # fmt: skip
    for outcome, undo in zip(outcomes, OPERATION):
        expect_undone(outcome, f"the capture was refused, and {undo} met three failed calls")
    expect_undone(outcomes[-2], "the capture was refused, and the bank refused the void", refused="void_authorisation")
    expect_undone(outcomes[-1], "the capture was refused, and the customer cancelled while the pickup was cancelled",
                  while_undoing=True)


@suite.check("A worker that restarts at every step (no cache: each task replays the history) changes nothing")
async def worker_restarts(lab):
    task_queue = f"check-{uuid.uuid4()}"
    # The learner's worker as the checks run it (the side-by-side worker has already judged its
    # registrations), with no workflow cache: every workflow task replays the history from the start.
    config = lab.modules.worker.create_worker(lab.client, task_queue=f"{task_queue}-as-written").config()
    config.update(task_queue=task_queue, max_cached_workflows=0, build_id="workbook-check",
                  interceptors=[*config.get("interceptors", []), FastRetries(), Observer()])  # fmt: skip

    fine, refused = order(lab), order(lab)
    world.inject("capture_payment", "refuse", message="capture_payment: the authorisation has expired", scope=refused.order_id)
    from workbook.checks import Lab

    restarting = Lab(lab.modules, lab.client, lab.prefix, task_queue)
    restarting._trips = 100
    async with Worker(**config):
        outcomes = await run_all(run(restarting, fine), run(restarting, refused))
    expect_fulfilled(outcomes[0], "a worker that replays every step")
    expect_undone(outcomes[1], "the capture was refused, on a worker that replays every step")
