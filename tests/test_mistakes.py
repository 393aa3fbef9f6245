"""The classic wrong answers to exercise 03 fail its checks, with a message that names
the mistake. Each mistake is made in a copy of the solution, the way a student would."""

from __future__ import annotations

import re
import shutil

import pytest

from workbook.checks import load_suite, run_suite
from workbook.loader import exercise_dir

SOLUTION = exercise_dir("03") / "solution"


def register_after_each_step(source: str) -> str:
    """Move every `compensations.append(undo)` below the step it guards."""
    pattern = re.compile(r"( +compensations\.append\(\w+\)\n)( +\w+ = await workflow\.execute_activity\(.*\)\n)")
    changed, count = pattern.subn(r"\2\1", source)
    assert count == 4
    return changed


MISTAKES = {
    # name: (how to make it in workflow.py, words the failing check must use)
    "forward order": (lambda s: s.replace("reversed(compensations)", "compensations"), "newest step first"),
    "a missing compensation": (lambda s: s.replace("            compensations.append(cancel_hotel)\n", ""), "cancel_hotel never ran"),
    "compensation not awaited": (lambda s: s.replace("await workflow.execute_activity(undo", "workflow.execute_activity(undo"), "not awaited"),
    "error swallowed": (lambda s: s.replace("            raise\n", "            return None\n"), "re-raise"),
    "undo registered after its step": (register_after_each_step, "before its step"),
}  # fmt: skip


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited")
@pytest.mark.parametrize("mistake", MISTAKES)
async def test_mistake_is_caught_and_named(mistake, tmp_path, env):
    make_mistake, words = MISTAKES[mistake]
    folder = tmp_path / "practice"
    shutil.copytree(SOLUTION, folder, ignore=shutil.ignore_patterns("__pycache__"))
    workflow = folder / "workflow.py"
    original = workflow.read_text()
    workflow.write_text(make_mistake(original))
    assert workflow.read_text() != original, "the mistake was not made: did the solution change?"

    results = await run_suite(load_suite("03"), folder, env)

    failed = [r for r in results if not r.passed]
    assert failed, f"no check caught: {mistake}"
    assert any(words in r.detail for r in failed), "\n".join(r.detail for r in failed)
