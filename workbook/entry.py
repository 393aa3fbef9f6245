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
