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
import time
from contextlib import contextmanager
from pathlib import Path

from watchfiles import PythonFilter, awatch

from workbook import cli
from workbook.checks import load_suite, run_suite, server_for
from workbook.explain import explain_exception
from workbook.loader import EXERCISES_DIR, exercise_dir, exercises
from workbook.server import MissingBinary

console = cli.console
KEYS = "Keys: [bold]h[/] hint · [bold]l[/] list · [bold]n[/] next exercise · [bold]c[/] check again · [bold]q[/] quit"
# Editors save in several events (truncate + write, or temp file + rename): wait until
# the folder has been quiet this long, then check once.
QUIET_MS = 50
# A save (or c, n, q) during a check makes its verdict moot. Nearly every check ends
# within a second: let it. Stopping one halfway leaves the time-skipping server with work
# in flight that holds its clock still (every later check would crawl), so only a check
# still busy this long after it started is stopped, and its server replaced.
PATIENCE = 3.0


def first_not_done() -> Path:
    """The first exercise `check` has not recorded as done (the last one if all are)."""
    progress, folders = cli.load_progress(), exercises()
    return next((f for f in folders if progress.get(f.name[:2], {}).get("state") != "done"), folders[-1])


def forget_bytecode(folder: Path) -> None:
    """Python trusts a cached .pyc whose recorded source mtime (whole seconds) and size
    match: two same-sized saves within a second would re-run the old code."""
    for pyc in (folder / "__pycache__").glob("*.pyc"):
        pyc.unlink(missing_ok=True)


def stamp(folder: Path) -> list | None:
    try:
        return sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.glob("*.py"))
    except OSError:  # a file replaced while we looked: it changed
        return None


@contextmanager
def reading_keys(deliver):
    """Call ``deliver(key)`` for each key, from a thread. On a terminal: single keys,
    no Enter (cbreak; Ctrl+C still interrupts), the terminal put back however we leave.
    Otherwise (a pipe: tests, CI): the first letter of each line, e.g. "q\\n"."""
    stdin, saved = sys.stdin, None
    if stdin is not None and not stdin.closed and stdin.isatty():
        try:
            import termios
            import tty
        except ImportError:  # Windows: whole lines, as in a pipe
            pass
        else:
            saved = termios.tcgetattr(stdin.fileno())
            tty.setcbreak(stdin.fileno())

    def read() -> None:
        if saved is not None:
            while key := os.read(stdin.fileno(), 1):
                deliver(key.decode(errors="ignore"))
        elif stdin is not None and not stdin.closed:
            for line in stdin:
                deliver(line.strip()[:1])

    threading.Thread(target=read, daemon=True, name="workbook-keys").start()
    try:
        yield
    finally:
        if saved is not None:
            termios.tcsetattr(stdin.fileno(), termios.TCSADRAIN, saved)


