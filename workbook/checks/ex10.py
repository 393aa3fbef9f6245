"""Checks for exercise 10: testing your saga. The check is mutation testing.

Your tests (test_saga.py) run first against the correct saga (workflow.py as shipped):
they must all pass. Then they run against each broken saga of ex10_mutants.py: each one
must make at least one of your tests fail. A saga that no test notices is named, with
the test that would catch it.

How it runs, and why:
* In this process, with pytest.main(), once per saga: no interpreter to start per run.
  Each run gets a scratch folder holding your folder's files with that saga as
  workflow.py, first on sys.path, and the modules of the last run are forgotten, so
  `from workflow import BookTripWorkflow` (in your test, and in the workflow sandbox,
  which re-imports it by name) reads that saga.
* On a thread of its own: pytest-asyncio runs your async tests on an event loop of its
  own, which cannot run inside the checker's. A run that does not finish within
  RUN_TIMEOUT is left behind (a daemon thread) and named; nothing else waits for it.
* On the checker's time-skipping test server, shared: workbook.testing's
  start_time_skipping() connects to it (WORKBOOK_TEST_SERVER) instead of starting one
  per test, and bounds every workflow your tests start (an execution timeout in
  skipped time), so a saga that retries an undo forever ends. A workflow that ends
  with an activity still pending leaves that server no longer skipping time; the
  next run then gets a fresh server (_Servers).
* Against a broken saga, pytest stops at the first failing test (-x): one is enough.
* As pytest runs them: a test that pytest skips, or that is marked xfail, protects
  nothing (its failure would not count), and is named so against the correct saga.
* The same verdict every run: activities of one workflow that are pending at once start
  in the order the workflow scheduled them (_in_order_interceptor, put into every Worker
  your tests make), so the broken saga that runs its undos all at once shows your mocks
  the right order every time, and only the event history can tell it apart.

README point -> scenario (broken saga, ex10_mutants.py) -> what fails when a test misses it:

| README point (the assertion asked for)                | broken saga that only it catches                  | named as missed                |
|-------------------------------------------------------|---------------------------------------------------|--------------------------------|
| happy path: calls == STEPS + AUXILIARY                | none of its own (the auxiliary sagas below are    | (not asked alone: known gap)   |
|                                                       | caught by the email test as well)                 |                                |
| happy path: itinerary holds what the mocks answered   | the payment's id where the flight's goes          | the itinerary holds the wrong ids |
| happy path: no notices                                | the email's notice recorded even when it was sent | a notice on every trip         |
| declined card: the workflow fails (pytest.raises)     | undos run, then the workflow completes            | no re-raise                    |
| declined card: the payment tried once                 | the payment retried by hand, a declined card too  | a business error retried       |
| declined card: every undo, newest first (exact calls) | undos in forward order; the car never cancelled;  | forward order; a missing undo; |
|                                                       | undos registered after their steps; the error     | registered after; the error    |
|                                                       | swallowed and the trip confirmed                  | swallowed                      |
| declined card: each undo after the one before closed  | every undo at once (asyncio.gather), in the right | undos run concurrently         |
|   (event history)                                     | order for the mocks every run                     |                                |
| failed hotel: only the hotel and the flight undone    | every undo registered up front                    | every undo registered up front |
| email down: the workflow completes, nothing undone    | an email that fails undoes the trip               | an auxiliary step compensated  |
| email down: the points still awarded                  | the email and the points in one try               | the email and the points in one try |
| email down: a notice about the email                  | a failed email recorded nowhere                   | a failed email recorded nowhere |
| every test runs (no skip, no xfail)                   | the correct saga's run: a skipped or xfail test   | protects nothing               |
| tests pass against the correct saga                   | the correct saga                                  | fails against the correct saga |
| a test asserts what it proves (one that cannot fail   | every broken saga, run: the file's asserts are    | "your tests assert nothing"    |
|   catches only a saga that raises)                    | read only to say why those that survived did      | (with what they missed)        |
"""

