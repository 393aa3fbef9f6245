"""Find exercises and import one exercise folder's modules in isolation.

Every exercise folder uses the same module names (shared, activities, workflow, worker,
starter). Temporal's workflow sandbox re-imports the workflow module *by name* from
``sys.path`` each time a workflow runs, so the folder must stay first on ``sys.path``
for as long as its worker runs, and no other folder's same-named modules may linger in
``sys.modules``. ``loaded()`` does both, and puts everything back afterwards.
"""

from __future__ import annotations

import importlib
import sys
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

from workbook.world import REPO_ROOT

EXERCISES_DIR = REPO_ROOT / "exercises"
TARGETS = ("practice", "solution")
# Imported in this order, when present: each may import the ones before it.
MODULE_ORDER = ("shared", "activities", "workflow", "worker", "starter")


class UnknownExercise(LookupError):
    pass


def exercises() -> list[Path]:
    """Every exercise folder, in journey order."""
    return sorted(p for p in EXERCISES_DIR.glob("[0-9][0-9]-*") if p.is_dir())


def exercise_dir(which: str | int) -> Path:
    """Find an exercise by number ("3", "03", 3) or by folder name."""
    text = str(which).strip().rstrip("/").split("/")[-1]
    for folder in exercises():
        if text in (folder.name, folder.name[:2]) or (text.isdigit() and int(text) == int(folder.name[:2])):
            return folder
    names = ", ".join(f.name for f in exercises())
    raise UnknownExercise(f"there is no exercise {which!r}; the exercises are: {names}")


@contextmanager
def loaded(folder: Path, modules: tuple[str, ...] = MODULE_ORDER) -> Iterator[SimpleNamespace]:
    """Import ``folder``'s modules as top-level modules, shielded from other folders.

    Yields a namespace with one attribute per imported module (plus ``folder``).
    """
    folder = Path(folder).resolve()
    local_names = {p.stem for p in folder.glob("*.py")}
    saved = {name: sys.modules.pop(name) for name in local_names if name in sys.modules}
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    namespace = SimpleNamespace(folder=folder)
    try:
        for name in modules:
            if name in local_names:
                setattr(namespace, name, importlib.import_module(name))
        yield namespace
    finally:
        sys.path.remove(str(folder))
        for name in local_names:
            sys.modules.pop(name, None)
        sys.modules.update(saved)


def suite_needs(exercise: str | int) -> str | None:
    """The server exercise ``exercise``'s checks run on ("test", "dev"), or None for
    checks without Temporal, read from its Suite(...) line without importing the checks
    (so the server can start while they load). tests/test_harness.py holds it to
    load_suite()."""
    import ast

    number = exercise_dir(exercise).name[:2]
    tree = ast.parse((REPO_ROOT / "workbook" / "checks" / f"ex{number}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Suite":
            options = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
            return options.get("server", "test") if options.get("uses_temporal", True) else None
    raise LookupError(f"workbook/checks/ex{number}.py declares no Suite(...)")
