"""The instructor's proofs about the exercise folders themselves (no Temporal needed):

* drift: practice/ and solution/ hold the same files, identical outside TODO regions
  (one documented exception: WRITTEN_WHOLE, exercise 13's workflow.py);
* README: every file, folder and `python -m workbook` command a README names exists;
* ``judged_tree()``: the committed state of the repository (``git archive HEAD``), so
  `workbook verify` judges the exercises as shipped, not a student's or an instructor's
  uncommitted edits (the working tree, when the repository is not a git checkout).

The drift rule: where may practice and solution differ?
-------------------------------------------------------
A TODO region starts at a ``# TODO Part X:`` line and runs down to its *anchor*: the
first line below it that is code (not a comment, not blank) from which the rest of the
file, up to the next TODO line, is the same in practice and solution. When there is no
code line at all before the next TODO line (only comments and blank lines), the region
runs on into the next one; after the last TODO, into the end of the file. Everything
before the first TODO line, and every line from an anchor to the next TODO line, must
be identical. Inside a region anything may differ, including the TODO comments
themselves (a student may delete them), so every place the README's words allow is
inside: "before `raise`" means anywhere between the TODO line and the `raise` that
anchors it, below the comments as well as above them.

Equivalently, the practice file is a template: fixed runs of lines with a hole at each
TODO, and a file passes when it is those fixed runs, in order, with anything in the
holes. The template comes from the shipped pair; ``drift(practice, solution, shipped)``
judges a student's edited practice/ against the template of the ``shipped`` one, so an
edit outside the holes fails even when it happens to look like the solution's code.
Without ``shipped``, the practice folder itself is taken as shipped: its TODO lines mark
the holes, and an anchor is chosen so that a correct answer is never refused (the price:
a changed code line right below a region, before the next unchanged one, then counts as
part of the region; pass ``shipped`` to judge a student's edits exactly).
"""

from __future__ import annotations

import difflib
import io
import re
import subprocess
import tarfile
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

TODO_LINE = re.compile(r"^\s*# TODO Part [A-Z]\b")
# The one exception to the drift rule: a file the student writes whole, with no TODO regions.
# Exercise 13 ("on your own") ships its workflow.py as the class, its signature and a docstring
# of requirements, and nothing that hints at the saga's structure, so its solution differs
# from it everywhere. Such a file must still exist in both folders; every other file of the
# exercise keeps the rule (identical in practice and solution), and the exercise needs no
# TODO line. Keyed by the exercise's number, read from the folder's name (NN-name/practice).
WRITTEN_WHOLE = {"13": ("workflow.py",)}


def written_whole(practice: Path) -> tuple[str, ...]:
    """The files of this practice folder that the student writes whole (see WRITTEN_WHOLE)."""
    return WRITTEN_WHOLE.get(Path(practice).resolve().parent.name[:2], ())
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


def drift(practice: Path, solution: Path, shipped: Path | None = None) -> list[str]:
    """Every way practice/ and solution/ differ outside TODO regions (empty = none).

    ``shipped`` is the practice folder as shipped, when ``practice`` holds someone's edits:
    the TODO regions are then those of ``shipped`` (see the module's docstring)."""
    problems = []
    p_files, s_files = exercise_files(practice), exercise_files(solution)
    for name in sorted(p_files ^ s_files):
        where = "practice" if name in p_files else "solution"
        problems.append(f"{name} is only in {where}/")
    for name in sorted(p_files & s_files):
        if name in written_whole(practice):
            continue
        mine = (practice / name).read_text().splitlines()
        answer = (solution / name).read_text().splitlines()
        base = mine
        if shipped is not None and (shipped / name).exists():
            base = (shipped / name).read_text().splitlines()
        problems += [f"{name}: {p}" for p in file_drift(mine, answer, base)]
    return problems