from __future__ import annotations

import ast
import asyncio
import io
import os
import shutil
import sys
import tempfile
import functools
import inspect
import threading
from dataclasses import dataclass, field
from pathlib import Path

from workbook.checks import CheckFailed, CodeError, Suite
from workbook.checks.ex10_mutants import MUTANTS, Mutant
from workbook.testing import CHECKER_THREAD, SHARED_SERVER

suite = Suite(exercise="10", title="Testing your saga", server="test")

TEST_FILE = "test_saga.py"
NO_AUTOLOAD = "PYTEST_DISABLE_PLUGIN_AUTOLOAD"
RUN_TIMEOUT = 10.0  # real seconds for one run of your tests; a healthy run takes under one
# Modules a run imports from its scratch folder: forgotten before the next run.
LOCAL_MODULES = {"shared", "activities", "workflow", "worker", "starter", "conftest", "test_saga"}
# pytest as the check runs it: only the plugins it needs (no xdist, nbval or timeout from
# the repository's configuration), async tests on pytest-asyncio, output kept in memory.
PYTEST_INI = """[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
asyncio_default_test_loop_scope = function
"""
# Each builtin plugin left out saves a few milliseconds per run (unraisableexception's
# forced garbage collections the most), and a check runs pytest ten times.
UNUSED = "cacheprovider logging unraisableexception threadexception junitxml doctest pastebin stepwise faulthandler"
PYTEST_ARGS = ["-q", "-p", "pytest_asyncio.plugin", "--capture=sys", *(f"-pno:{name}" for name in UNUSED.split())]


THREAD = "workbook-ex10-tests"
IN_ORDER_WAIT = 1.0  # real seconds an activity waits for the one scheduled before it to start


def _in_order_interceptor():
    """Activities of one workflow that are pending at once start in the order the workflow
    scheduled them (their activity ids): a saga that runs its undos all at once is then
    seen by your mocks in the same order every run, newest first, and only the event
    history (each undo scheduled after the one before it closed) can tell it apart. Without
    this, the order depends on which poll the test server answers first."""
    from temporalio import activity
    from temporalio.worker import ActivityInboundInterceptor, Interceptor

    started: dict[tuple[str, str], set[str]] = {}

    class InOrder(ActivityInboundInterceptor):
        def execute_activity(self, input):
            if not inspect.iscoroutinefunction(input.fn):
                return self.next.execute_activity(input)
            return self._in_order(input)

        async def _in_order(self, input):
            info = activity.info()
            ids = started.setdefault((info.workflow_id or "", info.workflow_run_id or ""), set())
            if info.activity_id.isdigit() and int(info.activity_id) > 1:
                previous = str(int(info.activity_id) - 1)
                deadline = asyncio.get_running_loop().time() + IN_ORDER_WAIT
                while previous not in ids and asyncio.get_running_loop().time() < deadline:
                    await asyncio.sleep(0.002)
            ids.add(info.activity_id)
            return await self.next.execute_activity(input)

    class Ordering(Interceptor):
        def intercept_activity(self, next):
            return InOrder(next)

    return Ordering()


def _install_in_order() -> None:
    """Every Worker your tests make, on a run's thread, gets the interceptor above."""
    from temporalio.worker import Worker

    if getattr(Worker.__init__, "_workbook_in_order", False):
        return
    original = Worker.__init__

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        if threading.current_thread().name == THREAD:
            kwargs["interceptors"] = [*(kwargs.get("interceptors") or ()), _in_order_interceptor()]
        original(self, *args, **kwargs)

    __init__._workbook_in_order = True
    Worker.__init__ = __init__


@dataclass
class Run:
    """What one run of the student's tests saw."""

    collected: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (test, what it said)
    errors: list[str] = field(default_factory=list)  # collection errors (an import, a syntax error)
    hung: str = ""  # the test that was still running when the run timed out
    marked: list[tuple[str, str]] = field(default_factory=list)  # (test, "skipped"/"xfail", why): protects nothing
    done: bool = False


