"""Exercise 09's replay judgements: the shipped history against the learner's workflow,
and the learner's own replay test (test_replay.py), run twice.

The learner's test is run in this process (no pytest, no subprocess: about a tenth of a
second each time): its module is executed afresh, each ``test_*`` function is called
(awaited when it is async; a sync one on a thread of its own, so it may asyncio.run()),
and whatever it raises is its failure. It runs once against the learner's workflow,
where it must pass, and once against an *unpatched* copy of that workflow, made here by
replacing every ``workflow.patched(...)`` with True (and dropping deprecate_patch):
the change Part B guards, made unguarded. There it must fail, or it detects nothing.

The copy lives in a module of its own name (workflow_unpatched_<hex>, in a temporary
folder at the *end* of sys.path), never as ``workflow``: the other checks' worker runs
side by side and re-imports ``workflow`` by name. The test's ``from workflow import``
is pointed at the copy by rewriting that import.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import os
import sys
import tempfile
import types
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.runtime import Runtime
from temporalio.worker import Replayer

from workbook.explain import explain_exception
from workbook.server import quiet_runtime

TEST_FILE = "test_replay.py"
HISTORY_NAME = "trip-before-email.json"
TEST_TIMEOUT = 20.0  # seconds for one test function (a replay takes a tenth of one)
_CWD = asyncio.Lock()  # the test may open files relative to its folder: one chdir at a time


# --- the shipped history against a workflow class ------------------------------------------


async def replay_failure(workflow_class, history_json: str | WorkflowHistory) -> BaseException | None:
    """None when ``workflow_class`` replays the history (its JSON, or a fetched one), else
    the error the replay met."""
    history = (
        history_json if isinstance(history_json, WorkflowHistory)
        else WorkflowHistory.from_json("trip-before-email", history_json)
    )  # fmt: skip
    try:
        result = await Replayer(workflows=[workflow_class], runtime=quiet_runtime()).replay_workflow(history, raise_on_replay_failure=False)
    except Exception as err:  # the workflow class itself is unusable (not a workflow...)
        return err
    return result.replay_failure


def short_reason(error: BaseException) -> str:
    """The core's one line ('[TMPRL1100] Nondeterminism error: ...'), not its Rust dump."""
    text = str(error)
    start = text.find("[TMPRL1100]")
    if start >= 0:
        end = text.find('", source', start)
        return text[start : end if end > 0 else None]
    return f"{type(error).__name__}: {text}"[:300]


def calls(source: str, name: str) -> list[ast.Call]:
    """Every call of ``name`` (workflow.name(...) or name(...)) in ``source``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [
        node for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == name
    ]  # fmt: skip


# --- the unpatched copy ---------------------------------------------------------------------


class _Unpatch(ast.NodeTransformer):
    """workflow.patched(...) -> True; workflow.deprecate_patch(...) -> None."""

    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        name = getattr(node.func, "attr", getattr(node.func, "id", None))
        if name == "patched":
            return ast.copy_location(ast.Constant(True), node)
        if name == "deprecate_patch":
            return ast.copy_location(ast.Constant(None), node)
        return node


class _Retarget(ast.NodeTransformer):
    """The test's imports of ``workflow`` point at the module ``target`` instead."""

    def __init__(self, target: str):
        self.target = target

    def visit_ImportFrom(self, node: ast.ImportFrom):
        if node.module == "workflow" and not node.level:
            node.module = self.target
        return node

    def visit_Import(self, node: ast.Import):
        for alias in node.names:
            if alias.name == "workflow":
                alias.name, alias.asname = self.target, alias.asname or "workflow"
        return node


@contextlib.contextmanager
def unpatched_module(folder: Path):
    """The learner's workflow.py with every patch taken as True, imported under a name
    of its own; yields that name. Removed from sys.modules and sys.path after."""
    name = f"workflow_unpatched_{uuid.uuid4().hex[:8]}"
    tree = ast.fix_missing_locations(_Unpatch().visit(ast.parse((folder / "workflow.py").read_text())))
    with tempfile.TemporaryDirectory(prefix="workbook-unpatched-") as scratch:
        (Path(scratch) / f"{name}.py").write_text(ast.unparse(tree))
        sys.path.append(scratch)
        try:
            yield name
        finally:
            sys.path.remove(scratch)
            sys.modules.pop(name, None)


