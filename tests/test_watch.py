"""`workbook watch` as a student uses it: a real process in a throwaway clone, files saved
into its practice/ folder, keys written to its stdin. Every wait is bounded, so a broken
watcher fails the test instead of hanging it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest


WAIT = 60.0  # seconds: far more than a check takes, far less than forever
# The verdict lines, whatever the number of checks the suite has.
FAILS = "checks pass. Keep going!"  # "k of N checks pass. Keep going! ..."
PASSES = "checks pass. Exercise 03 is done"  # "All N checks pass. Exercise 03 is done."


class Watcher:
    """`python -m workbook watch ...` running; its output collected as it comes."""

    def __init__(self, args: list[str], cwd: Path, env: dict, tty: bool = False):
        self.output, self.lock = "", threading.Lock()
        if tty:  # a pseudo-terminal, as a student's shell gives it
            self.master, slave = os.openpty()
            self.terminal = slave
            self.shipped_mode = termios.tcgetattr(slave)
            streams = dict(stdin=slave, stdout=slave, stderr=slave)
        else:
            self.master = None
            streams = dict(stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "workbook", "watch", *args], cwd=cwd, env=env,
            # ^C must reach it even when the tests run as a background job (SIGINT ignored)
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **streams,
        )  # fmt: skip
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 4096) if self.master else self.process.stdout.read1(4096)
            except OSError:  # the terminal closed
                break
            if not chunk:
                break
            with self.lock:
                self.output += chunk.decode(errors="replace")

    def seen(self) -> int:
        with self.lock:
            return len(self.output)

    def wait_for(self, text: str, after: int = 0) -> int:
        """Wait until ``text`` appears in the output past position ``after``; return the
        position just past it."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            with self.lock:
                found = self.output.find(text, after)
            if found >= 0:
                return found + len(text)
            if self.process.poll() is not None and found < 0:
                time.sleep(0.2)  # let the reader catch the last words
                with self.lock:
                    if self.output.find(text, after) >= 0:
                        return self.output.find(text, after) + len(text)
                pytest.fail(f"watch exited ({self.process.returncode}) before {text!r}:\n{self.output}")
            time.sleep(0.05)
        pytest.fail(f"no {text!r} within {WAIT:.0f} s. Output so far:\n{self.output}")

    def press(self, keys: str) -> None:
        if self.master:
            os.write(self.master, keys.encode())
        else:
            self.process.stdin.write(keys.encode())
            self.process.stdin.flush()

    def exit_code(self) -> int:
        try:
            return self.process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"watch did not exit within {WAIT:.0f} s:\n{self.output}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def progress(tmp_path) -> Path:
    return tmp_path / "progress.json"


@pytest.fixture
def watch(clone, progress, tmp_path):
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200", WORKBOOK_PROGRESS=str(progress),
               WORKBOOK_DB=str(tmp_path / "world.db"))  # fmt: skip
    started = []

    def start(*args: str, tty: bool = False) -> Watcher:
        started.append(Watcher(list(args), clone, env if tty else dict(env, TTY_COMPATIBLE="0"), tty))
        return started[-1]

    yield start
    for watcher in started:
        watcher.stop()


def exercise(clone: Path, name: str = "03-compensations") -> Path:
    return clone / "exercises" / name


@pytest.mark.timeout(180)
def test_saving_a_solved_file_turns_the_verdict_green(watch, clone, progress):
    watcher = watch("03")
    at = watcher.wait_for(FAILS)
    assert "press h for a hint" in watcher.output

    folder = exercise(clone)
    shutil.copy(folder / "solution" / "workflow.py", folder / "practice" / "workflow.py")
    at = watcher.wait_for(PASSES, at)
    assert json.loads(progress.read_text())["03"]["state"] == "done"

    watcher.press("q\n")
    assert watcher.exit_code() == 0, watcher.output
    assert "Traceback" not in watcher.output


@pytest.mark.timeout(180)
def test_a_syntax_error_mid_edit_is_explained_and_watching_goes_on(watch, clone):
    watcher = watch("03")
    at = watcher.wait_for(FAILS)
    workflow = exercise(clone) / "practice" / "workflow.py"
    shipped = workflow.read_text()
    workflow.write_text(shipped.replace("class BookTripWorkflow", "class BookTripWorkflow(", 1))
    at = watcher.wait_for("workflow.py, line", at)  # the explanation names file and line
    workflow.write_text(shipped)
    at = watcher.wait_for(FAILS, at)
    watcher.press("q\n")
    assert watcher.exit_code() == 0, watcher.output
    assert "Traceback" not in watcher.output


