"""Exercise 08's catalogue: a reusable Saga helper written wrong the ways students write it
(each with the words its first failing check must say), and other right ways to write it,
as edits of a copy of the solution (saga.py, or the trip's workflow.py)."""

from catalogue import right, wrong

REVERSED = "        undos, self._undos = list(reversed(self._undos)), []\n"
PARALLEL = """        if self.parallel:
            results = await asyncio.gather(*(self._run(u, a) for u, a in undos), return_exceptions=True)
            failures = [(u, r) for (u, _), r in zip(undos, results) if isinstance(r, BaseException)]
"""
FAILED = """                except Exception as error:
                    failures.append((undo, error))
                    if not self.continue_with_error:
                        break
"""
MESSAGE = """        causes = "; ".join(f"{undo.__name__} ({_reason(error)})" for undo, error in failures)
        super().__init__(f"compensation failed: {causes}", type="SagaCompensationError", non_retryable=True)
"""
SHIELDED = """            undoing = asyncio.ensure_future(self.compensate())
            try:
                await asyncio.shield(undoing)
            except asyncio.CancelledError:
                await undoing  # cancelled while undoing: finish every undo, then end Canceled
                raise
"""
ADD = "        self._undos.append((undo, args))\n"
RUN = "        await workflow.execute_activity(undo, args=args, **self.undo_options)\n"
TRY_BLOCK = "        try:\n            # Every undo runs, even after one failed: the others still hold the customer's money.\n            async with Saga(UNDO, continue_with_error=True) as saga:\n                saga.add(cancel_flight, trip)\n                flight = await workflow.execute_activity(book_flight, trip, **STEP)\n                saga.add(cancel_hotel, trip)\n                hotel = await workflow.execute_activity(book_hotel, trip, **STEP)\n                saga.add(cancel_car, trip)\n                car = await workflow.execute_activity(book_car, trip, **STEP)\n                saga.add(refund_payment, trip)\n                payment = await workflow.execute_activity(charge_payment, trip, **STEP)\n                await workflow.execute_activity(confirm_trip, trip, **STEP)\n        except SagaCompensationError as err:  # an undo failed for good: a person settles it\n            await workflow.execute_activity(flag_for_attention, args=[trip, err.message], **UNDO)\n            raise\n"
PRACTICE_STEPS = '        flight = await workflow.execute_activity(book_flight, trip, **STEP)\n        hotel = await workflow.execute_activity(book_hotel, trip, **STEP)\n        car = await workflow.execute_activity(book_car, trip, **STEP)\n        payment = await workflow.execute_activity(charge_payment, trip, **STEP)\n        await workflow.execute_activity(confirm_trip, trip, **STEP)\n'
FLAG = "            await workflow.execute_activity(flag_for_attention, args=[trip, err.message], **UNDO)\n"