class Session:
    def __init__(self, exercise: Path):
        self.exercise = exercise
        self.server: asyncio.Future | None = None  # the warm time-skipping server
        self.server_kind = "test"  # which: Suite.server
        self.retired: list[asyncio.Future] = []  # servers being shut down
        self.events: asyncio.Queue[str] = asyncio.Queue()
        self.running: asyncio.Task | None = None  # the check in progress
        self.started = 0.0  # ... since this loop time
        self.check_due = False  # a re-check is queued: many saves need one
        self.quitting = asyncio.Event()  # q leaves even while a check is stuck
        self.loop = asyncio.get_running_loop()

    @property
    def practice(self) -> Path:
        return self.exercise / "practice"

    def post(self, event: str) -> None:
        """A save ("c": check again) or a key."""
        if event == "q":
            self.quitting.set()
        if event != "c" or not self.check_due:
            self.check_due |= event == "c"
            self.events.put_nowait(event)
        task = self.running
        if task is not None and event in ("c", "n", "q"):
            self.loop.call_at(max(self.loop.time(), self.started + PATIENCE), self.stop_stuck, task)

    def stop_stuck(self, task: asyncio.Task) -> None:
        if not task.done() and not task.cancelling():
            task.cancel()  # code that blocks (time.sleep in an activity) holds it until it returns
            console.print(f"[yellow]The check is still busy after {PATIENCE:.0f} s: stopping it. If your "
                          "code blocks (time.sleep in an activity?), this waits until it returns. q quits.[/]")  # fmt: skip

    async def watch_saves(self) -> None:
        """One watcher for all exercises, of which only the current practice/ counts (so
        `n` needs no new one). PythonFilter ignores __pycache__ and editor temp files."""
        python_files = PythonFilter()

        def ours(change, path: str) -> bool:  # resolved: some systems report real paths
            return python_files(change, path) and Path(path).parent.resolve() == self.practice.resolve()

        async for _ in awatch(EXERCISES_DIR, watch_filter=ours, step=QUIET_MS, debounce=1000):
            self.post("c")

    async def check(self) -> None:
        """Check practice/ in a task of its own, which q does not wait for."""
        self.check_due = False
        self.running = task = asyncio.create_task(self._check())
        self.started = self.loop.time()
        quit_pressed = asyncio.ensure_future(self.quitting.wait())
        await asyncio.wait({task, quit_pressed}, return_when=asyncio.FIRST_COMPLETED)
        quit_pressed.cancel()
        if task.done():
            self.running = None
            if not task.cancelled() and task.exception():
                raise task.exception()  # a missing server binary: end, saying why

    async def _check(self) -> None:
        console.clear()  # only on a terminal: in a pipe, runs simply follow each other
        console.print(f"[bold]{self.exercise.name}[/] (practice/) — checking…\n")
        forget_bytecode(self.practice)
        before_run = stamp(self.practice)
        try:
            suite = load_suite(self.exercise.name[:2])
            if suite.uses_temporal and self.server is not None and self.server_kind != suite.server:
                self.retire_server()  # the next exercise needs the other kind of server
            if suite.uses_temporal and self.server is None:  # shielded: never half-started
                self.server_kind = suite.server
                self.server = asyncio.ensure_future(server_for(suite))
            server = await asyncio.shield(self.server) if suite.uses_temporal else None
            tasks_before = asyncio.all_tasks()
            try:  # run_suite re-imports the folder (workbook.loader) and explains a syntax error
                results = await run_suite(suite, self.practice, server)
            except asyncio.CancelledError:  # leave nothing of a stopped check behind
                for leftover in asyncio.all_tasks() - tasks_before - {asyncio.current_task()}:
                    leftover.cancel()
                self.retire_server()
                raise
        except MissingBinary:
            raise
        except Exception as err:  # never let a broken edit end the session
            console.print(f"[red]The checks could not run:[/] {explain_exception(err)}\n\n{KEYS}")
            return
        if self.check_due or stamp(self.practice) != before_run:
            # The sandbox re-reads workflow.py for every workflow it runs: a save during
            # the run mixed old and new code, so its verdict could be wrong.
            console.print("practice/ changed while checking: checking again…")
            return self.post("c")
        if console.is_terminal:  # the screen's header said "checking…": now it is checked
            console.clear()
            console.print(f"[bold]{self.exercise.name}[/] (practice/) — checked at {time.strftime('%H:%M:%S')}\n")
        cli.report_checks(self.exercise, "practice", results, watching=True)
        console.print(f"\n{KEYS}")

    def retire_server(self) -> None:
        if self.server is not None:
            self.retired.append(asyncio.ensure_future(shut_down(self.server)))
            self.server = None

    async def handle(self, event: str) -> None:
        if event == "c":
            await self.check()
        elif event == "n":
            following = [f for f in exercises() if f.name > self.exercise.name]
            if not following:
                return console.print("This is the last exercise: there is no next one.")
            self.exercise = following[0]
            await self.check()
        elif event in ("h", "l"):
            console.print()
            if event == "h":
                cli.show_hint(self.exercise, "Press [bold]h[/] again for the next one.")
            else:
                cli.cmd_list(None)
            console.print(f"\n{KEYS}")
        elif event.isalpha() and event != "q":
            console.print(KEYS)

    async def run(self) -> int:
        watcher = asyncio.create_task(self.watch_saves())
        with reading_keys(lambda key: self.loop.call_soon_threadsafe(self.post, key.lower())):
            try:
                await self.check()
                while not self.quitting.is_set():
                    await self.handle(await self.events.get())
            finally:  # also on Ctrl+C: stop the check in progress (without waiting long
                watcher.cancel()  # for code that blocks), then every server
                if self.running is not None:
                    self.running.cancel()
                    await asyncio.wait({self.running}, timeout=2)
                self.retire_server()
                await asyncio.gather(*self.retired)
        console.print("Stopped watching.")
        return 0


async def shut_down(server: asyncio.Future) -> None:
    try:
        await (await server).shutdown()  # even one still starting: never leave one running
    except (Exception, asyncio.CancelledError):
        pass  # it failed to start, or is gone already


def watch(number: str | None) -> int:
    sys.dont_write_bytecode = True  # the student's files change under us: cache nothing
    exercise = exercise_dir(number) if number else first_not_done()

    async def main() -> int:
        return await Session(exercise).run()

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:  # how many people leave a watcher: no traceback
        console.print("\nStopped watching.")
        return 0
