"""The mistakes catalogue (tests/catalogue.py), against the real checks.

Every wrong answer fails, and the first failing check names the mistake (what a student
reads first). Every correct alternative passes every check. Each answer is made in a
copy of the exercise's solution, the way a student would write it.
"""

from __future__ import annotations

import shutil

import pytest

from catalogue import ANSWERS, Answer
from workbook.checks import load_suite, run_suite
from workbook.loader import exercise_dir


def written(answer: Answer, tmp_path):
    folder = tmp_path / "practice"
    shutil.copytree(exercise_dir(answer.exercise) / "solution", folder, ignore=shutil.ignore_patterns("__pycache__"))
    for edit in answer.edits:  # (old, new) in answer.file, or (file, old, new) in another one
        file, old, new = edit if len(edit) == 3 else (answer.file, *edit)
        path = folder / file
        text = path.read_text()
        assert old in text, f"{answer.name}: {old!r} is no longer in {file}: update the catalogue"
        path.write_text(text.replace(old, new))
    return folder


def ids(answer: Answer) -> str:
    return f"{answer.exercise}-{'wrong' if answer.wrong else 'right'}-{answer.name}"


# Exercises 04 on are judged in tests/test_mistakes_later.py (04-08), test_mistakes_09.py and
# test_mistakes_10.py: files of their own, so that pytest-xdist (one file to a worker) shares
# them out.
@pytest.mark.parametrize("answer", [a for a in ANSWERS if a.exercise <= "03"], ids=ids)
async def test_catalogue(answer, tmp_path, server):
    await judge(answer, tmp_path, server)


async def judge(answer: Answer, tmp_path, server) -> None:
    suite = load_suite(answer.exercise)
    folder = written(answer, tmp_path)
    results = await run_suite(suite, folder, server, first_failure=answer.wrong)
    failed = [r for r in results if not r.passed]
    if not answer.wrong:
        assert not failed, "a correct answer was rejected:\n" + "\n".join(f"{r.title}: {r.detail}" for r in failed)
        return
    assert failed, f"the wrong answer {answer.name!r} passed every check"
    assert answer.words in failed[0].detail, f"{failed[0].title}:\n{failed[0].detail}"
    assert "Traceback" not in failed[0].detail


def test_catalogue_is_big_enough():
    wrong = [a for a in ANSWERS if a.wrong]
    right = [a for a in ANSWERS if not a.wrong]
    assert len(wrong) >= 30 and len(right) >= 8
    assert {a.exercise for a in wrong} == {a.exercise for a in right} >= {"01", "02", "03"}
    for exercise in {a.exercise for a in ANSWERS}:  # the exercise contract, from 04 on
        if exercise > "03":
            assert sum(a.wrong for a in ANSWERS if a.exercise == exercise) >= 8, exercise
            assert sum(not a.wrong for a in ANSWERS if a.exercise == exercise) >= 2, exercise