@pytest.mark.timeout(180)
def test_keys_show_a_hint_the_list_and_check_again(watch):
    watcher = watch("03")
    at = watcher.wait_for(FAILS)
    watcher.press("h\n")
    at = watcher.wait_for("Hint 1 of", at)
    watcher.press("h\n")
    at = watcher.wait_for("Hint 2 of", at)
    watcher.press("l\n")
    at = watcher.wait_for("The Saga Workbook", at)
    at = watcher.wait_for("Exercise 03: Compensations", at)
    watcher.press("c\n")
    at = watcher.wait_for("checking…", at)
    watcher.wait_for(FAILS, at)
    watcher.press("q\n")
    assert watcher.exit_code() == 0, watcher.output


@pytest.mark.timeout(180)
def test_without_a_number_it_starts_at_the_first_exercise_not_done_and_n_moves_on(watch, progress):
    progress.write_text(json.dumps({"01": {"state": "done"}}))
    watcher = watch()
    at = watcher.wait_for("02-first-workflow (practice/) — checking…")
    at = watcher.wait_for("checks pass", at)
    watcher.press("n\n")
    at = watcher.wait_for("03-compensations (practice/) — checking…", at)  # at once, no save
    watcher.wait_for(FAILS, at)
    watcher.press("q\n")
    assert watcher.exit_code() == 0, watcher.output


@pytest.mark.timeout(180)
def test_ctrl_c_quits_cleanly(watch):
    watcher = watch("03")
    watcher.wait_for(FAILS)
    watcher.process.send_signal(signal.SIGINT)
    assert watcher.exit_code() == 0, watcher.output
    assert "Stopped watching" in watcher.output
    assert "Traceback" not in watcher.output


@pytest.mark.timeout(180)
def test_q_leaves_even_while_a_check_is_stuck_on_blocking_code(watch, clone):
    activities = exercise(clone) / "practice" / "activities.py"
    blocking = "def book_flight(trip: TripRequest) -> str:\n    import time; time.sleep(600)\n"
    activities.write_text(activities.read_text().replace("def book_flight(trip: TripRequest) -> str:\n", blocking))
    watcher = watch("03")
    at = watcher.wait_for("checking…")
    watcher.press("c\n")  # check again: the stuck check is stopped, and it says why nothing happens
    watcher.wait_for("still busy", at)
    watcher.press("q\n")
    assert watcher.exit_code() == 0, watcher.output  # within WAIT, long before the sleep ends


@pytest.mark.timeout(180)
def test_on_a_terminal_a_key_needs_no_enter_and_the_terminal_is_put_back(watch):
    watcher = watch("03", tty=True)
    at = watcher.wait_for("checks pass")
    watcher.press("h")  # no Enter
    watcher.wait_for("Hint 1 of", at)
    assert not termios.tcgetattr(watcher.terminal)[3] & termios.ICANON  # cbreak while watching
    watcher.press("q")
    assert watcher.exit_code() == 0, watcher.output
    assert termios.tcgetattr(watcher.terminal) == watcher.shipped_mode


def test_a_same_sized_save_within_the_same_second_is_not_hidden_by_bytecode(tmp_path):
    """Python's .pyc check compares whole-second mtimes and sizes; watch drops the cache."""
    import py_compile

    from workbook.loader import loaded
    from workbook.watch import forget_bytecode

    source = tmp_path / "shared.py"
    source.write_text("ANSWER = 1\n")
    stamp = source.stat().st_mtime
    py_compile.compile(str(source), cfile=str(tmp_path / "__pycache__" / f"shared.{sys.implementation.cache_tag}.pyc"))
    source.write_text("ANSWER = 2\n")  # same size
    os.utime(source, (stamp, stamp))  # same second
    with loaded(tmp_path) as stale:
        assert stale.shared.ANSWER == 1  # the trap is real
    forget_bytecode(tmp_path)
    with loaded(tmp_path) as fresh:
        assert fresh.shared.ANSWER == 2


def test_on_a_terminal_the_verdict_is_not_headed_checking(watch):
    """The screen is cleared for each check; once the verdict is on it, its header says
    when it was checked, no longer "checking…"."""
    watcher = watch("03", tty=True)
    watcher.wait_for("checks pass")
    watcher.wait_for(" quit")  # the keys line, printed last
    screen = watcher.output.split("\x1b[2J")[-1]  # what is on the screen since the last clear
    assert "checks pass" in screen and "checked at" in screen, screen
    assert "checking…" not in screen, screen
    watcher.press("q")
    assert watcher.exit_code() == 0, watcher.output
