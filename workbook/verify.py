"""The instructor's proofs about the exercise folders themselves (no Temporal needed):

* drift: practice/ and solution/ hold the same files, identical outside TODO regions;
* README: every file, folder and `python -m workbook` command a README names exists.

A TODO region starts at a ``# TODO Part X:`` comment (present in both folders) and
covers the lines right under it (plus further comment lines continuing it): every
difference between practice and solution must start there.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

TODO_LINE = re.compile(r"^\s*# TODO Part [A-Z]\b")
IGNORED = {"__pycache__", ".ipynb_checkpoints"}


def exercise_files(folder: Path) -> set[str]:
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not IGNORED & set(p.parts) and p.suffix not in (".pyc", ".db")
    }


def todo_count(folder: Path) -> int:
    return sum(
        1
        for name in exercise_files(folder)
        for line in (folder / name).read_text().splitlines()
        if TODO_LINE.match(line)
    )


def drift(practice: Path, solution: Path) -> list[str]:
    """Every way practice/ and solution/ differ outside TODO regions (empty = none)."""
    problems = []
    p_files, s_files = exercise_files(practice), exercise_files(solution)
    for name in sorted(p_files ^ s_files):
        where = "practice" if name in p_files else "solution"
        problems.append(f"{name} is only in {where}/")
    for name in sorted(p_files & s_files):
        problems += [f"{name}: {p}" for p in _file_drift(
            (practice / name).read_text().splitlines(), (solution / name).read_text().splitlines()
        )]  # fmt: skip
    return problems


def _file_drift(practice: list[str], solution: list[str]) -> list[str]:
    problems = []
    matcher = difflib.SequenceMatcher(a=practice, b=solution, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        line = i1 - 1  # walk up over comment lines continuing a TODO
        while line >= 0 and practice[line].lstrip().startswith("#") and not TODO_LINE.match(practice[line]):
            line -= 1
        if line < 0 or not TODO_LINE.match(practice[line]):
            shown = (practice[i1:i2] or solution[j1:j2] or [""])[0].strip()
            problems.append(f"line {i1 + 1} differs outside a TODO region: {shown!r}")
    return problems


README_PATH = re.compile(r"`((?:\.\./)*[\w./-]+\.(?:py|md|toml|ipynb|json))`")
README_COMMAND = re.compile(r"python -m workbook (\w+)")


def readme_problems(exercise: Path, commands: set[str]) -> list[str]:
    """Files a README tells you to open or run that don't exist; commands that don't."""
    readme = exercise / "README.md"
    if not readme.exists():
        return ["README.md is missing"]
    text = readme.read_text()
    problems = []
    for name in sorted(set(README_PATH.findall(text))):
        candidates = [exercise / name, exercise / "practice" / name, exercise / "solution" / name,
                      exercise.parent.parent / name]  # fmt: skip
        if not any(c.exists() for c in candidates):
            problems.append(f"README.md names `{name}`, which does not exist")
    for command in sorted(set(README_COMMAND.findall(text)) - commands):
        problems.append(f"README.md uses `python -m workbook {command}`, which is not a command")
    return problems
