"""Exercise 10's library of broken sagas (workbook/checks/ex10_mutants.py) is itself
tested: every mutant can be made from the shipped workflow.py and compiles, each is
really broken in its own way, and the solution's tests catch every one of them (the
proof that the check asks nothing impossible of a student)."""

from __future__ import annotations

import pytest

from workbook.checks import ex10
from workbook.checks.ex10_mutants import MUTANTS
from workbook.loader import exercise_dir

FOLDER = exercise_dir("10") / "solution"
SOURCE = (FOLDER / "workflow.py").read_text()


def test_the_library_covers_what_the_issue_lists():
    names = " | ".join(m.name for m in MUTANTS)
    for kind in ("forward order", "missing undo", "no re-raise", "registered after", "error swallowed",
                 "auxiliary step compensated", "concurrently", "business error retried"):  # fmt: skip
        assert kind in names
    assert len({m.name for m in MUTANTS}) == len(MUTANTS)


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name.split(":")[0])
def test_every_mutant_is_made_and_compiles(mutant):
    broken = mutant.apply(SOURCE)
    assert broken != SOURCE
    compile(broken, "workflow.py", "exec")
    assert len({m.apply(SOURCE) for m in MUTANTS}) == len(MUTANTS)  # no two the same


async def test_the_solution_tests_catch_every_mutant(env):
    target = env.client.service_client.config.target_host
    killers: dict[str, int] = {}
    correct = await ex10._run(FOLDER, SOURCE, target, False, killers)
    assert correct.done and correct.collected == 4 and not correct.failed and not correct.errors
    survived = []
    for mutant in MUTANTS:
        run = await ex10._run(FOLDER, mutant.apply(SOURCE), target, True, killers)
        assert run.done and not run.errors, f"{mutant.name}: {run.errors or 'did not finish'}"
        if not run.failed:
            survived.append(mutant.name)
    assert survived == [], f"the solution's tests miss: {survived}"


async def test_a_run_the_check_gives_up_on_starts_no_server_of_its_own(env, tmp_path, monkeypatch):
    """A run that hangs is left behind on its thread, and the environment variable that
    lends it the checker's server is put back: its next tests must still borrow that server
    (thread-local), not start test servers nobody stops (seen: they outlived the suite as
    orphans, ppid 1)."""
    import asyncio
    import shutil

    from workbook import server

    started = []
    real = server.start_test_server

    async def counted():
        started.append(1)
        return await real()

    monkeypatch.setattr(server, "start_test_server", counted)
    folder = tmp_path / "answer"
    shutil.copytree(FOLDER, folder, ignore=shutil.ignore_patterns("__pycache__"))
    tests = (folder / "test_saga.py").read_text()
    first = tests.index("async def test_")
    hang = "async def test_hangs(env):\n    await asyncio.sleep(1.5)\n\n\n"  # outlasts RUN_TIMEOUT
    (folder / "test_saga.py").write_text("import asyncio\n" + tests[:first] + hang + tests[first:])
    monkeypatch.setattr(ex10, "RUN_TIMEOUT", 0.5)
    run = await ex10._run(folder, SOURCE, env.client.service_client.config.target_host, False, {})
    assert not run.done  # given up on
    await asyncio.sleep(3)  # the left-behind thread goes on to its next tests
    assert not started
