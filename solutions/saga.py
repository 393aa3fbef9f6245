"""A reusable saga: the compensations list of exercises 03-06 as one small class, like
the Java SDK's io.temporal.workflow.Saga (Python's SDK has none).

    async with Saga(UNDO) as saga:
        saga.add(cancel_flight, trip)  # before the step: it may book and lose its reply
        await workflow.execute_activity(book_flight, trip, **STEP)

Workflow code: every undo runs as an activity, with the options the saga was given.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, TypeVarTuple, Unpack

from temporalio import workflow
from temporalio.exceptions import ApplicationError

Args = TypeVarTuple("Args")


class SagaCompensationError(ApplicationError):
    """Undos that failed: ``failures`` holds each one as (undo, error). An ApplicationError,
    so raising it fails the workflow (any other error would only retry the workflow task)."""

    def __init__(self, failures: list[tuple[Callable[..., Any], BaseException]]) -> None:
        # TODO Part B: keep the failures, and say in the message which undo failed and why.
        self.failures = failures
        causes = "; ".join(f"{undo.__name__} ({_reason(error)})" for undo, error in failures)
        super().__init__(f"compensation failed: {causes}", type="SagaCompensationError", non_retryable=True)


def _reason(error: BaseException) -> str:
    """The root cause's words: 'refund refused', not 'Activity task failed'."""
    while error.__cause__ is not None:
        error = error.__cause__
    return getattr(error, "message", None) or str(error) or type(error).__name__


class Saga:
    def __init__(
        self, undo_options: dict[str, Any], *, parallel: bool = False, continue_with_error: bool = False
    ) -> None:
        self.undo_options = undo_options  # e.g. UNDO: a retry policy that never gives up
        self.parallel = parallel  # run every undo at once instead of newest first
        self.continue_with_error = continue_with_error  # go on after an undo failed
        self._undos: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def add(self, undo: Callable[[Unpack[Args]], Any], *args: Unpack[Args]) -> None:
        """Register an undo (an activity function, never its name) and its arguments."""
        # TODO Part A: remember the undo with its arguments, oldest first.
        self._undos.append((undo, args))

    async def compensate(self) -> None:
        """Run every undo registered so far, once, newest first; raise SagaCompensationError
        naming those that failed."""
        # TODO Part A: take the undos (so a second call does not run them again) and run
        # each one, newest first, one after another.
        undos, self._undos = list(reversed(self._undos)), []
        failures: list[tuple[Callable[..., Any], BaseException]] = []
        # TODO Part B: with parallel, start every undo at once and wait for them all; else
        # give each undo a try of its own, and stop at the first failure unless
        # continue_with_error. Either way, raise one SagaCompensationError naming them all.
        if self.parallel:
            results = await asyncio.gather(*(self._run(u, a) for u, a in undos), return_exceptions=True)
            failures = [(u, r) for (u, _), r in zip(undos, results) if isinstance(r, BaseException)]
        else:
            for undo, args in undos:
                try:
                    await self._run(undo, args)
                except Exception as error:
                    failures.append((undo, error))
                    if not self.continue_with_error:
                        break
        if failures:
            raise SagaCompensationError(failures)

    async def _run(self, undo: Callable[..., Any], args: tuple[Any, ...]) -> None:
        await workflow.execute_activity(undo, args=args, **self.undo_options)

    async def __aenter__(self) -> Saga:
        return self

    async def __aexit__(self, error_type, error, traceback) -> bool:
        """The block raised (a failed step, or a cancel): undo, then let the error go on."""
        # TODO Part C: when the block raised, compensate, shielded from a cancel that
        # arrives meanwhile: the undos must run to the end, and the workflow must not end
        # before they do. Then let the block's error go on (return False).
        if error is not None:
            undoing = asyncio.ensure_future(self.compensate())
            try:
                await asyncio.shield(undoing)
            except asyncio.CancelledError:
                await undoing  # cancelled while undoing: finish every undo, then end Canceled
                raise
        return False
