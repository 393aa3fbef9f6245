"""The loader's isolation proof. Every exercise folder uses the same module names, and
Temporal's sandbox re-imports the workflow module by name, so one folder's code must never
leak into another's run. Two folders with the same module and class names, run in turn in
one process, must each give their own answer, and loading must leave no trace."""

from __future__ import annotations

import sys
import types
import uuid
from pathlib import Path

from temporalio.worker import Worker

from workbook.loader import loaded

ISOLATION = Path(__file__).parent / "fixtures" / "isolation"
NAMES = ("shared", "activities", "workflow")


async def greet(env, folder: Path, who: str) -> tuple[str, types.SimpleNamespace]:
    with loaded(folder) as modules:
        assert sys.path[0] == str(folder.resolve())
        assert sys.modules["shared"].NAME == folder.name
        queue = f"isolation-{folder.name}-{uuid.uuid4()}"
        async with Worker(
            env.client,
            task_queue=queue,
            workflows=[modules.workflow.Greeter],
            activities=[modules.activities.say_hello],
            workflow_failure_exception_types=[Exception],
        ):
            answer = await env.client.execute_workflow(
                modules.workflow.Greeter.run, who, id=f"greet-{uuid.uuid4()}", task_queue=queue
            )
    return answer, modules


async def test_same_named_folders_run_in_turn_without_mixing(env, monkeypatch):
    # A module named like the folders' own, imported before: it must survive the loading.
    outsider = types.ModuleType("shared")
    monkeypatch.setitem(sys.modules, "shared", outsider)
    monkeypatch.delitem(sys.modules, "activities", raising=False)
    monkeypatch.delitem(sys.modules, "workflow", raising=False)
    path_before = list(sys.path)

    def assert_restored():
        assert sys.path == path_before
        assert sys.modules["shared"] is outsider
        assert "activities" not in sys.modules and "workflow" not in sys.modules

    first, alpha = await greet(env, ISOLATION / "alpha", "Ada")
    assert first == "alpha: hello Ada"
    assert_restored()

    second, beta = await greet(env, ISOLATION / "beta", "Grace")
    assert second == "beta: hello Grace"
    assert_restored()

    third, alpha_again = await greet(env, ISOLATION / "alpha", "Linus")
    assert third == "alpha: hello Linus"
    assert_restored()

    # Each load imported the folder afresh, not a copy cached from an earlier load.
    assert beta.workflow.Greeter is not alpha.workflow.Greeter
    assert alpha_again.workflow is not alpha.workflow
    assert {m.shared.NAME for m in (alpha, beta, alpha_again)} == {"alpha", "beta"}


def test_the_server_started_early_is_the_one_each_suite_declares():
    """`workbook check` starts the server before the checks load, from the Suite(...)
    line read as text: it must agree with the suite itself."""
    from workbook.checks import load_suite
    from workbook.loader import exercises, suite_needs

    for folder in exercises():
        suite = load_suite(folder.name[:2])
        assert suite_needs(folder.name[:2]) == (suite.server if suite.uses_temporal else None), folder.name
