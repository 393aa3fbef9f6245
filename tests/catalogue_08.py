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
]