# --- running the learner's test ---------------------------------------------------------------


class NoTests(Exception):
    """The file defines no test that pytest would collect."""


@dataclass
class TestRun:
    """What running the file's tests came to, as pytest would count it."""

    failure: BaseException | None = None  # the first test that failed (pytest: red)
    ran: int = 0  # tests that ran and counted
    unprotected: list[str] = field(default_factory=list)  # tests pytest would not count, and why


def collect(module: types.ModuleType) -> list[tuple[str, object, list]]:
    """The tests pytest collects from ``module`` (default python_functions/classes):
    module-level functions named test*, and test* methods of classes named Test* (without
    an __init__), each with its name, a callable, and its marks (the function's, its
    class's, the module's ``pytestmark``)."""
    from _pytest.mark.structures import get_unpacked_marks

    module_marks = list(get_unpacked_marks(module))
    found = []
    for name, obj in list(vars(module).items()):
        if name.startswith("test") and inspect.isfunction(obj):
            found.append((name, obj, [*get_unpacked_marks(obj), *module_marks]))
        elif name.startswith("Test") and inspect.isclass(obj) and "__init__" not in vars(obj):
            class_marks = list(get_unpacked_marks(obj))
            for attr, method in vars(obj).items():
                if attr.startswith("test") and inspect.isfunction(method):
                    bound = getattr(obj(), attr)
                    found.append((f"{name}.{attr}", bound, [*get_unpacked_marks(method), *class_marks, *module_marks]))
    return found


def _holds(mark) -> bool:
    """Does a skipif/xfail mark's condition hold (no condition: it always does)?"""
    conditions = list(mark.args) + ([mark.kwargs["condition"]] if "condition" in mark.kwargs else [])
    if not conditions:
        return True
    for condition in conditions:
        if isinstance(condition, str):
            try:
                if eval(condition, {"os": os, "sys": sys, "platform": __import__("platform")}):  # noqa: S307
                    return True
            except Exception:
                return True  # pytest would report the mark itself as an error: not a green run
        elif condition:
            return True
    return False


def not_counted(marks) -> str:
    """Why pytest would not count this test's failure ('' when it would)."""
    for mark in marks:
        if mark.name == "skip":
            return "is marked @pytest.mark.skip: pytest never runs it, and reports it skipped, not failed"
        if mark.name == "skipif" and _holds(mark):
            return "is marked @pytest.mark.skipif(...) with a condition that holds here: pytest never runs it"
        if mark.name == "xfail" and _holds(mark):
            return ("is marked @pytest.mark.xfail: pytest reports its failure as expected (xfailed), "
                    "and the run stays green")  # fmt: skip
    return ""


def _outcome(error: BaseException) -> str:
    """'skipped' or 'xfailed' for pytest's own outcomes raised inside a test (pytest.skip(),
    pytest.xfail(), pytest.importorskip()); '' for a real failure."""
    import pytest

    if isinstance(error, pytest.skip.Exception):
        return "skipped"
    if isinstance(error, pytest.xfail.Exception):
        return "xfailed"
    return ""


async def run_test_file(folder: Path, workflow_module: str | None = None) -> TestRun:
    """Run the tests pytest would collect from folder/test_replay.py (with its ``workflow``
    imports pointed at ``workflow_module``, when given), counting them as pytest does: a
    test marked skip (or skipif, xfail, with a condition that holds) is not run, and one
    that calls pytest.skip()/pytest.xfail() is not counted; either is listed in
    ``unprotected``. Raises NoTests, or the error the file itself raises when loaded."""
    path = folder / TEST_FILE
    tree = ast.parse(path.read_text(), filename=str(path))
    if workflow_module:
        tree = ast.fix_missing_locations(_Retarget(workflow_module).visit(tree))
    # The learner's Replayer uses the default runtime: make it quiet, so that the core's
    # warning about the failed replay does not bury the verdicts.
    Runtime.set_default(quiet_runtime(), error_if_already_set=False)
    module = types.ModuleType(f"replay_test_{uuid.uuid4().hex[:8]}")
    module.__file__ = str(path)
    run = TestRun()
    async with _CWD:
        saved = os.getcwd()
        os.chdir(folder)
        try:
            try:
                exec(compile(tree, str(path), "exec"), module.__dict__)
            except BaseException as err:
                if _outcome(err):  # pytest.skip(allow_module_level=True), importorskip
                    run.unprotected.append(f"the module {_outcome(err)} itself when loaded ({err})")
                    return run
                raise
            tests = collect(module)
            if not tests:
                raise NoTests()
            for name, test, marks in tests:
                why = not_counted(marks)
                if why:
                    run.unprotected.append(f"{name} {why}")
                    continue
                try:
                    running = test() if inspect.iscoroutinefunction(test) else asyncio.to_thread(test)
                    await asyncio.wait_for(running, TEST_TIMEOUT)
                except asyncio.TimeoutError:
                    run.failure = TimeoutError(f"{name} did not finish within {TEST_TIMEOUT:.0f} seconds")
                    return run
                except BaseException as err:
                    outcome = _outcome(err)
                    if not outcome:
                        if not isinstance(err, Exception) and not type(err).__module__.startswith("_pytest"):
                            raise
                        run.failure = err
                        return run
                    call = {"skipped": "skip", "xfailed": "xfail"}[outcome]
                    run.unprotected.append(f"{name} calls pytest.{call}() ({err}): pytest reports it {outcome}, not failed")
                    continue
                run.ran += 1
        finally:
            os.chdir(saved)
    return run


