"""What the checks' worker does besides running the learner's code as written.

Installed on every check's worker (Lab.worker), beside FastRetries:

* **Held desks.** A check may hold an activity of one trip (``Plan.held``): it does not
  start its work until the check releases it. So the check, not the machine's load,
  decides which booking lands first and which one is still in flight when another
  fails; see Lab.book(held=...). A held desk does not heartbeat, so a cancel does not
  reach it: like a desk already at work, it finishes its booking once released, and
  only a workflow that waits for it (WAIT_CANCELLATION_COMPLETED, gather) sees it land.
* **Errors the learner's code swallowed.** A bug (a TypeError from a call with the wrong
  arguments, an activity call without a timeout, a coroutine awaited twice) that the
  learner's own ``except`` catches leaves only its consequence in history: an undo that
  never ran. While the checks run, workflow.py, activities.py and saga.py are imported
  with a call at the top of every ``except`` block (``instrumented``) that records a
  Python error it caught, where it was raised, and for which workflow; so the check can
  name the bug and its line instead of guessing from the consequence.
* **Attempts elsewhere.** A check may have some attempts of an activity run in another
  Python process (``Plan.elsewhere``), as after a worker restart: see elsewhere.py.

Nothing here changes what a workflow does: the learner's workflow runs as it would on
their own worker.
"""

from __future__ import annotations

import ast
import asyncio
import importlib.abc
import importlib.machinery
import sys
import threading
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from temporalio import activity, workflow

from workbook import world as _world
from temporalio.worker import (
    ActivityInboundInterceptor, ExecuteActivityInput, Interceptor, StartActivityInput, WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput, WorkflowOutboundInterceptor,
)  # fmt: skip

@dataclass
class Swallowed:
    """An exception that an activity call raised in workflow code."""

    activity: str  # the activity whose call raised, or "" (caught by an except block)
    error_type: str
    message: str
    stack: str
    caught_at: str = ""  # "workflow.py, line 52": the except block that caught it


@dataclass
class Plan:
    """What a check asked for one workflow (by its id)."""

    held: dict[str, asyncio.Event] = field(default_factory=dict)  # activity: released
    # The held activities that have started and not yet returned (they must land before
    # the world is judged), with the event each sets when it has.
    landing: dict[str, asyncio.Event] = field(default_factory=dict)
    swallowed: list[Swallowed] = field(default_factory=list)
    elsewhere: dict[str, set[int]] = field(default_factory=dict)  # activity: attempts run in another process
    runner: object = None  # an elsewhere.Runner, when ``elsewhere`` is set
    # activity: what each of its attempts on the checks' worker raised (an ApplicationError's
    # type, or the exception's class name), in order: history keeps only the last failure,
    # and an attempt lost to a timeout on a loaded machine is not one the check injected.
    raised: dict[str, list[str]] = field(default_factory=dict)
    # activity: the world operation whose outage it meets the first time it runs, lasting as
    # many calls as that run's retry policy allows attempts (once when it has no limit, at
    # most OUTLAST_AT_MOST): an undo whose own retries give up shows whether the workflow
    # asks for it again. See outlast().
    outlast: dict[str, str] = field(default_factory=dict)

    def release(self, *names: str) -> None:
        for name in names or list(self.held):
            if name in self.held:
                self.held[name].set()

    async def landed(self) -> None:
        """Release everything held, and wait until every held activity has returned."""
        self.release()
        waiting = [event.wait() for event in self.landing.values()]
        if waiting:
            await asyncio.gather(*waiting)


PLANS: dict[str, Plan] = {}
OUTLAST_AT_MOST = 5  # calls: an outage longer than this is judged from the retry policy alone


def outlast(workflow_id: str, activity_name: str, operation: str) -> None:
    """The first run of ``activity_name`` in workflow ``workflow_id`` meets an outage of
    ``operation`` that outlasts its own retry policy: so an undo that may give up (a
    maximum_attempts) does, and the check sees by behaviour whether the workflow asks for it
    again until it works, or leaves it undone. One with no limit meets a one-call outage."""
    plan_for(workflow_id).outlast[activity_name] = operation


def plan_for(workflow_id: str) -> Plan:
    return PLANS.setdefault(workflow_id, Plan())


# --- workflows: the errors activity calls raise ------------------------------------------------


class _Outbound(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle:
        try:
            return super().start_activity(input)
        except Exception as err:
            # Replay would record it twice; the first time is the one the learner's code met.
            if not workflow.unsafe.is_replaying():
                PLANS.setdefault(workflow.info().workflow_id, Plan()).swallowed.append(
                    Swallowed(input.activity, type(err).__name__, str(err), "".join(traceback.format_stack()))
                )
            raise


class _Inbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_Outbound(outbound))


# --- activities: held desks, attempts elsewhere --------------------------------------------------


