"""Retries at a thousandth of their pace, for the checks.

A check makes services fail on purpose, and the learner's retry policies wait between
attempts (1 s, 2 s, 4 s...). The time-skipping test server does not skip an activity's
retry backoff, so the checks' worker shrinks every interval a thousandfold (and a retry
budget, schedule_to_close_timeout, with them, to no less than a second). Everything a
check judges stays as written: the number of attempts allowed, whether retries are
bounded, the errors that are not retried, the order of events in history.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.worker import (
    Interceptor, StartActivityInput, WorkflowInboundInterceptor, WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)  # fmt: skip

PACE = 1000
DEFAULT_INITIAL_INTERVAL = timedelta(seconds=1)  # the server's default when none is given


def faster(policy: RetryPolicy | None) -> RetryPolicy:
    policy = policy or RetryPolicy()
    return RetryPolicy(
        initial_interval=(policy.initial_interval or DEFAULT_INITIAL_INTERVAL) / PACE,
        backoff_coefficient=policy.backoff_coefficient,
        maximum_interval=policy.maximum_interval / PACE if policy.maximum_interval else None,
        maximum_attempts=policy.maximum_attempts,
        non_retryable_error_types=policy.non_retryable_error_types,
    )


MIN_BUDGET = timedelta(seconds=1)  # a retry budget is never shrunk below this


def shorter(budget: timedelta | None) -> timedelta | None:
    """A schedule_to_close_timeout (the time all attempts may take) at the same pace as
    the retries, but long enough for many attempts: bounded by time stays bounded."""
    return None if budget is None else min(budget, max(budget / PACE, MIN_BUDGET))


class _Outbound(WorkflowOutboundInterceptor):
    shrink_budgets = True

    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle:
        input.retry_policy = faster(input.retry_policy)
        if self.shrink_budgets:
            input.schedule_to_close_timeout = shorter(input.schedule_to_close_timeout)
        return super().start_activity(input)


class _RetriesOnly(_Outbound):
    shrink_budgets = False


class _Inbound(WorkflowInboundInterceptor):
    outbound = _Outbound

    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(self.outbound(outbound))


class _InboundRetriesOnly(_Inbound):
    outbound = _RetriesOnly


class FastRetries(Interceptor):
    """``shrink_budgets=False``: retries only; a schedule_to_close_timeout stays as
    written (for a worker whose attempts take real seconds, such as one killed mid-step)."""

    def __init__(self, shrink_budgets: bool = True):
        self.shrink_budgets = shrink_budgets

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _Inbound if self.shrink_budgets else _InboundRetriesOnly


TAKEOVER = timedelta(seconds=0.5)  # a dead worker's sticky workflow task moves on after this, at most


def into_every_worker() -> None:
    """For a worker process a check starts from the learner's worker.py (exercise 09's
    crash): every Worker it makes retries at the checks' pace, its budgets as written,
    and a workflow task waiting for a dead worker moves to another within TAKEOVER (the
    learner's sticky_queue_schedule_to_start_timeout is a wait of theirs, not a lesson
    point the check judges)."""
    from temporalio import worker

    made = worker.Worker.__init__

    def __init__(self, *args, interceptors=(), sticky_queue_schedule_to_start_timeout=TAKEOVER, **kwargs):
        made(
            self, *args, interceptors=[*interceptors, FastRetries(shrink_budgets=False)],
            sticky_queue_schedule_to_start_timeout=min(sticky_queue_schedule_to_start_timeout, TAKEOVER), **kwargs,
        )  # fmt: skip

    worker.Worker.__init__ = __init__