class _Recorder:
    """A pytest plugin: which tests were collected, which failed and why."""

    def __init__(self, run: Run, killers: dict[str, int]) -> None:
        self.run = run
        self.killers = killers

    def pytest_collection_modifyitems(self, items):
        # The tests that caught earlier broken sagas first: with -x, one failure ends a run.
        items.sort(key=lambda item: -self.killers.get(item.name, 0))

    def pytest_collectreport(self, report):
        if report.failed:
            self.run.errors.append(_short(report.longreprtext))

    def pytest_collection_finish(self, session):
        self.run.collected = len(session.items)

    def pytest_runtest_logstart(self, nodeid, location):
        self.run.hung = nodeid.split("::")[-1]

    def pytest_runtest_logreport(self, report):
        test = report.nodeid.split("::")[-1]
        if hasattr(report, "wasxfail") and test not in {name for name, _ in self.run.marked}:
            self.run.marked.append((test, f"xfail{_why(report.wasxfail)}"))
        elif report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
            self.run.marked.append((test, f"skipped{_why(reason.removeprefix('Skipped: '))}"))
        if report.failed:
            test = report.nodeid.split("::")[-1]
            self.run.failed.append((test, _said(report)))
            self.killers[test] = self.killers.get(test, 0) + 1


def _why(reason: str) -> str:
    return f" ({_short(reason, 80)})" if reason else ""


def _said(report) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    where = f" ({Path(crash.path).name}:{crash.lineno})" if crash is not None else ""
    message = crash.message if crash is not None else str(report.longrepr)
    if report.when != "call":
        message = f"in its {report.when}: {message}"
    return _short(message) + where


def _short(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _run_pytest(folder: Path, workflow_source: str, target: str, stop_at_first: bool, run: Run, killers: dict) -> None:
    """One run of the tests in ``folder`` with ``workflow_source`` as workflow.py (thread)."""
    import pytest

    scratch = Path(tempfile.mkdtemp(prefix="workbook-ex10-"))
    saved_modules = {name: sys.modules.pop(name) for name in LOCAL_MODULES if name in sys.modules}
    saved_env = {name: os.environ.get(name) for name in (SHARED_SERVER, NO_AUTOLOAD)}
    saved_streams = sys.stdout, sys.stderr
    try:
        for path in folder.glob("*.py"):
            shutil.copy(path, scratch / path.name)
        (scratch / "workflow.py").write_text(workflow_source)
        (scratch / "pytest.ini").write_text(PYTEST_INI)
        sys.path.insert(0, str(scratch))
        os.environ[SHARED_SERVER] = target
        CHECKER_THREAD.server = target  # kept by this thread even if the check gives up on it
        os.environ[NO_AUTOLOAD] = "1"  # no xdist, nbval or timeout: the plugins named in PYTEST_ARGS only
        sys.stdout = sys.stderr = io.StringIO()  # pytest's report: the check says what matters
        args = [str(scratch / TEST_FILE), "--rootdir", str(scratch), "-c", str(scratch / "pytest.ini"), *PYTEST_ARGS]
        status = pytest.main(args + (["-x"] if stop_at_first else []), plugins=[_Recorder(run, killers)])
        if status in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR) and not run.errors:
            run.errors.append(f"pytest could not run it (exit status {int(status)})")
        run.hung, run.done = "", True
    finally:
        sys.stdout, sys.stderr = saved_streams
        if str(scratch) in sys.path:
            sys.path.remove(str(scratch))
        sys.path_importer_cache.pop(str(scratch), None)
        for name in LOCAL_MODULES:
            sys.modules.pop(name, None)
        sys.modules.update(saved_modules)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(scratch, ignore_errors=True)