def is_code(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def file_drift(practice: list[str], solution: list[str], shipped: list[str] | None = None) -> list[str]:
    """The drift of one file, as lines (see the module's docstring for the rule)."""
    base = practice if shipped is None else shipped
    pieces = template(base, solution)
    if pieces is None:
        return _where_it_differs(base, solution)
    if base is not practice and not fits(practice, pieces):
        return [_misfit(practice, pieces, base)]
    return []


def template(base: list[str], solution: list[str]) -> list[list[str]] | None:
    """The fixed runs of lines of ``base`` (a hole between each two) such that ``solution``
    fits, taking the earliest possible anchor for each TODO; None if there is none."""
    todos = [i for i, line in enumerate(base) if TODO_LINE.match(line)]
    if not todos:
        return [base] if base == solution else None
    head = base[: todos[0]]
    if solution[: len(head)] != head:
        return None

    def search(k: int, position: int) -> list[list[str]] | None:
        end = todos[k + 1] if k + 1 < len(todos) else len(base)
        anchors = [i for i in range(todos[k] + 1, end) if is_code(base[i])] or [end]
        for anchor in anchors:
            piece = base[anchor:end]
            if k + 1 == len(todos):  # the last run must end the file
                start = len(solution) - len(piece)
                if start >= position and solution[start:] == piece:
                    return [piece]
                continue
            found = _find(solution, piece, position)
            if found is not None:
                rest = search(k + 1, found + len(piece))
                if rest is not None:
                    return [piece, *rest]
        return None

    rest = search(0, len(head))
    return None if rest is None else [head, *rest]


def fits(lines: list[str], pieces: list[list[str]]) -> bool:
    """Is ``lines`` the fixed runs ``pieces``, in order, with anything in the holes?"""
    head, *middle, last = pieces if len(pieces) > 1 else [*pieces, []]
    if lines[: len(head)] != head:
        return False
    position = len(head)
    for piece in middle:
        found = _find(lines, piece, position)
        if found is None:
            return False
        position = found + len(piece)
    if len(pieces) == 1:
        return lines == head
    return len(lines) - len(last) >= position and (not last or lines[len(lines) - len(last):] == last)


def _find(lines: list[str], piece: list[str], start: int) -> int | None:
    """The first index >= start where ``piece`` occurs in ``lines``."""
    for i in range(start, len(lines) - len(piece) + 1):
        if lines[i : i + len(piece)] == piece:
            return i
    return None


def _where_it_differs(base: list[str], other: list[str]) -> list[str]:
    """The lines of ``base`` that differ from ``other`` outside a TODO region, for the
    message: regions run to the first matching code line (moved comments come last)."""
    matcher = difflib.SequenceMatcher(a=base, b=other, autojunk=False)
    opcodes = matcher.get_opcodes()
    matched = {i for tag, i1, i2, _, _ in opcodes if tag == "equal" for i in range(i1, i2)}
    inside, in_region = False, []
    for i, line in enumerate(base):
        if TODO_LINE.match(line):
            inside = True
        elif inside and is_code(line) and i in matched:
            inside = False
        in_region.append(inside)
    code, comments = [], []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            continue
        touched = range(i1, i2) if i2 > i1 else [i1 - 1]
        if all(i >= 0 and in_region[i] for i in touched):
            continue
        changed = base[i1:i2] + other[j1:j2]
        shown = (base[i1:i2] or other[j1:j2] or [""])[0].strip()
        problem = f"line {i1 + 1} differs outside a TODO region: {shown!r}"
        (code if any(is_code(line) for line in changed) else comments).append(problem)
    return code or comments or ["it differs outside its TODO regions"]


def _misfit(lines: list[str], pieces: list[list[str]], base: list[str]) -> str:
    """Where ``lines`` (an edited practice file) leaves the template of the shipped one."""
    head, *rest = pieces
    for i, expected in enumerate(head):
        if i >= len(lines) or lines[i] != expected:
            return f"line {i + 1} differs outside a TODO region: {expected.strip()!r}"
    position = len(head)
    for number, piece in enumerate(rest, 1):
        last = number == len(rest)
        found = _find(lines, piece, position) if not last else (
            len(lines) - len(piece) if len(lines) - len(piece) >= position
            and lines[len(lines) - len(piece):] == piece else None
        )  # fmt: skip
        if found is not None:
            position = found + len(piece)
            continue
        # the longest run of the piece's first lines found in place, to name the line after it
        best_at, best = position, 0
        for i in range(position, len(lines)):
            run = 0
            while run < len(piece) and i + run < len(lines) and lines[i + run] == piece[run]:
                run += 1
            if run > best:
                best_at, best = i, run
        shipped_line = _find(base, piece, 0) or 0
        if best == 0:
            return (
                f"line {shipped_line + 1} of the shipped file is missing or changed, outside a "
                f"TODO region: {piece[0].strip()!r}"
            )
        at = best_at + best  # the first line that leaves the shipped run
        shown = piece[best] if best < len(piece) else lines[at] if at < len(lines) else ""
        return f"line {at + 1} differs outside a TODO region: {shown.strip()!r}"
    return "it differs outside its TODO regions"


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


# --- what verify judges -----------------------------------------------------------------


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=root, capture_output=True)


@contextmanager
def judged_tree(root: Path) -> Iterator[tuple[Path, str]]:
    """The tree `workbook verify` judges, and how to say which it is.

    In a git checkout: the committed files at HEAD, unpacked into a temporary folder,
    so a student's answers in practice/ or an instructor's unsaved experiment don't
    decide the verdict. Elsewhere (a downloaded zip): the working tree itself."""
    root = Path(root).resolve()
    top = _git(root, "rev-parse", "--show-toplevel")
    head = _git(root, "rev-parse", "--short", "HEAD")
    if top.returncode != 0 or head.returncode != 0 or Path(top.stdout.decode().strip()).resolve() != root:
        yield root, f"judged the working tree at {root} (not a git checkout)"
        return
    archive = _git(root, "archive", "--format=tar", "HEAD")
    if archive.returncode != 0:
        raise RuntimeError(f"git archive failed: {archive.stderr.decode().strip()}")
    sha = head.stdout.decode().strip()
    edited = _git(root, "status", "--porcelain", "--", "exercises").stdout.decode().strip()
    words = f"judged the committed exercises at HEAD {sha}"
    if edited:
        words += " (uncommitted changes in exercises/ are not part of this verdict)"
    with tempfile.TemporaryDirectory(prefix="workbook-verify-") as scratch:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            untar(tar, scratch)
        yield Path(scratch), words


def untar(tar: tarfile.TarFile, target) -> None:
    """Extract ``tar`` into ``target``, with the safe "data" filter where Python has it."""
    try:
        tar.extractall(target, filter="data")
    except TypeError:  # Python before 3.11.4: no extraction filters
        tar.extractall(target)