class _Activity(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput):
        info = activity.info()
        plan = PLANS.get(info.workflow_id)
        if plan is None:
            return await super().execute_activity(input)
        name = info.activity_type
        released = plan.held.get(name)
        landing = None
        if released is not None:
            landing = plan.landing.setdefault(name, asyncio.Event())
            landing.clear()
        operation = plan.outlast.pop(name, None)
        if operation is not None and info.attempt == 1:  # the first run of it: its outage begins
            allowed = info.retry_policy.maximum_attempts if info.retry_policy else 0
            calls = allowed if 0 < allowed <= OUTLAST_AT_MOST else 1
            _world.inject(operation, "fail", times=calls, scope=info.workflow_id)
        try:
            if released is not None:
                await released.wait()
            if info.attempt in plan.elsewhere.get(name, ()):
                return await plan.runner.run(info, input.args)
            return await super().execute_activity(input)
        except BaseException as err:
            kind = getattr(err, "type", None)  # an ApplicationError's type, as history names it
            plan.raised.setdefault(name, []).append(kind if isinstance(kind, str) and kind else type(err).__name__)
            raise
        finally:
            if landing is not None:
                landing.set()


# --- the learner's except blocks ----------------------------------------------------------------

INSTRUMENTED = ("workflow", "activities", "saga")  # the learner's modules whose except blocks report
RECORDER = "__workbook_caught__"
# What a saga's except block is meant to catch: an activity's failure, a cancel, a timeout,
# the travel world's own answers (in an activity). Any other Python error is a bug.
EXPECTED = {"ActivityError", "ApplicationError", "ChildWorkflowError", "CancelledError", "TimeoutError",
            "FailureError", "ServerError", "TerminatedError", "TimeoutError", "WorkflowFailureError"}  # fmt: skip


def _caught(handler_line: int = 0, file: str = "") -> None:
    """Called first thing in every except block of the learner's modules: record the error
    it caught if it is a bug, for the workflow (or the activity's workflow) it happened in."""
    err = sys.exc_info()[1]
    if err is None or _expected(err):
        return
    workflow_id = _current_workflow_id()
    if workflow_id is None or workflow_id not in PLANS:
        return
    stack = "".join(traceback.format_exception(err))
    PLANS[workflow_id].swallowed.append(Swallowed("", type(err).__name__, str(err), stack, f"{file}, line {handler_line}"))


def _expected(err: BaseException) -> bool:
    # The module's own import, not one here: this runs inside the workflow sandbox, where an
    # import of a module the workflow never passed through (exercise 13's workflow imports
    # nothing of workbook) is re-imported, and meets the sandbox's restrictions.
    world = _world

    if isinstance(err, (world.WorldError, asyncio.CancelledError)) or not isinstance(err, Exception):
        return True
    return any(cls.__name__ in EXPECTED for cls in type(err).__mro__)


def _current_workflow_id() -> str | None:
    try:
        return workflow.info().workflow_id
    except Exception:
        pass
    try:
        return activity.info().workflow_id
    except Exception:
        return None


class _Recording(ast.NodeTransformer):
    def __init__(self, file: str):
        self.file = file

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.ExceptHandler:
        self.generic_visit(node)
        arguments = [ast.Constant(node.lineno), ast.Constant(self.file)]
        call = ast.Expr(ast.Call(ast.Name(RECORDER, ast.Load()), arguments, []))
        ast.copy_location(call, node.body[0])
        ast.fix_missing_locations(call)
        node.body.insert(0, call)
        return node


_COMPILING = threading.Lock()
_COMPILED: dict[tuple[str, bytes], object] = {}  # (path, source): its instrumented code


class _Loader(importlib.machinery.SourceFileLoader):
    """The learner's module, compiled with a recorder at the top of each except block (never
    from or into __pycache__, so the file as written is what runs)."""

    def get_code(self, fullname):
        path = self.get_filename(fullname)
        source = self.get_data(path)
        # The sandbox imports the module afresh for every workflow run, on the workflow
        # threads: compile each text once, one thread at a time. (CPython 3.11's AST
        # conversion is not thread-safe: two at once fail with "SystemError: AST
        # constructor recursion depth mismatch".)
        with _COMPILING:
            code = _COMPILED.get((path, source))
            if code is None:
                code = _COMPILED[(path, source)] = self._compile(path, source)
        return code

    @staticmethod
    def _compile(path, source):
        try:
            tree = _Recording(Path(path).name).visit(ast.parse(source, path))
        except SyntaxError:
            return compile(source, path, "exec", dont_inherit=True)  # let it fail as it would
        return compile(tree, path, "exec", dont_inherit=True)

    def exec_module(self, module) -> None:
        setattr(module, RECORDER, _caught)
        super().exec_module(module)


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, folder: Path):
        self.folder = str(folder)

    def find_spec(self, name, path=None, target=None):
        if name not in INSTRUMENTED:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)  # found where it would be anyway
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return None
        if str(Path(spec.origin).resolve().parent) != self.folder:
            return None
        spec.loader = _Loader(name, spec.origin)
        return spec


@contextmanager
def instrumented(folder: Path) -> Iterator[None]:
    """Within this block, the learner's modules in ``folder`` are imported with their except
    blocks reporting (see _caught); everything else imports as usual."""
    finder = _Finder(Path(folder).resolve())
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


class Observer(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Activity(next)

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _Inbound