async def _run(folder: Path, source: str, target: str, stop_at_first: bool, killers: dict) -> Run:
    """Run the tests on a daemon thread; give up on them after RUN_TIMEOUT."""
    run = Run()
    loop = asyncio.get_running_loop()
    finished = loop.create_future()

    def work() -> None:
        try:
            _run_pytest(folder, source, target, stop_at_first, run, killers)
        except BaseException as err:  # a test that exits the interpreter, say
            run.errors.append(f"{type(err).__name__}: {err}")
            run.done = True  # it ended: named as an error, not as a hang
        finally:
            loop.call_soon_threadsafe(lambda: finished.done() or finished.set_result(None))

    # What a run changes for the whole process, put back here too: a run left behind
    # never reaches its own `finally`.
    saved = sys.stdout, sys.stderr, list(sys.path), dict(os.environ)
    _install_in_order()
    threading.Thread(target=work, name=THREAD, daemon=True).start()
    try:
        await asyncio.wait_for(asyncio.shield(finished), RUN_TIMEOUT)
    except asyncio.TimeoutError:
        sys.stdout, sys.stderr, sys.path[:] = saved[0], saved[1], saved[2]
        os.environ.clear()
        os.environ.update(saved[3])
    return run


@dataclass
class Verdicts:
    correct: Run
    survived: list[Mutant]
    caught: int
    problem: str = ""  # why the mutants were not run
    asserts_nothing: bool = False  # the file has no assert: why broken sagas survived


async def _verdicts(lab) -> Verdicts:
    """Every run, once per check session: both checks read the same result."""
    cached = getattr(lab.modules, "_ex10_verdicts", None)
    if cached is None:
        cached = lab.modules._ex10_verdicts = asyncio.ensure_future(_judge(lab))
    return await asyncio.shield(cached)


class _Servers:
    """The test server the runs use: the checker's, until a run leaves it no longer skipping
    time (a workflow that ended with an activity still pending: see
    workbook.server.time_skips); then a fresh one of our own, so later runs do not wait out
    their timers in real time."""

    def __init__(self, client) -> None:
        self.client, self.own = client, []

    @property
    def target(self) -> str:
        return self.client.service_client.config.target_host

    async def after_a_run(self) -> None:
        from workbook.server import start_test_server, time_skips

        if not await time_skips(self.client):
            self.own.append(await start_test_server())
            self.client = self.own[-1].client

    async def close(self) -> None:
        for environment in self.own:
            await environment.shutdown()


async def _judge(lab) -> Verdicts:
    folder = Path(lab.modules.folder)
    if not (folder / TEST_FILE).exists():
        raise CodeError(f"there is no {TEST_FILE} in {folder.name}/: write your tests there (see the README, Part A).")
    servers = _Servers(lab.client)
    await servers.after_a_run()  # the checker's server may be stuck already (see _Servers)
    try:
        return await _judge_on(folder, servers)
    finally:
        await servers.close()


async def _judge_on(folder: Path, servers: _Servers) -> Verdicts:
    source = (folder / "workflow.py").read_text()
    killers: dict[str, int] = {}  # test name: the broken sagas it caught
    correct = await _run(folder, source, servers.target, False, killers)
    problem = _problem_with(correct)
    if problem:
        return Verdicts(correct, [], 0, problem)
    survived = []
    for mutant in MUTANTS:
        try:
            broken = mutant.apply(source)
        except LookupError:
            raise CodeError(
                "workflow.py is not the one shipped with the exercise, so the broken sagas cannot "
                "be made from it: this exercise tests the saga, it does not change it. Put it back "
                "from solution/workflow.py."
            )
        await servers.after_a_run()
        run = await _run(folder, broken, servers.target, True, killers)
        if not run.done:
            return Verdicts(correct, [], 0, _hang(run, f"against the broken saga '{mutant.name}'"))
        if not run.failed and not run.errors:
            survived.append(mutant)
    caught = len(MUTANTS) - len(survived)
    # What the runs showed decides; the source only says why, when no broken saga was caught.
    blind = asserts_nothing((folder / TEST_FILE).read_text())
    return Verdicts(correct, survived, caught, asserts_nothing=blind)


