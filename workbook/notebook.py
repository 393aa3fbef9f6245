"""Small helpers for the notebooks: one exercise at a time, a scratch world, a dev server.

    from workbook.notebook import scratch_world, start_dev_server, use_exercise

    ex = use_exercise("03")          # ex.shared, ex.activities, ex.workflow, ex.worker ...
    scratch_world()                  # a fresh travel world in a temporary folder
    env = await start_dev_server()   # an embedded Temporal dev server on a free port
    show(audit())                    # rich output as plain text, the same on every run
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import SimpleNamespace

from workbook import world
from workbook.loader import exercise_dir, loaded
from workbook.server import start_local_dev_server

_in_use = ExitStack()  # the exercise folder use_exercise() loaded last


def use_exercise(which: str | int, target: str = "solution") -> SimpleNamespace:
    """Import one exercise folder's modules (shared, activities, workflow, worker, starter).

    The folder stays first on ``sys.path`` until the next call, because Temporal's
    workflow sandbox re-imports the workflow module by name every time a workflow runs.
    The previous call's folder and modules are put away first, so two exercises' same-named
    modules never mix. Returns a namespace with one attribute per module, plus ``folder``.
    """
    _in_use.close()
    return _in_use.enter_context(loaded(exercise_dir(which) / target))


def scratch_world() -> Path:
    """Point the travel world ($WORKBOOK_DB) at a fresh file in a temporary folder, so a
    notebook never touches your own world. Subprocesses started afterwards inherit it.
    Returns the file's path; the folder is removed when the kernel exits."""
    folder = tempfile.mkdtemp(prefix="workbook-notebook-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ[world.DB_ENV_VAR] = str(Path(folder) / "world.db")
    return world.reset()


async def start_dev_server():
    """An embedded Temporal dev server on a free random port (never 7233, so it cannot
    collide with a server you started yourself). Its client is ``env.client``; stop it
    with ``await env.shutdown()``."""
    with _stdout_to_devnull():
        return await start_local_dev_server()


@contextmanager
def _stdout_to_devnull():
    """The dev server prints a banner (with its random port) to the stdout it inherits;
    in a notebook it would land in whichever cell runs next. It inherits /dev/null
    instead; its errors still reach stderr."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def plain_console():
    """A rich Console that prints plain text: no colours, no escape codes, no notebook
    HTML, the same width everywhere, so a notebook's output is the same on every run."""
    from rich.console import Console

    return Console(
        file=sys.stdout, width=100, color_system=None, force_terminal=False,
        force_jupyter=False, highlight=False,
    )  # fmt: skip


def show(*renderables) -> None:
    """Print rich renderables (the audit, a timeline) as plain text."""
    console = plain_console()
    for renderable in renderables:
        console.print(renderable)
