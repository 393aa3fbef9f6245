"""Every exercise, proven: its checks pass on solution/ (or on practice/ with
--target practice), its practice/ fails as shipped, and the two folders differ only in
TODO regions. The checks themselves live in workbook/checks/exNN.py.

"As shipped" is what is committed (HEAD), as `workbook verify` judges it: a student who
has solved practice/ folders in their checkout still gets a green `pytest`."""

from __future__ import annotations

import tomllib

import pytest

from workbook.checks import load_suite, run_suite
from workbook.cli import COMMANDS
from workbook.loader import exercises
from workbook.verify import drift, judged_tree, readme_problems, todo_count, written_whole
from workbook.world import REPO_ROOT

EXERCISES = exercises()
instructor_only = pytest.mark.skipif(
    "config.getoption('--target') == 'practice'",
    reason="a proof about the shipped folders, not about your work",
)


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda f: f.name)
async def test_every_check_passes(exercise, target, server):
    """All of an exercise's checks, side by side as `workbook check` runs them."""
    results = await run_suite(load_suite(exercise.name[:2]), exercise / target, server)
    failed = [f"{r.title}\n    {r.detail}" for r in results if not r.passed]
    assert not failed, f"{len(failed)} of {len(results)} checks fail on {target}/:\n" + "\n".join(failed)


@pytest.fixture(scope="session")
def shipped():
    """The exercises folder as committed at HEAD (the working tree outside a git checkout)."""
    with judged_tree(REPO_ROOT) as (tree, _):
        yield tree / "exercises"


@instructor_only
@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda f: f.name)
async def test_practice_is_unsolved_as_shipped(exercise, server, shipped):
    suite = load_suite(exercise.name[:2])
    results = await run_suite(suite, shipped / exercise.name / "practice", server)
    assert [r.name for r in results] == [c.name for c in suite.checks], (
        f"practice/ does not load and run: {results[0].detail}"
    )
    assert not all(r.passed for r in results), "practice/ passes every check as shipped"


@instructor_only
@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda f: f.name)
def test_practice_differs_from_solution_only_in_todos(exercise, shipped):
    committed = shipped / exercise.name
    assert drift(committed / "practice", committed / "solution") == []
    # Exercise 13's workflow.py is written whole (verify.WRITTEN_WHOLE): no TODO, no drift rule.
    assert todo_count(committed / "practice") > 0 or written_whole(committed / "practice")


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda f: f.name)
def test_readme_names_only_what_exists(exercise):
    assert readme_problems(exercise, set(COMMANDS)) == []


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda f: f.name)
def test_hints_ask_before_they_tell(exercise):
    hints = [h["text"] for h in tomllib.loads((exercise / "hints.toml").read_text())["hint"]]
    assert len(hints) >= 3
    assert "?" in hints[0], "the first hint should be a question"
    assert "solution" in hints[-1], "the last hint should point at the solution"


def test_only_exercise_13_writes_a_file_whole(tmp_path):
    """The drift rule's one exception (verify.WRITTEN_WHOLE) is exercise 13's workflow.py: any
    other file of 13 that differs from its solution is drift, as in every exercise."""
    from workbook.verify import WRITTEN_WHOLE

    assert WRITTEN_WHOLE == {"13": ("workflow.py",)}
    exercise = tmp_path / "13-order-fulfilment"
    for target in ("practice", "solution"):
        (exercise / target).mkdir(parents=True)
        (exercise / target / "workflow.py").write_text(f"# {target}: anything\n")
        (exercise / target / "activities.py").write_text("x = 1\n")
    assert drift(exercise / "practice", exercise / "solution") == []
    (exercise / "practice" / "activities.py").write_text("x = 2\n")
    assert drift(exercise / "practice", exercise / "solution")[0].startswith("activities.py: line 1 differs")