def _problem_with(run: Run) -> str:
    if not run.done:
        return _hang(run, "against the correct saga")
    if run.errors:
        return f"{TEST_FILE} does not load: {run.errors[0]}"
    if not run.collected:
        return (
            f"{TEST_FILE} has no tests: pytest runs the functions whose names start with test_ "
            "(e.g. `async def test_trip_is_booked(env):`)."
        )
    if run.marked:
        test, how = run.marked[0]
        if how.startswith("xfail"):
            why = ("it is marked xfail " + how[5:].strip()).strip() + (
                ": pytest counts its failure as expected, so a broken saga that makes it fail passes the run "
                "unnoticed"
            )
        else:
            why = ("pytest skipped it " + how[7:].strip()).strip() + (
                ": a test that does not run can catch no broken saga"
            )
        return (
            f"{test} protects nothing: {why}. Remove the "
            + ("mark" if how.startswith("xfail") else "mark (or the pytest.skip() call)")
            + ", so that it runs and its failure counts."
        )
    if run.failed:
        test, said = run.failed[0]
        more = f" ({len(run.failed) - 1} more fail too)" if len(run.failed) > 1 else ""
        return (
            f"{test} fails against the correct saga (workflow.py as shipped): {said}{more}. A test "
            "must pass when the saga is right: check what it expects."
        )
    return ""


def _hang(run: Run, against: str) -> str:
    which = f"{run.hung} " if run.hung else "your tests "
    return (
        f"{which}did not finish within {RUN_TIMEOUT:.0f} seconds {against}: is it waiting for "
        "something that never happens (a result of a workflow no worker runs, a mock that never "
        "returns)? Start each workflow inside `async with Worker(...)` on the task queue it uses."
    )


def asserts_nothing(source: str) -> bool:
    """No assert statement and no pytest.raises anywhere in the test file."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            return False
        if isinstance(node, ast.Attribute) and node.attr == "raises":
            return False
    return True


@suite.check("Your tests pass against the correct saga")
async def tests_pass_against_the_correct_saga(lab):
    verdicts = await _verdicts(lab)
    if verdicts.problem:  # stops the next check too: it needs tests that pass
        raise CodeError(verdicts.problem)


@suite.check("Your tests catch every broken saga")
async def tests_catch_every_broken_saga(lab):
    verdicts = await _verdicts(lab)
    if verdicts.problem:
        raise CodeError(verdicts.problem)  # shown once, by the check above
    total = len(MUTANTS)
    if not verdicts.survived:
        return
    if verdicts.asserts_nothing:
        caught = (f": they caught only {verdicts.caught} of {total} broken sagas, those that make a workflow "
                  "raise where a test awaits its result" if verdicts.caught else
                  f", and none of the {total} broken sagas made them fail")  # fmt: skip
        raise CheckFailed(
            f"your tests assert nothing (no `assert`, no `pytest.raises`){caught}. A test proves something "
            "only when it can fail: assert on the calls your mocks recorded and on how the workflow ended. "
            "Start with a test that fails the payment and asserts the undo order (refund_payment, "
            "cancel_car, cancel_hotel, cancel_flight)."
            + (f" They missed: {_missed(verdicts.survived)}" if verdicts.caught else "")
        )
    if verdicts.caught == 0:
        raise CheckFailed(
            f"your tests pass against every broken saga: they caught 0 of {total}. They run the "
            "workflow but assert nothing a broken saga changes. They missed: " + _missed(verdicts.survived)
        )
    raise CheckFailed(
        f"your tests caught {verdicts.caught} of {total} broken sagas; they missed: " + _missed(verdicts.survived)
    )


def _missed(mutants: list[Mutant]) -> str:
    return "; ".join(f"{m.name} ({m.advice})" for m in mutants) + "."