def explain_test_error(error: BaseException, folder: Path) -> str:
    if "TMPRL1100" in str(error) or type(error).__name__ == "NondeterminismError":
        return short_reason(error)
    return explain_exception(error, folder.resolve())


# --- why a test that should have failed passed -----------------------------------------------


def why_it_detects_nothing(source: str) -> str:
    """The likeliest reason a replay test passed on the unpatched workflow, from its code."""
    replays = calls(source, "replay_workflow") + calls(source, "replay_workflows")
    if not replays or "Replayer" not in source:
        return (
            "your replay test never replays a history, so it passes whatever the workflow does. "
            f"Load the shipped history (HISTORY, history/{HISTORY_NAME}) with "
            "WorkflowHistory.from_json(workflow_id, text), and replay it with "
            "`await Replayer(workflows=[BookTripWorkflow]).replay_workflow(history)`."
        )
    if _discarded(source):
        return (
            "your replay test calls replay_workflow() without awaiting it: it makes a coroutine and "
            "drops it, so nothing is replayed. Make the test `async def` and "
            "`await Replayer(...).replay_workflow(history)` (or asyncio.run() it)."
        )
    quiet = [
        k for call in replays for k in call.keywords
        if k.arg == "raise_on_replay_failure" and isinstance(k.value, ast.Constant) and k.value.value is False
    ]  # fmt: skip
    if quiet and "replay_failure" not in source.replace("raise_on_replay_failure", ""):
        return (
            "your replay test passes raise_on_replay_failure=False, so the Replayer returns the "
            "failure instead of raising it, and the test never looks at it: assert "
            "`result.replay_failure is None`, or leave the option out and let the error raise."
        )
    if _swallowed(source):
        return (
            "your replay test catches the replay's error and carries on (a try/except around the "
            "replay that does not raise again): let the error raise, so the test fails."
        )
    if HISTORY_NAME not in source and "HISTORY" not in source:
        return (
            "your replay test replays a history other than the shipped one: a history recorded by "
            "the workflow as it is now always replays. Replay the history recorded before the "
            f"email (HISTORY, history/{HISTORY_NAME})."
        )
    return (
        "your replay test does not detect a non-deterministic change: it passed against your "
        "workflow with the email sent unpatched, which cannot replay the shipped history. Does "
        "it replay the shipped history, and let the error raise?"
    )


def _discarded(source: str) -> bool:
    """A replay call made as a statement of its own: its coroutine is never awaited."""
    return any(
        isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "attr", "").startswith("replay_workflow")
        for node in ast.walk(ast.parse(source))
    )  # fmt: skip


def _swallowed(source: str) -> bool:
    """A try whose body replays, with a handler that does not raise."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Try) and any(
            getattr(getattr(c, "func", None), "attr", "").startswith("replay_workflow")
            for stmt in node.body for c in ast.walk(stmt) if isinstance(c, ast.Call)
        ):  # fmt: skip
            for handler in node.handlers:
                if not any(isinstance(n, ast.Raise) for stmt in handler.body for n in ast.walk(stmt)):
                    return True
    return False
