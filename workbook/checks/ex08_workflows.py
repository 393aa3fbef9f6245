"""The checker's own workflow and activities for exercise 08: they drive the learner's
Saga (their saga.py) inside a real workflow, like a unit test, and the checks judge
what it did from the event history and from what the workflow returns.

The workflow imports ``saga`` when it runs, not when this module is imported: the
exercise folder is on sys.path only while its checks run (workbook/loader.py), and the
sandbox imports it afresh for every run, so each folder's saga.py is the one judged.

Every activity here is registered under a name other than its function's (undo_a for
``undo_a_activity``): a Saga that keeps an undo's ``__name__`` and calls the activity by
that string asks for an activity no worker has, and the check can say so.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

REFUSAL = "{} refused for good"  # what undo_broken says, with its argument
# Set by the check once it has sent the cancel, per workflow id: held undos wait for it.
CANCEL_SENT: set[str] = set()


@activity.defn(name="undo_a")
async def undo_a_activity(label: str) -> str:
    return label


@activity.defn(name="undo_b")
async def undo_b_activity(label: str) -> str:
    return label


@activity.defn(name="undo_c")
async def undo_c_activity(label: str) -> str:
    return label


@activity.defn(name="undo_pair")
async def undo_pair_activity(kind: str, ident: str) -> str:
    """An undo with two arguments, as cancel_reservation(kind, id) would have."""
    return f"{kind} {ident}"


@activity.defn(name="undo_none")
async def undo_none_activity() -> str:
    """An undo with no argument at all."""
    return "none"


@activity.defn(name="undo_broken")
async def undo_broken_activity(label: str) -> str:
    """An undo that fails for good: its service refuses, and retrying will not help."""
    raise ApplicationError(REFUSAL.format(label), type="Refused", non_retryable=True)


@activity.defn(name="undo_slow")
async def undo_slow_activity(label: str) -> str:
    """A slow undo: the check holds it (observe.Observer) until the workflow has seen the
    cancel and waits for nothing else, so the cancel lands while it runs, however long a
    helper would wait for it."""
    return label


@activity.defn(name="step_fails")
async def step_fails_activity(label: str) -> str:
    raise ApplicationError(f"{label} failed", type="NoAvailability", non_retryable=True)


@activity.defn(name="step_ok")
async def step_ok_activity(label: str) -> str:
    return label


@activity.defn(name="after_compensate")
async def after_compensate_activity(label: str) -> str:
    """Scheduled once compensate() returned: every undo must have finished by then."""
    return label


ACTIVITIES = [undo_a_activity, undo_b_activity, undo_c_activity, undo_pair_activity, undo_none_activity,
              undo_broken_activity, undo_slow_activity, step_fails_activity, step_ok_activity,
              after_compensate_activity]  # fmt: skip
UNDOS = {"undo_a": undo_a_activity, "undo_b": undo_b_activity, "undo_c": undo_c_activity,
         "undo_pair": undo_pair_activity, "undo_none": undo_none_activity,
         "undo_broken": undo_broken_activity, "undo_slow": undo_slow_activity}  # fmt: skip
# Undos the probe gives the Saga: a few attempts (the checks judge the trip's own UNDO
# elsewhere). No heartbeat timeout: a held undo does not heartbeat (a cancel that reaches
# an unshielded undo is read from history, ActivityTaskCancelRequested). Its numbers are
# unlike anyone's defaults: history shows whether each undo ran with them.
PROBE_TIMEOUT = 23  # seconds, start_to_close_timeout
PROBE_ATTEMPTS = 2
PROBE_UNDO = dict(
    start_to_close_timeout=timedelta(seconds=PROBE_TIMEOUT),
    retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=10), maximum_attempts=PROBE_ATTEMPTS),
)
STEP = dict(start_to_close_timeout=timedelta(seconds=10), retry_policy=RetryPolicy(maximum_attempts=1))


@dataclass
class Probe:
    """What the probe workflow does with the learner's Saga."""

    undos: list[tuple[str, list[str]]] = field(default_factory=list)  # (undo, its arguments), oldest first
    parallel: bool = False
    continue_with_error: bool = False
    # "compensate": call saga.compensate() (twice when ``twice``), then after_compensate;
    # "block": add the undos inside `async with Saga(...) as saga:` and run ``block``.
    form: str = "compensate"
    twice: bool = False
    block: str = "step_fails"  # "step_fails", "step_ok" or "wait" (for a cancel, forever)


@dataclass
class Seen:
    """What the probe workflow saw of the Saga."""

    error: str = ""  # the class of the error compensate() or the block raised ("" none)
    message: str = ""
    # [undo's name, its error's words, the type of its root cause ("Refused", "TypeError"...)]
    failures: list[list[str]] = field(default_factory=list)
    failures_readable: bool = True  # False: the error has no list of (undo, error) pairs
    is_application_error: bool = True  # is the error an ApplicationError (it fails the workflow)?


def _name(undo) -> str:
    definition = getattr(undo, "__temporal_activity_definition", None)
    return getattr(definition, "name", None) or getattr(undo, "__name__", None) or str(undo)


def _root(error):
    while getattr(error, "__cause__", None) is not None:
        error = error.__cause__
    return error


def _words(error) -> str:
    error = _root(error)
    return str(getattr(error, "message", None) or error)


def _kind(error) -> str:
    error = _root(error)
    if isinstance(error, ApplicationError):
        return str(error.type or "")
    kind = type(error)  # a Python error by its plain name (TypeError); the SDK's by its module's
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def _seen(error: BaseException, saga) -> Seen:
    seen = Seen(error=type(error).__name__, message=getattr(error, "message", None) or str(error),
                is_application_error=isinstance(error, ApplicationError))  # fmt: skip
    if isinstance(error, getattr(saga, "SagaCompensationError", ())):
        try:
            for failure in error.failures:
                undo, cause = failure if isinstance(failure, tuple) else (failure.undo, failure.error)
                seen.failures.append([str(_name(undo)), _words(cause), _kind(cause)])
        except Exception:
            seen.failures_readable = False
    return seen


@workflow.defn(name="SagaProbe")
class SagaProbe:
    @workflow.run
    async def run(self, probe: Probe) -> Seen:
        import saga  # the learner's saga.py (see the module's docstring)

        helper = saga.Saga(PROBE_UNDO, parallel=probe.parallel, continue_with_error=probe.continue_with_error)
        if probe.form == "block":
            try:
                async with helper as inside:
                    for name, arguments in probe.undos:
                        inside.add(UNDOS[name], *arguments)
                    if probe.block == "wait":
                        await workflow.wait_condition(lambda: False)
                    await workflow.execute_activity(probe.block, probe.block, **STEP)
            except saga.SagaCompensationError as error:
                return _seen(error, saga)
            return Seen()  # the block ended without an error (or __aexit__ swallowed it)
        for name, arguments in probe.undos:
            helper.add(UNDOS[name], *arguments)
        seen = Seen()
        try:
            await helper.compensate()
            if probe.twice:
                await helper.compensate()
        except NotImplementedError:
            raise  # a TODO still waiting: the check says so
        except Exception as error:  # the Saga's error, or whatever it raised instead
            seen = _seen(error, saga)
        await workflow.execute_activity(after_compensate_activity, "after", **STEP)
        return seen
