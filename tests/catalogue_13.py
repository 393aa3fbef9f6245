"""Exercise 13's catalogue: realistic wrong answers (each with the words its first failing
check must say) and correct alternatives, as edits of a copy of the solution's workflow.py.

Exercise 13 has no TODOs: a student writes the whole workflow. So the right answers here are
whole designs of their own (a Saga helper, steps side by side, helper methods, undos in
parallel, a single step gathered), each replacing the solution's text from ``@workflow.defn``
to its end; the wrong ones are the mistakes the rules are about, made in the solution."""

from catalogue import right, wrong

W = "workflow.py"
STEP_FN = """async def step(activity, order: Order):
    \"\"\"Run one step. If the customer cancels while it runs, wait until its desk has
    settled (whatever it did is then registered to be undone), then pass the cancel on.\"\"\"
    running = asyncio.ensure_future(workflow.execute_activity(activity, order, **STEP))
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        if not running.done():
            running.cancel()
            await workflow.wait([running])
        raise
"""
PLAIN_STEP = """async def step(activity, order: Order):
    return await workflow.execute_activity(activity, order, **STEP)
"""
PIVOT = "            # The pivot: from the moment it is asked for, a cancel no longer stops the order.\n"
CAPTURE = "            capture = await to_the_end(workflow.execute_activity(capture_payment, order, **STEP))\n"
EXCEPT = "        except (Exception, asyncio.CancelledError):\n"
UNDO_LOOP = """    for undo in reversed(undos):
        try:
            await workflow.execute_activity(undo, order, **UNDO)
        except ActivityError as err:
            failed.append(f"{undo.__name__} ({err.cause.message if err.cause else err})")
"""
FLAG = """            if failed:
                reason = "; ".join(failed)
                await workflow.execute_activity(flag_for_attention, args=[order, reason], **UNDO)
                raise ApplicationError(f"compensation failed: {reason}; the order needs a person")
"""
HAND_OVER = "        await workflow.execute_activity(hand_to_courier, order, **FORWARD)\n"
HAND_OVER_EXCEPT = """    except ActivityError as err:  # only a refusal ends FORWARD's retries
        reason = f"parcel not handed to the courier: {err.cause.message if err.cause else err}"
        await workflow.execute_activity(flag_for_attention, args=[order, reason], **UNDO)
        fulfilment.notices.append(f"{reason}; a person will ship it")
"""
RECEIPT_TRY = """    try:
        await workflow.execute_activity(send_receipt, order, **RECEIPT)
    except ActivityError as err:
        fulfilment.notices.append(f"receipt not sent: {err.cause.message if err.cause else err}")
"""
SHIP = "        return await to_the_end(ship(order, fulfilment))\n"
RUN_HEAD = """        undos = []  # the undos of the steps started so far, oldest first
        try:
"""
STEPS_SEQUENTIAL = """            undos.append(release_stock)
            stock = await step(reserve_stock, order)
            undos.append(void_authorisation)
            authorisation = await step(authorise_payment, order)
            undos.append(cancel_pickup)
            pickup = await step(book_pickup, order)
"""

# --- right answers: whole designs of their own --------------------------------------------

HEADER_END = "@workflow.defn\n"  # everything from here on is the design


def design(text: str) -> list[tuple[str, str]]:
    """Replace the solution's workflow (from @workflow.defn to the end) with ``text``."""
    from pathlib import Path

    solution = (Path(__file__).parents[1] / "exercises" / "13-order-fulfilment" / "solution" / W).read_text()
    return [(solution[solution.index(HEADER_END):], text)]


SAGA_HELPER = '''class Saga:
    """Exercise 08's helper, small: undos newest first, each retried, failures collected."""

    def __init__(self, order):
        self.order, self.undos = order, []

    def add(self, undo):
        self.undos.append(undo)

    async def compensate(self) -> list[str]:
        failed = []
        for undo in reversed(self.undos):
            try:
                await workflow.execute_activity(undo, self.order, **UNDO)
            except ActivityError as err:
                failed.append(f"{undo.__name__}: {err.cause.message if err.cause else err}")
        return failed


@workflow.defn
class FulfilOrderWorkflow:
    @workflow.run
    async def run(self, order: Order) -> Fulfilment:
        saga = Saga(order)
        try:
            saga.add(release_stock)
            stock = await step(reserve_stock, order)
            saga.add(void_authorisation)
            authorisation = await step(authorise_payment, order)
            saga.add(cancel_pickup)
            pickup = await step(book_pickup, order)
            capture = await to_the_end(workflow.execute_activity(capture_payment, order, **STEP))
        except BaseException:
            failed = await to_the_end(saga.compensate())
            if failed:
                await workflow.execute_activity(flag_for_attention, args=[order, "; ".join(failed)], **UNDO)
                raise ApplicationError("undo failed: " + "; ".join(failed))
            raise
        return await to_the_end(ship(order, Fulfilment(order.order_id, stock, authorisation, pickup, capture)))


''' + STEP_FN + '''

async def to_the_end(work):
    running = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        return await running


async def ship(order, fulfilment):
    try:
        await workflow.execute_activity(hand_to_courier, order, **FORWARD)
    except ActivityError as err:
        await workflow.execute_activity(flag_for_attention, args=[order, f"courier: {err}"], **UNDO)
        fulfilment.notices.append("a person will ship the parcel")
    try:
        await workflow.execute_activity(send_receipt, order, **RECEIPT)
    except ActivityError:
        fulfilment.notices.append("no receipt")
    return fulfilment
'''