ANSWERS = [
    wrong("08", "undos run oldest first", "saga.py", [(REVERSED, "        undos, self._undos = list(self._undos), []\n")], "undo the newest first"),
    wrong("08", "compensate() keeps the undos: a second call runs them again", "saga.py", [
        (REVERSED, "        undos = list(reversed(self._undos))\n"),
    ], "ran every undo twice"),
    wrong("08", "add() keeps the undo's name, a string", "saga.py", [
        (ADD, "        self._undos.append((undo.__name__, args))\n"),
    ], "no worker has"),
    wrong("08", "the parallel option ignored", "saga.py", [(PARALLEL, "        if False:\n            pass\n")], "started one after another"),
    wrong("08", "parallel undos started and not waited for", "saga.py", [
        (PARALLEL, "        if self.parallel:\n            for undo, args in undos:\n"
                   "                workflow.start_activity(undo, args=args, **self.undo_options)\n"),
    ], "compensate() returned before"),
    wrong("08", "continue_with_error ignored: the first failure stops the rest", "saga.py", [
        (FAILED, FAILED.replace("                    if not self.continue_with_error:\n                        break\n",
                                "                    break\n")),
    ], "stopped the rest"),
    wrong("08", "continue_with_error ignored: never stops", "saga.py", [
        (FAILED, FAILED.replace("                    if not self.continue_with_error:\n                        break\n", "")),
    ], "although continue_with_error is False"),
    wrong("08", "the undo's own error raised, not one SagaCompensationError", "saga.py", [
        (FAILED, FAILED.replace("break", "raise")),
    ], "expected one SagaCompensationError"),
    wrong("08", "failures collected, then a bare Exception", "saga.py", [
        ("            raise SagaCompensationError(failures)\n", '            raise Exception(f"{len(failures)} undos failed")\n'),
    ], "expected one SagaCompensationError"),
    wrong("08", "failures swallowed: compensate() raises nothing", "saga.py", [
        ("            raise SagaCompensationError(failures)\n", "            workflow.logger.warning(failures)\n"),
    ], "the failure was lost"),
    wrong("08", "SagaCompensationError without the causes", "saga.py", [
        (MESSAGE, '        super().__init__("compensation failed", type="SagaCompensationError", non_retryable=True)\n'),
    ], "name each undo that failed and why"),
    wrong("08", "SagaCompensationError is a plain Exception", "saga.py", [
        ("class SagaCompensationError(ApplicationError):", "class SagaCompensationError(Exception):"),
        (MESSAGE, MESSAGE.replace('super().__init__(f"compensation failed: {causes}", type="SagaCompensationError", non_retryable=True)',
                                  'super().__init__(f"compensation failed: {causes}")\n        self.message = str(self)')),
    ], "not an ApplicationError"),
    wrong("08", "__aexit__ swallows the error", "saga.py", [
        ("                raise\n        return False\n", "                raise\n            return True\n        return False\n"),
    ], "let the block's own error go on"),
    wrong("08", "__aexit__ compensates for Exception only", "saga.py", [
        ("        if error is not None:\n", "        if isinstance(error, Exception):\n"),
    ], "a BaseException"),
    wrong("08", "compensate() awaited without a shield", "saga.py", [(SHIELDED, "            await self.compensate()\n")], "the cancel reached undo_slow"),
    wrong("08", "a bare asyncio.shield", "saga.py", [(SHIELDED, "            await asyncio.shield(self.compensate())\n")], "stops waiting as soon as"),
    wrong("08", "the trip's undos added after their steps", "workflow.py", [
        ("                saga.add(cancel_flight, trip)\n                flight = await workflow.execute_activity(book_flight, trip, **STEP)\n",
         "                flight = await workflow.execute_activity(book_flight, trip, **STEP)\n                saga.add(cancel_flight, trip)\n"),
        ("                saga.add(cancel_hotel, trip)\n                hotel = await workflow.execute_activity(book_hotel, trip, **STEP)\n",
         "                hotel = await workflow.execute_activity(book_hotel, trip, **STEP)\n                saga.add(cancel_hotel, trip)\n"),
    ], "before its step"),
    wrong("08", "the trip's saga without continue_with_error", "workflow.py", [
        ("Saga(UNDO, continue_with_error=True)", "Saga(UNDO)"),
    ], "the first undo that failed stopped the rest"),
    wrong("08", "the trip's undos with the steps' options", "workflow.py", [("Saga(UNDO, ", "Saga(STEP, ")], "never give up"),
    wrong("08", "a failed undo not flagged for a person", "workflow.py", [(FLAG, "")], "nobody was told"),
    right("08", "a deque, newest at the front", "saga.py", [
        ("import asyncio\n", "import asyncio\nfrom collections import deque\n"),
        ("        self._undos: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []\n", "        self._undos: deque = deque()\n"),
        (ADD, "        self._undos.appendleft((undo, args))\n"),
        (REVERSED, "        undos, self._undos = list(self._undos), deque()\n"),
    ]),
    right("08", "parallel with tasks and workflow.wait", "saga.py", [
        (PARALLEL, """        if self.parallel:
            tasks = [asyncio.ensure_future(self._run(u, a)) for u, a in undos]
            await workflow.wait(tasks)
            failures = [(u, t.exception()) for (u, _), t in zip(undos, tasks) if t.exception()]
"""),
    ]),
    right("08", "pop the undos one by one", "saga.py", [
        (REVERSED, "        undos = []\n        while self._undos:\n            undos.append(self._undos.pop())\n"),
    ]),
    right("08", "cancelled while undoing: finish, then fail with the block's error", "saga.py", [
        (SHIELDED, SHIELDED.replace("                raise\n", "")),
    ]),
    wrong("08", 'parallel gather without return_exceptions: stops at the first failure', 'saga.py', [('            results = await asyncio.gather(*(self._run(u, a) for u, a in undos), return_exceptions=True)\n            failures = [(u, r) for (u, _), r in zip(undos, results) if isinstance(r, BaseException)]\n', '            try:\n                await asyncio.gather(*(self._run(u, a) for u, a in undos))\n            except Exception as error:\n                failures.append((undos[0][0], error))\n')], 'stopped waiting at the first failure'),
    wrong("08", 'parallel: only the first failure kept', 'saga.py', [('failures = [(u, r) for (u, _), r in zip(undos, results) if isinstance(r, BaseException)]', 'failures = [(u, r) for (u, _), r in zip(undos, results) if isinstance(r, BaseException)][:1]')], 'not only the first'),
    wrong("08", 'parallel with asyncio.wait(FIRST_EXCEPTION)', 'saga.py', [('            results = await asyncio.gather(*(self._run(u, a) for u, a in undos), return_exceptions=True)\n            failures = [(u, r) for (u, _), r in zip(undos, results) if isinstance(r, BaseException)]\n', '            tasks = [asyncio.ensure_future(self._run(u, a)) for u, a in undos]\n            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)\n            failures = [(u, t.exception()) for (u, _), t in zip(undos, tasks) if t in done and t.exception()]\n')], 'stopped waiting at the first failure'),
    wrong("08", 'the arguments spread as positionals: execute_activity(undo, *args)', 'saga.py', [('await workflow.execute_activity(undo, args=args, **self.undo_options)', 'await workflow.execute_activity(undo, *args, **self.undo_options)')], 'a second positional argument is not one'),
    wrong("08", 'only the first argument kept: args[0]', 'saga.py', [('await workflow.execute_activity(undo, args=args, **self.undo_options)', 'await workflow.execute_activity(undo, args[0], **self.undo_options)')], 'args=args'),
    wrong("08", '__aexit__ compensates a block that succeeded too', 'saga.py', [('        if error is not None:\n            undoing = asyncio.ensure_future(self.compensate())\n            try:\n                await asyncio.shield(undoing)\n            except asyncio.CancelledError:\n                await undoing  # cancelled while undoing: finish every undo, then end Canceled\n                raise\n        return False\n', '        if True:\n            undoing = asyncio.ensure_future(self.compensate())\n            try:\n                await asyncio.shield(undoing)\n            except asyncio.CancelledError:\n                await undoing  # cancelled while undoing: finish every undo, then end Canceled\n                raise\n        return False\n')], 'compensate only when the block raised'),
    wrong("08", 'cancelled while undoing: a fixed sleep instead of awaiting the undos', 'saga.py', [('                await undoing  # cancelled while undoing: finish every undo, then end Canceled\n', '                await asyncio.sleep(5)  # give the undos time to finish\n')], 'waited a fixed time'),
    wrong("08", 'undos run with options of its own, not undo_options', 'saga.py', [('await workflow.execute_activity(undo, args=args, **self.undo_options)', 'await workflow.execute_activity(undo, args=args, start_to_close_timeout=timedelta(seconds=10))'), ('from temporalio import workflow\n', 'from datetime import timedelta\n\nfrom temporalio import workflow\n')], 'self.undo_options'),
    wrong("08", "the trip's Itinerary with hotel and car swapped", 'workflow.py', [('Itinerary(trip.trip_id, flight, hotel, car, payment)', 'Itinerary(trip.trip_id, flight, car, hotel, payment)')], 'in its own field'),
    wrong("08", "the trip's saga with parallel=True", 'workflow.py', [('async with Saga(UNDO, continue_with_error=True) as saga:\n', 'async with Saga(UNDO, parallel=True, continue_with_error=True) as saga:\n')], 'no parallel=True'),
    wrong("08", "the trip's SagaCompensationError flagged, then swallowed", 'workflow.py', [('            await workflow.execute_activity(flag_for_attention, args=[trip, err.message], **UNDO)\n            raise\n', '            await workflow.execute_activity(flag_for_attention, args=[trip, err.message], **UNDO)\n            return None\n')], 're-raise the SagaCompensationError'),
    wrong("08", 'cancelled while undoing: wait_for with a timeout', 'saga.py', [('                await undoing  # cancelled while undoing: finish every undo, then end Canceled\n', '                await asyncio.wait_for(undoing, timeout=5)\n')], 'waited a fixed time'),
    wrong("08", "__aexit__ swallows SagaCompensationError so the block's error goes on", 'saga.py', [('                await undoing  # cancelled while undoing: finish every undo, then end Canceled\n                raise\n', "                await undoing  # cancelled while undoing: finish every undo, then end Canceled\n                raise\n            except SagaCompensationError:\n                pass  # the block's own error goes on\n")], "the undo's failure was lost"),
    right("08", 'parallel with start_activity handles, each awaited in a try', 'saga.py', [('            results = await asyncio.gather(*(self._run(u, a) for u, a in undos), return_exceptions=True)\n            failures = [(u, r) for (u, _), r in zip(undos, results) if isinstance(r, BaseException)]\n', '            handles = [workflow.start_activity(u, args=a, **self.undo_options) for u, a in undos]\n            for (u, _), handle in zip(undos, handles):\n                try:\n                    await handle\n                except Exception as error:\n                    failures.append((u, error))\n')]),
    right("08", 'parallel with tasks and asyncio.wait (ALL_COMPLETED)', 'saga.py', [('            results = await asyncio.gather(*(self._run(u, a) for u, a in undos), return_exceptions=True)\n            failures = [(u, r) for (u, _), r in zip(undos, results) if isinstance(r, BaseException)]\n', '            tasks = [asyncio.ensure_future(self._run(u, a)) for u, a in undos]\n            await asyncio.wait(tasks)\n            failures = [(u, t.exception()) for (u, _), t in zip(undos, tasks) if t.exception() is not None]\n')]),
    right("08", '__aexit__ re-shields until the undos are done, then re-raises the cancel', 'saga.py', [('        if error is not None:\n            undoing = asyncio.ensure_future(self.compensate())\n            try:\n                await asyncio.shield(undoing)\n            except asyncio.CancelledError:\n                await undoing  # cancelled while undoing: finish every undo, then end Canceled\n                raise\n        return False\n', '        if error_type is None:\n            return False\n        undoing = asyncio.create_task(self.compensate())\n        cancelled = False\n        while True:\n            try:\n                await asyncio.shield(undoing)\n                break\n            except asyncio.CancelledError:\n                if undoing.done():\n                    break\n                cancelled = True\n        if cancelled:\n            raise asyncio.CancelledError()\n        return False\n')]),
    right("08", 'the trip booked in a loop over (step, undo) pairs: one saga.add in the source', 'workflow.py', [('                saga.add(cancel_flight, trip)\n                flight = await workflow.execute_activity(book_flight, trip, **STEP)\n                saga.add(cancel_hotel, trip)\n                hotel = await workflow.execute_activity(book_hotel, trip, **STEP)\n                saga.add(cancel_car, trip)\n                car = await workflow.execute_activity(book_car, trip, **STEP)\n                saga.add(refund_payment, trip)\n                payment = await workflow.execute_activity(charge_payment, trip, **STEP)\n                await workflow.execute_activity(confirm_trip, trip, **STEP)\n', '                ids = []\n                for book, undo in [(book_flight, cancel_flight), (book_hotel, cancel_hotel),\n                                   (book_car, cancel_car), (charge_payment, refund_payment)]:\n                    saga.add(undo, trip)\n                    ids.append(await workflow.execute_activity(book, trip, **STEP))\n                flight, hotel, car, payment = ids\n                await workflow.execute_activity(confirm_trip, trip, **STEP)\n')]),
    right("08", 'SagaCompensationError worded otherwise', 'saga.py', [('causes = "; ".join(f"{undo.__name__} ({_reason(error)})" for undo, error in failures)', 'causes = ", ".join(f"{undo.__name__} failed: {_reason(error)}" for undo, error in failures)'), ('super().__init__(f"compensation failed: {causes}"', 'super().__init__(f"{len(failures)} undo(s) failed: {causes}"')]),
    right("08", 'the trip flagged with str(err)', 'workflow.py', [('args=[trip, err.message]', 'args=[trip, str(err)]')]),
    right("08", 'in turn with an index loop, raising from a helper method', 'saga.py', [('            for undo, args in undos:\n                try:\n                    await self._run(undo, args)\n                except Exception as error:\n                    failures.append((undo, error))\n                    if not self.continue_with_error:\n                        break\n', '            i = 0\n            while i < len(undos):\n                undo, args = undos[i]\n                i += 1\n                try:\n                    await self._run(undo, args)\n                except Exception as error:\n                    failures.append((undo, error))\n                    if not self.continue_with_error:\n                        return self._fail(failures)\n'), ('    async def _run(', '    def _fail(self, failures):\n        raise SagaCompensationError(failures)\n\n    async def _run(')]),
    right("08", 'cancelled while undoing: polls with asyncio.sleep until the undos are done', 'saga.py', [('                await undoing  # cancelled while undoing: finish every undo, then end Canceled\n', '                while not undoing.done():\n                    await asyncio.sleep(0.1)\n')]),
    # The helper asks an undo again itself after an outage its two attempts did not ride out,
    # and stops at a refusal: one undo that keeps trying (a failed run, then a completed one).
    right("08", "two attempts per undo, the helper asks again until it works or is refused", "saga.py", [
        ("from temporalio.exceptions import ApplicationError\n", "from temporalio.exceptions import ActivityError, ApplicationError\n"),
        ("        await workflow.execute_activity(undo, args=args, **self.undo_options)\n",
         "        while True:\n            try:\n                return await workflow.execute_activity(undo, args=args, **self.undo_options)\n"
         "            except ActivityError as err:\n"
         "                if isinstance(err.cause, ApplicationError) and err.cause.non_retryable:\n                    raise\n"
         "                await workflow.sleep(1)  # an outage: ask again, it passes\n"),
        ("workflow.py", "UNDO = dict(\n    start_to_close_timeout=timedelta(seconds=10),\n    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1)),",
         "UNDO = dict(\n    start_to_close_timeout=timedelta(seconds=10),\n    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=2),"),
    ]),
    wrong("08", "saga.py done, the trip not booked through it (as shipped)", "workflow.py", [(TRY_BLOCK, PRACTICE_STEPS)], "makes no `async with Saga(...)` block yet"),
    wrong("08", "the trip's last step outside the async with block", "workflow.py", [
        ("                await workflow.execute_activity(confirm_trip, trip, **STEP)\n        except SagaCompensationError",
         "            await workflow.execute_activity(confirm_trip, trip, **STEP)\n        except SagaCompensationError"),
    ], "outside the `async with Saga(...)` block"),
]
