"""What the worker's terminal says when an activity fails.

The Temporal SDK logs every failed activity attempt as a warning with a full traceback.
For a bug that is right. For the failures the exercises are *about* (a sold-out car, a
bad card number, an outage the retry policy rides out) a traceback looks like a crash
and buries the story. ``install()`` puts a filter on the SDK's activity logger that turns
those into one line, e.g.::

    book_car failed: no suv car is left in New York — not retried

Unexpected errors (NameError, NotImplementedError, anything not from the travel world)
keep their traceback. Installed once from the support package (``run_and_exit`` and
``connect()``), so the exercises' worker.py files need no logging code of their own.
"""

from __future__ import annotations

import logging

ACTIVITY_LOGGER = "temporalio.activity"
# The travel world's errors, by class name: what an activity reports when the world says
# no (a BookingError) or is down for a moment (ServiceUnavailable, ReplyLost).
_installed = False


def _world_error_names() -> set[str]:
    from workbook import world

    return world.kinds_of(world.WorldError)


def expected_failure(err: BaseException) -> tuple[str, bool] | None:
    """(message, retryable) when ``err`` is a failure the travel world meant (a business
    answer or an outage), else None: a bug, which deserves its traceback."""
    from temporalio.exceptions import ApplicationError

    from workbook import world

    if isinstance(err, world.WorldError):
        return str(err), True  # not translated: Temporal retries it (exercise 02, Part C)
    if isinstance(err, ApplicationError):
        cause = err.__cause__ or err.__context__
        if isinstance(cause, world.WorldError) or (err.type or "") in _world_error_names():
            return err.message, not err.non_retryable
        if cause is None or type(cause).__module__ != "builtins":
            # Raised on purpose by the activity's own code: a refusal it decided on (11's
            # upgrade desk: 'BookingPending … still pending'), or a library's answer it
            # translated (12's open breaker, pybreaker.CircuitBreakerError). One wrapping a
            # Python error (a KeyError, a TypeError: `except Exception` round a bug) is a
            # bug, and keeps its traceback.
            return err.message, not err.non_retryable
    return None


def _cancelled(err: BaseException) -> bool:
    import asyncio

    from temporalio.exceptions import CancelledError

    return isinstance(err, (asyncio.CancelledError, CancelledError))


class OneLineForExpectedFailures(logging.Filter):
    """Rewrite the SDK's "Completing activity as failed" record for an expected failure
    into one line, without its traceback. Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        err = record.exc_info[1] if record.exc_info else None
        if err is None:
            return True
        details = getattr(record, "temporal_activity", None) or {}
        name = details.get("activity_type", "an activity")
        if _cancelled(err):  # the workflow asked the activity to stop: expected, not a crash
            return _one_line(record, f"{name} cancelled: its workflow asked it to stop (a cancel, or a step it no longer waits for)")
        try:
            found = expected_failure(err)
        except Exception:  # never let a log line break the worker
            return True
        if found is None:
            return True
        message, retryable = found
        attempt = details.get("attempt", 1)
        if not retryable:
            outcome = "not retried"
        elif _last_attempt(attempt):
            outcome = f"attempt {attempt}, the last one"
        else:
            outcome = f"attempt {attempt}, Temporal will retry it"
        return _one_line(record, f"{name} failed: {message} — {outcome}")


def _one_line(record: logging.LogRecord, message: str) -> bool:
    """``record`` says ``message``, without its traceback; kept (True)."""
    record.msg, record.args = message, ()
    record.exc_info, record.exc_text, record.stack_info = None, None, None
    return True


def _last_attempt(attempt: int) -> bool:
    """Is this the last attempt its retry policy allows? (False when we can't tell.)"""
    from temporalio import activity

    try:
        policy = activity.info().retry_policy
    except RuntimeError:  # not inside an activity's context
        return False
    return bool(policy and policy.maximum_attempts and attempt >= policy.maximum_attempts)


def install() -> None:
    """Put the filter on the SDK's activity logger, once per process."""
    global _installed
    if _installed:
        return
    logging.getLogger(ACTIVITY_LOGGER).addFilter(OneLineForExpectedFailures())
    _installed = True