# The stock and the authorisation side by side (they need nothing of each other), each
# settled before anything is undone; the pickup after the stock; undos all at once.
SIDE_BY_SIDE = '''@workflow.defn
class FulfilOrderWorkflow:
    @workflow.run
    async def run(self, order: Order) -> Fulfilment:
        undos = [release_stock, void_authorisation]  # both planned before either starts
        try:
            results = await asyncio.gather(
                workflow.execute_activity(reserve_stock, order, **STEP),
                workflow.execute_activity(authorise_payment, order, **STEP),
                return_exceptions=True,
            )
            for result in results:
                if isinstance(result, BaseException):
                    raise result
            stock, authorisation = results
            undos.append(cancel_pickup)
            (pickup,) = await asyncio.gather(workflow.execute_activity(book_pickup, order, **STEP))
            capture = await to_the_end(workflow.execute_activity(capture_payment, order, **STEP))
        except (Exception, asyncio.CancelledError):
            failed = await to_the_end(undo_together(order, undos))
            if failed:
                await workflow.execute_activity(flag_for_attention, args=[order, ", ".join(failed)], **UNDO)
                raise ApplicationError(f"these undos failed: {', '.join(failed)}")
            raise
        return await to_the_end(ship(order, Fulfilment(order.order_id, stock, authorisation, pickup, capture)))


async def undo_together(order, undos) -> list[str]:
    async def one(undo):
        try:
            await workflow.execute_activity(undo, order, **UNDO)
        except ActivityError:
            return undo.__name__
        return None

    return [name for name in await asyncio.gather(*(one(u) for u in undos)) if name]


async def to_the_end(work):
    running = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        return await running


async def ship(order, fulfilment):
    try:
        await workflow.execute_activity(hand_to_courier, order, **FORWARD)
    except ActivityError as err:
        await workflow.execute_activity(flag_for_attention, args=[order, str(err.cause)], **UNDO)
        fulfilment.notices.append("the courier refused: a person ships it")
    try:
        await workflow.execute_activity(send_receipt, order, **RECEIPT)
    except ActivityError:
        fulfilment.notices.append("receipt not sent")
    return fulfilment
'''

# Steps grouped in methods of the workflow: prepare (undoable), then the pivot and ship; a
# dict of undos keyed by step.
METHODS = '''@workflow.defn
class FulfilOrderWorkflow:
    def __init__(self) -> None:
        self.done: list = []  # the undos of the steps started, oldest first

    @workflow.run
    async def run(self, order: Order) -> Fulfilment:
        try:
            ids = await self.prepare(order)
            capture = await self.pivot(order)
        except (Exception, asyncio.CancelledError):
            await self.undo(order)
            raise
        return await self.ship(order, Fulfilment(order.order_id, *ids, capture))

    async def prepare(self, order: Order) -> list[str]:
        ids = []
        for do, undo in ((reserve_stock, release_stock), (authorise_payment, void_authorisation),
                         (book_pickup, cancel_pickup)):
            self.done.append(undo)
            ids.append(await step(do, order))
        return ids

    async def pivot(self, order: Order) -> str:
        task = asyncio.ensure_future(workflow.execute_activity(capture_payment, order, **STEP))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            return await task  # too late to cancel: the capture decides

    async def undo(self, order: Order) -> None:
        task = asyncio.ensure_future(undo_all(order, self.done))
        try:
            failed = await asyncio.shield(task)
        except asyncio.CancelledError:
            failed = await task
        if failed:
            await workflow.execute_activity(flag_for_attention, args=[order, "; ".join(failed)], **UNDO)
            raise ApplicationError("compensation failed: " + "; ".join(failed))

    async def ship(self, order: Order, fulfilment: Fulfilment) -> Fulfilment:
        task = asyncio.ensure_future(ship(order, fulfilment))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            return await task


''' + STEP_FN + '''

async def ship(order, fulfilment):
    try:
        await workflow.execute_activity(hand_to_courier, order, **FORWARD)
    except ActivityError as err:
        await workflow.execute_activity(flag_for_attention, args=[order, f"courier refused: {err.cause}"], **UNDO)
    try:
        await workflow.execute_activity(send_receipt, order, **RECEIPT)
    except ActivityError:
        pass
    return fulfilment


async def undo_all(order, undos):
    failed = []
    for undo in reversed(undos):
        try:
            await workflow.execute_activity(undo, order, **UNDO)
        except ActivityError as err:
            failed.append(f"{undo.__name__} ({err.cause})")
    return failed
'''

