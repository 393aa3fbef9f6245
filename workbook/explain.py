"""Turn the usual ways a learner's code breaks into guidance instead of a traceback.

Two kinds of trouble reach the checks:

* Python errors while loading the exercise (syntax, imports, a TODO that still raises).
* Errors inside workflow code, which fail the workflow's task (Temporal retries it
  forever, as on the learner's own worker; the checks notice and end it): sandbox
  violations, non-determinism, a coroutine never awaited, a plain exception...
"""

from __future__ import annotations

import traceback
from pathlib import Path

from workbook.source import unawaited_activity_calls, unawaited_coroutine_calls

SANDBOX_HINT = (
    "Workflow code must be deterministic, so Temporal's sandbox blocks things like "
    "datetime.now(), random, time.sleep(), file and network access. Use "
    "workflow.now(), workflow.random(), asyncio.sleep() (a durable timer), or move the "
    "work into an activity."
)


def _where(err: BaseException, folder: Path | None = None) -> str:
    """The learner's own file and line in a traceback (not the SDK's or ours): in
    ``folder`` when given, else in any exercise folder."""
    for frame in reversed(traceback.extract_tb(err.__traceback__)):
        path = Path(frame.filename)
        mine = path.is_relative_to(folder) if folder else ("exercises" in path.parts or "fixtures" in path.parts)
        if mine:
            return f" ({path.parent.name}/{path.name}, line {frame.lineno})"
    return ""


def explain_exception(err: BaseException, folder: Path | None = None) -> str:
    """A Python error raised while loading or driving the learner's code (in ``folder``)."""
    if isinstance(err, (SystemExit, KeyboardInterrupt, GeneratorExit)):
        what = "`sys.exit()`" if isinstance(err, SystemExit) else f"`raise {type(err).__name__}`"
        return (
            f"{what} ends the program{_where(err, folder)}; re-raise the error instead (`raise`), so "
            "the caller learns the trip was not booked."
        )
    if isinstance(err, SyntaxError):
        where = f"{Path(err.filename or '?').name}, line {err.lineno}"
        return f"Python cannot read {where}: {err.msg}. Look just above that line too."
    if isinstance(err, ModuleNotFoundError):
        return (
            f"an import failed: no module named {err.name!r}{_where(err, folder)}. Check the "
            "spelling, and run the checks from the workbook's virtual environment."
        )
    if isinstance(err, ImportError):
        return (
            f"an import failed: {err}{_where(err, folder)}. Did you rename or misspell a "
            "function that another file imports?"
        )
    if isinstance(err, NotImplementedError):
        return f"a TODO is still waiting for you{_where(err, folder)}: {err or 'not implemented yet'}."
    if isinstance(err, NameError):
        return f"{err}{_where(err, folder)}. Did you misname something, or forget to import it?"
    return f"{type(err).__name__}: {err}{_where(err, folder)}"


WORKFLOW_ERRORS = {
    "RestrictedWorkflowAccessError": "your workflow did something the sandbox forbids. " + SANDBOX_HINT,
    "NondeterminismError": (
        "the workflow's code no longer matches its recorded history: it was changed while a "
        "run was in progress, or it makes a different decision on replay. Start a new run "
        "(python starter.py), or guard the change with workflow.patched()."
    ),
    "NotImplementedError": "a TODO is still waiting for you: its code still raises NotImplementedError.",
    "NameError": "the workflow uses a name that does not exist: misnamed, or not imported?",
    "AttributeError": "the workflow uses an attribute that does not exist: a typo?",
}


AWAITED_TWICE = ("cannot reuse already awaited coroutine", "coroutine is being awaited already")
# A plain exception in workflow code does not end the workflow: it fails the workflow task.
TASK_RETRIED = (
    " A Python exception in workflow code fails the workflow's task, not the workflow: your "
    "worker would retry that task forever and the trip would stay Running. To end it Failed, "
    "re-raise the activity's error, or raise an ApplicationError."
)


def explain_workflow_error(
    error_type: str, message: str, source: str = "", where: str = "", task: bool = False
) -> str:
    """An error raised by workflow code (not by an activity), as Temporal reported it;
    ``where`` is the learner's file and line, when the stack trace has it. ``task``: it
    failed the workflow task (as on any worker), so Temporal would retry it forever."""
    at = f" ({where})" if where else ""
    if error_type in ("SystemExit", "KeyboardInterrupt"):
        return f"`sys.exit()` ends the program; re-raise the error instead (`raise`){at}."
    if any(phrase in message for phrase in AWAITED_TWICE):
        return (
            f"a coroutine is awaited twice{at}: a coroutine runs once, so awaiting it again "
            "fails. Keep what the first `await` returned, or wrap it once in "
            f"asyncio.ensure_future() and await that task as often as you like. ({error_type}: {message})"
        )
    if error_type == "TypeError" and "execute_activity()" in message:
        return (
            f"an activity call has the wrong arguments{at}: pass the activity, then its "
            "argument (args=[...] for several), then the options by name, e.g. "
            f"`await workflow.execute_activity(undo, trip, **UNDO)`. (TypeError: {message})"
        )
    lines = unawaited_activity_calls(source)
    helpers = unawaited_coroutine_calls(source)
    if "coroutine" in message and (lines or not helpers):
        at = f" (workflow.py line {', '.join(map(str, lines))})" if lines else at
        return (
            f"a coroutine was never awaited{at}: write `await workflow.execute_activity(...)`, "
            f"otherwise the activity never runs. ({error_type}: {message})"
        )
    if helpers:  # a helper of the learner's own, called without await, hands on a coroutine
        line, name = helpers[0]
        return (
            f"{name}() is called without `await` (workflow.py, line {line}), so its body never "
            f"runs and what it hands on is a coroutine, not its result{at}. Write `await {name}(...)`. "
            f"({error_type}: {message})"
        )
    if "start_to_close_timeout" in message or "schedule_to_close_timeout" in message:
        return (
            "an activity call has no timeout: give it start_to_close_timeout=timedelta(...)"
            f". ({message})"
        )
    if "not registered" in message:
        return f"{message}. Add it to the worker's workflows=[...] or activities=[...]."
    if "Nondeterminism" in message or "TMPRL1100" in message:
        error_type = "NondeterminismError"  # reported by the SDK's core, without a type
    known = error_type in WORKFLOW_ERRORS
    advice = WORKFLOW_ERRORS.get(error_type, "your workflow code raised an error")
    message = message.split(" If this is code from a module")[0]  # the SDK's advice to experts
    retried = TASK_RETRIED if task and not known else ""
    return f"{advice.rstrip('.')}{at}. ({error_type}: {message}){retried}"


def no_worker_message(task_queue: str) -> str:
    return (
        f"nothing picked up the work on task queue {task_queue!r}: is the worker running "
        "(python worker.py), and are the workflow and activities registered on it?"
    )
