"""`python -m workbook watch [NN]`: re-check your practice/ folder on every save.

The mode students live in (rustlings' default): save a file, see the verdicts; press a
key for a hint, the list, or the next exercise. One time-skipping test server is started
the first time an exercise needs it and kept warm for the whole session, so a re-check
costs only the checks themselves (under a second), not a server start.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from watchfiles import PythonFilter, awatch

from workbook import cli
from workbook.checks import load_suite, run_suite
from workbook.explain import explain_exception
from workbook.loader import EXERCISES_DIR, exercise_dir, exercises
from workbook.server import MissingBinary, start_test_server

console = cli.console
KEYS = "Keys: [bold]h[/] hint · [bold]l[/] list · [bold]n[/] next exercise · [bold]c[/] check again · [bold]q[/] quit"
# Editors save in several events (truncate + write, or write a temp file + rename): wait
# until the folder has been quiet this long, then check once.
QUIET_MS = 50
# A save (or c, n, q) while a check runs makes it pointless. Nearly every check ends
# within a second: let it, then act. Stopping a check halfway leaves the time-skipping
# server with work in flight that holds its clock still (every later check would crawl),
# so only a check still busy this long after it started (a workflow waiting forever) is
# stopped, and the server is replaced.
INTERRUPTING = {"save", "c", "n", "q"}
PATIENCE = 3.0


def first_not_done() -> Path:
    """The first exercise `check` has not recorded as done (the last one if all are)."""
    progress = cli.load_progress()
    folders = exercises()
    return next((f for f in folders if progress.get(f.name[:2], {}).get("state") != "done"), folders[-1])


def forget_bytecode(folder: Path) -> None:
    """Python trusts a cached .pyc whose recorded source mtime (whole seconds) and size
    match; two same-sized saves within one second would re-run the old code. The cache
    of a folder being edited is worthless anyway: drop it before every check."""
    for pyc in (folder / "__pycache__").glob("*.pyc"):
        pyc.unlink(missing_ok=True)


def stamp(folder: Path) -> list[tuple[str, int, int]]:
    return sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.glob("*.py"))


@contextmanager
def reading_keys(deliver: Callable[[str], None]):
    """Call ``deliver(key)`` for every key pressed, from a background thread.

    On a terminal: single keys, without Enter (cbreak mode; Ctrl+C still interrupts),
    and the terminal is put back however we leave. Otherwise (a pipe in tests, CI): the
    first letter of each line, so a test can write "q\\n".
    """
    stdin = sys.stdin
    if stdin is None or stdin.closed:
        yield
        return
    fd, saved = stdin.fileno(), None
    if stdin.isatty():
        import termios
        import tty

        saved = termios.tcgetattr(fd)
        tty.setcbreak(fd)

    def read() -> None:
        if saved is not None:
            while key := os.read(fd, 1):
                deliver(key.decode(errors="ignore"))
        else:
            for line in stdin:
                deliver(line.strip()[:1])

    threading.Thread(target=read, daemon=True, name="workbook-keys").start()
    try:
        yield
    finally:
        if saved is not None:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class Session:
    def __init__(self, exercise: Path):
        self.exercise = exercise
        self.server: asyncio.Future | None = None  # the time-skipping server, once needed
        self.retired: list[asyncio.Future] = []  # servers being shut down
        self.events: asyncio.Queue[str] = asyncio.Queue()
        self.running: asyncio.Task | None = None
        self.started = 0.0  # when the running check started (loop time)
        self.check_due = False  # a re-check is queued
        self.quitting = asyncio.Event()  # q: leave even while a check is stuck
        self.loop = asyncio.get_running_loop()

    @property
    def practice(self) -> Path:
        return self.exercise / "practice"

    def post(self, event: str) -> None:
        """A save or a key; some stop a check in progress that is taking too long."""
        if event == "save":
            event = "c"  # a save means: check again
        if event == "q":
            self.quitting.set()
        if event != "c" or not self.check_due:  # one pending re-check covers many saves
            self.check_due |= event == "c"
            self.events.put_nowait(event)
        task = self.running
        if task is not None and event in INTERRUPTING:
            when = max(self.loop.time(), self.started + PATIENCE)
            self.loop.call_at(when, self.stop_stuck, task)

    def stop_stuck(self, task: asyncio.Task) -> None:
        if task.done() or task.cancelling():
            return
        task.cancel()
        # A blocking call in an activity (time.sleep, a lock) holds the worker until it
        # returns: say why nothing happens meanwhile.
        console.print(
            f"[yellow]The check is still busy after {PATIENCE:.0f} s: stopping it. If your code "
            "blocks (time.sleep in an activity?), this waits until it returns. q quits.[/]"
        )

    async def watch_saves(self) -> None:
        """Watch every exercise once, but only the current practice/ counts: `n` then
        needs no new watcher. PythonFilter ignores __pycache__ and editor temp files."""
        python_files = PythonFilter()

        def ours(change, path: str) -> bool:
            return python_files(change, path) and Path(path).parent == self.practice

        async for _ in awatch(EXERCISES_DIR, watch_filter=ours, step=QUIET_MS, debounce=1000):
            self.post("save")

    async def check(self) -> None:
        """Check practice/ in a task of its own, so a save or a key can stop it."""
        self.check_due = False
        self.running = task = asyncio.create_task(self._check())
        self.started = self.loop.time()
        quit_pressed = asyncio.ensure_future(self.quitting.wait())
        await asyncio.wait({task, quit_pressed}, return_when=asyncio.FIRST_COMPLETED)
        quit_pressed.cancel()
        if not task.done():
            return  # q: run() stops it on the way out
        self.running = None
        if not task.cancelled() and task.exception():
            raise task.exception()  # a missing server binary: end the session, say why

    async def server_for(self, suite):
        """The warm server (None if the suite needs none). It starts in a task of its
        own (shielded), so a check stopped meanwhile cannot leave it half-started."""
        if not suite.uses_temporal:
            return None
        if self.server is None:
            self.server = asyncio.ensure_future(start_test_server())
        return await asyncio.shield(self.server)

    async def _check(self) -> None:
        console.clear()  # only on a terminal: in a pipe, runs simply follow each other
        console.print(f"[bold]{self.exercise.name}[/] (practice/) — checking…\n")
        forget_bytecode(self.practice)
        before_run = stamp(self.practice)
        try:
            suite = load_suite(self.exercise.name[:2])
            server = await self.server_for(suite)
            # run_suite re-imports the folder's modules on every run (workbook.loader),
            # and turns a syntax error mid-edit into a failed "loads" check.
            before = asyncio.all_tasks()
            try:
                results = await run_suite(suite, self.practice, server)
            except asyncio.CancelledError:
                # Leave nothing of the stopped check behind: what it started, its server.
                for leftover in asyncio.all_tasks() - before - {self.server, asyncio.current_task()}:
                    leftover.cancel()
                self.retire_server()
                raise
        except MissingBinary:
            raise
        except Exception as err:  # never let a broken edit end the session
            console.print(f"[red]The checks could not run:[/] {explain_exception(err)}\n{KEYS}")
            return
        if self.check_due or stamp(self.practice) != before_run:
            # The sandbox re-reads workflow.py for every workflow it runs: a save during
            # the run mixed old and new code. Its verdict would be wrong; the next is due.
            console.print("practice/ changed while checking: checking again…")
            self.post("c")
            return
        cli.report_checks(self.exercise, "practice", results, watching=True)
        console.print(f"\n{KEYS}")

    def retire_server(self) -> None:
        if self.server is not None:
            self.retired.append(asyncio.ensure_future(shut_down(self.server)))
            self.server = None

    async def stop_servers(self) -> None:
        self.retire_server()
        await asyncio.gather(*self.retired)

    async def handle(self, event: str) -> bool:
        """Act on one save or key; False to quit."""
        if event == "q":
            return False
        if event == "c":
            await self.check()
        elif event == "n":
            following = [f for f in exercises() if f.name > self.exercise.name]
            if not following:
                console.print("This is the last exercise: there is no next one.")
                return True
            self.exercise = following[0]
            await self.check()
        elif event == "h":
            console.print()
            cli.show_hint(self.exercise, "Press [bold]h[/] again for the next one.")
            console.print(f"\n{KEYS}")
        elif event == "l":
            cli.cmd_list(None)
            console.print(f"\n{KEYS}")
        elif event.isalpha():
            console.print(KEYS)
        return True

    async def run(self) -> int:
        watcher = asyncio.create_task(self.watch_saves())
        with reading_keys(lambda key: self.loop.call_soon_threadsafe(self.post, key.lower())):
            try:
                await self.check()
                while not self.quitting.is_set() and await self.handle(await self.events.get()):
                    pass
            finally:  # also on Ctrl+C: stop the check in progress before its server
                watcher.cancel()
                if self.running is not None:  # but never wait long for code that blocks
                    self.running.cancel()
                    await asyncio.wait({self.running}, timeout=2)
                await self.stop_servers()
        console.print("Stopped watching.")
        return 0


async def shut_down(server: asyncio.Future) -> None:
    try:
        env = await server  # even one still starting: never leave a server running
        await env.shutdown()
    except (Exception, asyncio.CancelledError):
        pass  # it failed to start, or is gone already


def watch(number: str | None) -> int:
    # We only ever import the student's files to run them once: cache nothing of them.
    sys.dont_write_bytecode = True
    exercise = exercise_dir(number) if number else first_not_done()

    async def main() -> int:
        return await Session(exercise).run()

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:  # Ctrl+C is how many people leave a watcher: no traceback
        console.print("\nStopped watching.")
        return 0
