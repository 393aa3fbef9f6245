"""One way for every entry script (starter, worker, the CLI) to run and to end.

The Temporal SDK's native core can crash while the interpreter shuts down (exit 134 or
139, about one run in thirty here). A script whose work is done should not report a
crash, so we flush our output and leave with ``os._exit`` before that teardown runs.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
from typing import Awaitable, Callable, NoReturn, Union

from workbook import terminal

Main = Callable[[], Union[Awaitable[Union[int, None]], int, None]]

# The errors a student's edit causes while a script imports its exercise's files (a
# syntax error in shared.py, a misspelt import, a TODO that raises at import): said in one
# line, as `check` and `run` say them, instead of Python's traceback. Every entry script
# imports this module first, so the hook is in place before those files are read.
CODE_ERRORS = (SyntaxError, ImportError, NameError, NotImplementedError)


def _in_the_scripts_folder(err: BaseException, tb) -> bool:
    """Did ``err`` come from a file beside the script being run (the exercise folder)? Not
    when the script is the workbook's own (python -m workbook): its bugs keep a traceback."""
    import traceback
    from pathlib import Path

    if not sys.argv or not sys.argv[0]:
        return False
    folder = Path(sys.argv[0]).resolve().parent
    if folder == Path(__file__).resolve().parent:
        return False
    if isinstance(err, SyntaxError) and err.filename:
        return Path(err.filename).resolve().parent == folder
    frames = traceback.extract_tb(tb)
    return bool(frames) and Path(frames[-1].filename).resolve().parent == folder


def _one_line_for_code_errors(kind, err, tb) -> None:
    if not (issubclass(kind, CODE_ERRORS) and _in_the_scripts_folder(err, tb)):
        return sys.__excepthook__(kind, err, tb)
    from pathlib import Path

    from workbook.explain import explain_exception

    terminal.console(stderr=True, highlight=False).print(
        f"[bold red]Cannot run {Path(sys.argv[0]).name}:[/] {explain_exception(err, Path(sys.argv[0]).resolve().parent)}"
    )


if sys.excepthook is sys.__excepthook__:  # leave a debugger's or IPython's hook alone
    sys.excepthook = _one_line_for_code_errors


def exit_now(code: int) -> NoReturn:
    """Flush what we printed, then leave without running interpreter teardown."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def run_and_exit(main: Main) -> NoReturn:
    """Run ``main`` (sync or async); turn the usual setup problems into short advice."""
    from workbook import logs
    from workbook.server import MissingBinary, ServerUnreachable
    from workbook.trips import TripError
    from workbook.world import WorldError

    logs.install()  # a sold-out car is one line in the worker's terminal, not a traceback
    console = terminal.console(stderr=True, highlight=False)
    try:
        from workbook.trips import validate_shared

        validate_shared(sys.modules.get("shared"))  # the settings a student edits, before any use
        result = main()
        if inspect.isawaitable(result):
            result = asyncio.run(result)
        code = result if isinstance(result, int) else 0
    except (ServerUnreachable, MissingBinary, TripError, WorldError) as err:
        console.print(f"[bold red]Cannot run:[/] {err}")
        code = 2
    except KeyboardInterrupt:
        console.print("Stopped.")
        code = 130
    except SystemExit as exit_request:
        code = exit_request.code if isinstance(exit_request.code, int) else 1
    except Exception:  # a real bug: show it, but still leave the clean way
        console.print_exception()
        code = 1
    exit_now(code)