EX13 = [
    # --- wrong: the rules broken, one at a time -------------------------------------------
    wrong("13", "no compensation at all", W, [(EXCEPT, "        except ZeroDivisionError:\n")], "nothing was undone"),
    wrong("13", "undos planned after their steps", W, [(STEPS_SEQUENTIAL, """            stock = await step(reserve_stock, order)
            undos.append(release_stock)
            authorisation = await step(authorise_payment, order)
            undos.append(void_authorisation)
            pickup = await step(book_pickup, order)
            undos.append(cancel_pickup)
""")], "plan its undo before the step starts"),
    wrong("13", "the hand-over inside the try", W, [(CAPTURE, CAPTURE + HAND_OVER.replace("        await", "            await").replace("FORWARD", "STEP")), (HAND_OVER, "        pass\n")], "Rule 3 broken"),
    wrong("13", "the capture before the pickup", W, [(STEPS_SEQUENTIAL + PIVOT + CAPTURE, """            undos.append(release_stock)
            stock = await step(reserve_stock, order)
            undos.append(void_authorisation)
            authorisation = await step(authorise_payment, order)
            capture = await to_the_end(workflow.execute_activity(capture_payment, order, **STEP))
            undos.append(cancel_pickup)
            pickup = await step(book_pickup, order)
""")], "Rule 2 broken"),
    wrong("13", "except Exception: a cancel not caught", W, [(EXCEPT, "        except Exception:\n")], "nothing was undone"),
    wrong("13", "undos that give up", W, [("UNDO = dict(start_to_close_timeout=timedelta(seconds=10), retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1)))",
                                          "UNDO = dict(start_to_close_timeout=timedelta(seconds=10), retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3))")], "gave up on an outage"),
    wrong("13", "a single attempt per step", W, [("maximum_attempts=3),\n    cancellation_type", "maximum_attempts=1),\n    cancellation_type")], "Rule 5 broken"),
    wrong("13", "steps that retry forever", W, [("retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),\n    cancellation_type", "retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1)),\n    cancellation_type")], "retried an outage without end"),
    wrong("13", "a receipt that retries forever", W, [("RECEIPT = dict(start_to_close_timeout=timedelta(seconds=10), retry_policy=RetryPolicy(maximum_attempts=3))", "RECEIPT = dict(start_to_close_timeout=timedelta(seconds=10))")], "Rule 11 broken"),
    wrong("13", "a failed receipt fails the order", W, [(RECEIPT_TRY, "    await workflow.execute_activity(send_receipt, order, **RECEIPT)\n")], "Rule 11 broken"),
    wrong("13", "an undo that fails stops the rest", W, [(UNDO_LOOP, """    try:
        for undo in reversed(undos):
            await workflow.execute_activity(undo, order, **UNDO)
    except ActivityError as err:
        failed.append(f"undo failed ({err.cause.message if err.cause else err})")
""")], "release_stock never ran"),
    wrong("13", "a refused undo not flagged", W, [(FLAG, """            if failed:
                raise ApplicationError(f"compensation failed: {'; '.join(failed)}")
""")], "nobody was"),
    # A cancel requested of the capture, without waiting for it (TRY_CANCEL, the default): the
    # saga undoes at once, and the capture lands a moment later.
    wrong("13", "the capture cancelled without waiting for it", W, [(CAPTURE, "            capture = await workflow.execute_activity(capture_payment, order, start_to_close_timeout=timedelta(seconds=30), retry_policy=RetryPolicy(maximum_attempts=3))\n")], "too late"),
    wrong("13", "a cancelled step not waited for", W, [(STEP_FN, PLAIN_STEP), ("    cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,\n", "")], "was still at work"),
    wrong("13", "undone, then not re-raised", W, [("            raise  # a cancel ends the workflow Canceled; a failed step ends it Failed\n", "            return Fulfilment(order.order_id, '', '', '', '')\n")], "ended Completed"),
    wrong("13", "a courier refusal not flagged", W, [(HAND_OVER_EXCEPT, """    except ActivityError as err:
        fulfilment.notices.append(f"parcel not handed to the courier: {err}")
""")], "nobody was"),
    wrong("13", "the hand-over with a step's few attempts", W, [(HAND_OVER, HAND_OVER.replace("FORWARD", "STEP"))], "Rule 10 broken"),
    wrong("13", "a courier refusal fails the order", W, [('        fulfilment.notices.append(f"{reason}; a person will ship it")\n', "        raise ApplicationError(reason)\n")], "Rule 10 broken"),
    wrong("13", "copy-paste: the stock released twice, the pickup never cancelled", W, [("            undos.append(cancel_pickup)\n", "            undos.append(release_stock)\n")], "cancel_pickup never ran"),
    wrong("13", "undos not shielded from a cancel", W, [("            failed = await to_the_end(undo_all(order, undos))\n", "            failed = await undo_all(order, undos)\n")], "cut the undos short"),
    wrong("13", "the parcel handed over before the capture", W, [(CAPTURE, HAND_OVER.replace("        await", "            await").replace("FORWARD", "STEP") + CAPTURE), (HAND_OVER, "        pass\n")], "its payment is not captured"),
    wrong("13", "a refused undo flagged, the step's error raised", W, [('                raise ApplicationError(f"compensation failed: {reason}; the order needs a person")\n', "")], "does not name the undo"),
    # Side by side, but gather stops waiting at the first failure: the other step is still at work.
    wrong("13", "stock and authorisation side by side, without return_exceptions", W, [(STEPS_SEQUENTIAL, """            undos += [release_stock, void_authorisation]
            stock, authorisation = await asyncio.gather(
                workflow.execute_activity(reserve_stock, order, **STEP),
                workflow.execute_activity(authorise_payment, order, **STEP),
            )
            undos.append(cancel_pickup)
            pickup = await step(book_pickup, order)
""")], "still at work"),
    wrong("13", "the pickup booked side by side with the stock", W, [(STEPS_SEQUENTIAL, """            undos += [release_stock, cancel_pickup]
            stock, pickup = await asyncio.gather(step(reserve_stock, order), step(book_pickup, order))
            undos.append(void_authorisation)
            authorisation = await step(authorise_payment, order)
""")], "no reserved stock to pick up"),
    # --- right: other designs -------------------------------------------------------------
    # Every undo planned up front: an undo of a step that never ran finds nothing, a no-op.
    right("13", "every undo planned up front", W, [(STEPS_SEQUENTIAL, """            undos = [release_stock, void_authorisation, cancel_pickup]
            stock = await step(reserve_stock, order)
            authorisation = await step(authorise_payment, order)
            pickup = await step(book_pickup, order)
""")]),
    right("13", "the receipt bounded by time, not attempts", W, [("RECEIPT = dict(start_to_close_timeout=timedelta(seconds=10), retry_policy=RetryPolicy(maximum_attempts=3))", "RECEIPT = dict(start_to_close_timeout=timedelta(seconds=10), schedule_to_close_timeout=timedelta(minutes=2))")]),
    right("13", "undos as (activity, argument) pairs, run with args=", W, [(STEPS_SEQUENTIAL, STEPS_SEQUENTIAL.replace("undos.append(release_stock)", "undos.append((release_stock, order))").replace("undos.append(void_authorisation)", "undos.append((void_authorisation, order))").replace("undos.append(cancel_pickup)", "undos.append((cancel_pickup, order))")),
        (UNDO_LOOP, """    for undo, argument in reversed(undos):
        try:
            await workflow.execute_activity(undo, args=[argument], **UNDO)
        except ActivityError as err:
            failed.append(f"{undo.__name__} ({err.cause.message if err.cause else err})")
""")]),
    # The capture awaited as any step, WAIT_CANCELLATION_COMPLETED: the desk does not stop once
    # asked (it does not heartbeat), so a cancel lets it finish, and the order ships.
    right("13", "the capture awaited plainly, waiting for its desk", W, [(CAPTURE, "            capture = await workflow.execute_activity(capture_payment, order, **STEP)\n")]),
    right("13", "exercise 08's Saga helper", W, design(SAGA_HELPER)),
    right("13", "stock and authorisation side by side, undos together", W, design(SIDE_BY_SIDE)),
    right("13", "steps grouped in methods", W, design(METHODS)),
    right("13", "undos newest first without a shield on the steps: a single gather per step", W,
          [(STEP_FN, """async def step(activity, order: Order):
    # A gather cancels the step it waits for and, WAIT_CANCELLATION_COMPLETED, waits for it.
    (result,) = await asyncio.gather(workflow.execute_activity(activity, order, **STEP))
    return result
""")]),
]
ANSWERS = EX13
