"""Consoles for what the workbook prints.

In a terminal, Rich wraps text at the terminal's width. Piped (into a file, `tee`, a CI
log) it would wrap at 80 columns, and split a Web UI link over two lines: there, a line
is as long as it is. COLUMNS, when set, still decides.
"""

from __future__ import annotations

import os

from rich.console import Console


def console(**options) -> Console:
    """A Rich Console (same options) that does not wrap lines when its output is piped."""
    made = Console(**options)
    if not made.is_terminal and not os.environ.get("COLUMNS"):
        made.soft_wrap = True
    return made
