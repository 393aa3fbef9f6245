"""README samples that cannot drift: every output block in an exercise README is what the
command before it really prints.

In a README, an invisible annotation right above a fenced block names the sample it shows:

    <!-- sample: 03-compensated -->
    ```
    Started workflow trip-03. Watch it at http://localhost:8233/namespaces/default/workflows/trip-03
    ...
    ```

RECIPES below say how each sample is made, the way a student makes it: in a temporary copy
of the repository, starting from the exercise's shipped ``practice/``, finish some files
(copied from ``solution/``), edit a file (flip the failure switch, or make the mistake whose
message the README quotes), start ``python worker.py`` in the background, run
``python starter.py`` or ``python -m workbook ...`` as real processes, and keep all of what a
command printed or an excerpt taken by a rule (``keep=``). A run may also promise a phrase
the README quotes inline (``says=``) and an exit status (``exit=``).

    python -m workbook.samples            # compare every README block with a fresh run
    python -m workbook.samples --refresh  # rewrite the blocks with what the commands print now

Both start one dev server on a free port (never 7233) and give each recipe its own
namespace, so recipes run side by side. Blocks are compared after sanitizing what differs
from one run to the next (ids, times, ports, temporary paths; the rules of
``notebooks/sanitize.cfg``, as for the notebooks under nbval). What is stored is what a
student sees on the local dev server at localhost:7233, namespace ``default``: the starter
prints a Web UI link there, so the link is added to the line that names the workflow.
"""

from __future__ import annotations

import asyncio
import configparser
import difflib
import functools
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Iterable

from workbook.loader import exercise_dir
from workbook.world import REPO_ROOT

Keep = Callable[[list[str]], list[str]]

# --- excerpt rules: which lines of an output a block shows ---------------------------


def whole(lines: list[str]) -> list[str]:
    return lines


def first_line(lines: list[str]) -> list[str]:
    return lines[:1]


def without_first_line(lines: list[str]) -> list[str]:
    return lines[1:]


def last_paragraph(lines: list[str]) -> list[str]:
    """The lines after the last blank line: a command's verdict."""
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    blanks = [i for i, line in enumerate(lines) if not line.strip()]
    return lines[blanks[-1] + 1 :] if blanks else lines


def failing_check(lines: list[str]) -> list[str]:
    """The check lines from the first that passes or fails to the verdict's blank line."""
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith(("✓", "✗"))), len(lines))
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def first_line_of_last_paragraph(lines: list[str]) -> list[str]:
    """A verdict without the line that names the next exercise (the last has none)."""
    return last_paragraph(lines)[:1]


def first_failure(lines: list[str]) -> list[str]:
    """The first failing check of a `workbook check`: its ✗ line and what it says."""
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("✗")), None)
    if start is None:
        return []
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()
                or lines[i].lstrip().startswith(("✓", "✗"))), len(lines))  # fmt: skip
    return lines[start:end]


def first_error(lines: list[str]) -> list[str]:
    """The line that names the exception, as a traceback ends: ``ValueError: ...``."""
    return [line for line in lines if re.match(r"^[\w.]+(Error|Exception): ", line)][:1]


# --- recipes ----------------------------------------------------------------------


@dataclass(frozen=True)
class Solve:
    """The student has finished these files: copy them from solution/ (all when empty)."""

    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class Edit:
    """Change ``old`` to ``new`` in one file of the practice copy: the failure switch in
    shared.py, as the README says, or a classic mistake whose message the README quotes."""

    file: str
    old: str
    new: str

    @property
    def back(self) -> Edit:
        return Edit(self.file, self.new, self.old)


@dataclass(frozen=True)
class Worker:
    """(Re)start ``python worker.py`` in the background and wait until it says it polls.
    ``sample`` is taken from what this worker prints until it is stopped."""

    sample: str | None = None
    keep: Keep = first_line


@dataclass(frozen=True)
class Run:
    """Run a command as the student types it, from the practice folder, to its end.

    ``waits``: the command waits for something that does not come (a worker that cannot
    run the workflow). Keep what it prints until it has said why (a line later than
    ``report.WORKER_HINT_AFTER`` after its first one, then quiet), then stop it.
    """

    command: str
    sample: str | None = None
    keep: Keep = whole
    waits: bool = False
    exit: int | None = None
    says: tuple[str, ...] = ()
    # Once the command prints this, crash the worker (kill -9) and start a new one, as
    # the README tells the student to (exercise 09), while the command goes on.
    crash: str = ""


Step = Solve | Edit | Worker | Run


@dataclass(frozen=True)
class Recipe:
    name: str
    exercise: str
    steps: tuple[Step, ...]

    @property
    def uses_temporal(self) -> bool:
        return any(isinstance(s, Worker) for s in self.steps)


# The failure switches, as the READMEs tell the student to flip them.
CRASH = Edit("shared.py", "CRASH_AFTER_HOTEL = False", "CRASH_AFTER_HOTEL = True")
SUV = Edit("shared.py", 'CAR_TYPE = "economy"', 'CAR_TYPE = "suv"')
BAD_CARD = Edit("shared.py", 'CARD_NUMBER = "4242424242424242"', 'CARD_NUMBER = "424242424242424"')
# Mistakes whose check messages the READMEs quote: undoing oldest first.
ROLLBACK_IN_ORDER = Edit("starter.py", "for step in reversed(done):", "for step in done:")
UNDO_IN_ORDER = Edit("workflow.py", "for undo in reversed(compensations):", "for undo in compensations:")
EMAIL_DOWN = Edit("shared.py", "EMAIL_SERVICE_DOWN = False", "EMAIL_SERVICE_DOWN = True")
# Exercise 04's switch (2: the hotel loses two replies; 3: every reply, so it gives up), and
# its classic mistakes: a key that changes on every call (as shipped), a key without the trip id.
LOST_REPLIES = Edit("shared.py", "LOST_HOTEL_REPLIES = 0", "LOST_HOTEL_REPLIES = 2")
EVERY_REPLY_LOST = Edit("shared.py", "LOST_HOTEL_REPLIES = 2", "LOST_HOTEL_REPLIES = 3")
KEY_WITHOUT_TRIP = Edit("activities.py", 'return f"{trip.trip_id}:{step}:{uuid.uuid4().hex[:8]}"', "return step")
# Exercise 05's classic mistake: auxiliary steps retried forever.
# Exercise 06's switches: the customer cancels during the car; the bank refuses the refund.
CANCEL_CAR = Edit("shared.py", "CANCEL_DURING_CAR = False", "CANCEL_DURING_CAR = True")
REFUND_REFUSED = Edit("shared.py", "REFUND_REFUSED = False", "REFUND_REFUSED = True")
# Exercise 07's switch, and its classic mistake: gather without return_exceptions.
HOTEL_FAILS = Edit("shared.py", "HOTEL_FAILS_WHILE_CAR_BOOKS = False", "HOTEL_FAILS_WHILE_CAR_BOOKS = True")
GATHER_RAISES = Edit("workflow.py", "book_car)),\n                return_exceptions=True,\n", "book_car)),\n")
# Exercise 08's switch: the customer cancels while the saga is taking the car back.
CANCEL_UNDOING = Edit("shared.py", "CANCEL_WHILE_UNDOING = False", "CANCEL_WHILE_UNDOING = True")
# Exercise 09's switch: the hotel desk is slow, so that the worker can be killed meanwhile.
SLOW_HOTEL = Edit("shared.py", "SLOW_HOTEL_SECONDS = 0", "SLOW_HOTEL_SECONDS = 20")
# Exercise 13's switch: the bank refuses to capture the money it authorised.
CAPTURE_REFUSED = Edit("shared.py", 'FAILURE = ""', 'FAILURE = "capture refused"')
# Exercise 11's switch: two trips interleaved, and an upgrade request for the first.
TWO_TRIPS = Edit("shared.py", "TWO_TRIPS_INTERLEAVED = False", "TWO_TRIPS_INTERLEAVED = True")
AUX_UNBOUNDED = Edit("workflow.py", "seconds=1), maximum_attempts=3),\n)\n\n\n@workflow", "seconds=1)),\n)\n\n\n@workflow")

# Exercise 12's switches, and the breaker left out (the README quotes its message).
CAR_RENTAL_DOWN = Edit("shared.py", "CAR_RENTAL_DOWN = False", "CAR_RENTAL_DOWN = True")
TICKET_DESK_DOWN = Edit("shared.py", "TICKET_DESK_DOWN = False", "TICKET_DESK_DOWN = True")
NO_BREAKER = Edit("activities.py", """        try:
            return car_rental.call(
                world.book_car, trip.trip_id, trip.car_type, trip.rental_days, key=key(trip, "car")
            ).id
        except pybreaker.CircuitBreakerError as err:  # open: the desk was not called at all
            raise ApplicationError(f"book_car: the car rental is skipped ({err})", type="CircuitOpen",
                                   non_retryable=True) from err  # fmt: skip
""", """        return world.book_car(
            trip.trip_id, trip.car_type, trip.rental_days, key=key(trip, "car")
        ).id
""")

RECIPES = (
    Recipe("01", "01", (
        Run("python starter.py", "01-orphans", exit=1),
        Solve(),
        Run("python starter.py", "01-rollback", exit=0),
        Run("python -m workbook check 01", "01-check", keep=last_paragraph, exit=0),
        ROLLBACK_IN_ORDER,
        Run("python -m workbook check 01", exit=1, says=(
            "the undos ran cancel_flight → cancel_hotel; expected cancel_hotel → cancel_flight: "
            "undo the newest step first (for step in reversed(done)).",
        )),
        ROLLBACK_IN_ORDER.back,
        CRASH,
        Run("python starter.py", "01-crash", exit=137),
        Run("python -m workbook audit", "01-crash-audit", exit=1),
    )),
    # 02 Part A, as shipped: the worker knows no workflow, so the starter waits.
    Recipe("02-unregistered", "02", (
        Worker("02-worker-polling"),
        Run("python starter.py", "02-nobody-runs-it", waits=True),
    )),
    # 02 Part A step 5: registered, but no activity call has a timeout.
    Recipe("02-no-timeout", "02", (
        Solve(("worker.py",)),
        Worker("02-worker-traceback", keep=first_error),
        Run("python starter.py", "02-no-timeout", waits=True),
    )),
    # 02 Parts B and C. The README's Part B starter is the one that waited since Part A and
    # printed its first line then: its block is the rest of a run.
    Recipe("02-retries", "02", (
        Solve(("worker.py", "workflow.py")),
        Worker(),
        Run("python starter.py", "02-booked", keep=without_first_line, exit=0),
        SUV,  # the starter reads shared.py; the worker needs no restart
        Run("python starter.py", "02-retried", exit=1),
        Solve(("activities.py",)),
        Worker(),  # activities run in the worker: restart it
        Run("python starter.py", "02-final", exit=1),
    )),
    Recipe("02-check", "02", (
        Solve(("worker.py", "workflow.py")),  # Part C not done yet: the message it gets
        Run("python -m workbook check 02", exit=1, says=(
            "book_car was tried 3 times for a car that is not there: a BookingError will not go "
            "away by retrying; make it non-retryable (Part C)",
        )),
        Solve(),
        Run("python -m workbook check 02", "02-check", keep=last_paragraph, exit=0),
    )),
    Recipe("03-check", "03", (
        Solve(),
        UNDO_IN_ORDER,
        Run("python -m workbook check 03", exit=1, says=(
            "the compensations ran cancel_flight → cancel_hotel → cancel_car → refund_payment; "
            "expected refund_payment → cancel_car → cancel_hotel → cancel_flight",
        )),
        UNDO_IN_ORDER.back,
        Run("python -m workbook check 03", "03-check", keep=last_paragraph, exit=0),
    )),
    Recipe("03", "03", (
        Solve(),
        Worker(),
        Run("python starter.py", exit=0, says=(
            "Trip booked: flight FL-0001, hotel HT-0002, car CR-0003, payment PAY-0001",
            "Audit: zero orphans.",
        )),
        BAD_CARD,  # the starter reads shared.py; the worker needs no restart
        Run("python starter.py", "03-compensated", exit=1),
    )),
    Recipe("04-check", "04", (
        Run("python -m workbook check 04", exit=1, says=("each retry made a new key, so the hotel was booked 3 times",)),
        KEY_WITHOUT_TRIP,
        Run("python -m workbook check 04", exit=1, says=("a key made without the trip id",)),
        Solve(),
        Run("python -m workbook check 04", "04-check", keep=last_paragraph, exit=0),
    )),
    # 04 Parts A and C: the key as shipped books a room per attempt; the fixed one, one room.
    Recipe("04", "04", (
        Worker(),
        LOST_REPLIES,  # the starter reads shared.py; the worker needs no restart
        Run("python starter.py", "04-double-booked", exit=0),
        Solve(("activities.py",)),
        Worker(),  # activities run in the worker: restart it
        Run("python starter.py", "04-booked-once", exit=0, says=("Audit: zero orphans.",)),
        EVERY_REPLY_LOST,
        Run("python starter.py", "04-undone", exit=1),
    )),
    Recipe("05-check", "05", (
        Solve(),
        AUX_UNBOUNDED,
        Run("python -m workbook check 05", exit=1, says=(
            "send_confirmation_email retries forever while the email service is down",
        )),
        AUX_UNBOUNDED.back,
        Run("python -m workbook check 05", "05-check", keep=last_paragraph, exit=0),
    )),
    Recipe("05", "05", (
        Solve(),
        Worker(),
        Run("python starter.py", exit=0, says=(
            "Trip booked: flight FL-0001, hotel HT-0002, car CR-0003, payment PAY-0001",
            "Audit: zero orphans.",
        )),
        EMAIL_DOWN,  # the starter reads shared.py; the worker needs no restart
        Run("python starter.py", "05-email-down", exit=0),
    )),
    Recipe("06-check", "06", (
        Run("python -m workbook check 06", exit=1, says=("the first undo that failed stopped the rest",)),
        Solve(),
        Run("python -m workbook check 06", "06-check", keep=last_paragraph, exit=0),
    )),
    Recipe("06", "06", (
        Solve(),
        Worker(),
        Run("python starter.py", exit=0, says=("Trip booked: flight FL-0001, hotel HT-0002, car CR-0003, payment PAY-0001",)),
        CANCEL_CAR,  # the starter reads shared.py; the worker needs no restart
        Run("python starter.py", "06-cancelled", exit=1),
        CANCEL_CAR.back,
        REFUND_REFUSED,
        Run("python starter.py", "06-refund-refused", exit=1),
        Run("python -m workbook audit --json", "06-audit-json", exit=0),
    )),
    Recipe("07-check", "07", (
        Run("python -m workbook check 07", exit=1, says=("the bookings were started one after another",)),
        Solve(),
        GATHER_RAISES,
        Run("python -m workbook check 07", exit=1, says=(
            "book_car was still running when you compensated, and its car stayed held",
        )),
        GATHER_RAISES.back,
        Run("python -m workbook check 07", "07-check", keep=last_paragraph, exit=0),
    )),
    Recipe("07", "07", (
        Solve(),
        Worker(),
        # The three desks answer in any order, so the reservation ids do too: no sample.
        Run("python starter.py", exit=0, says=("Trip booked", "Audit: zero orphans.")),
        HOTEL_FAILS,  # the starter reads shared.py; the worker needs no restart
        Run("python starter.py", "07-hotel-fails", exit=1),
    )),
    Recipe("08-check", "08", (
        Run("python -m workbook check 08", exit=1, says=("a TODO is still waiting for you",)),
        Solve(("saga.py",)),
        Run("python -m workbook check 08", "08-check-helper", keep=last_paragraph, exit=1),
        Solve(),
        Run("python -m workbook check 08", "08-check", keep=last_paragraph, exit=0),
    )),
    Recipe("08", "08", (
        Solve(),
        Worker(),
        Run("python starter.py", exit=0, says=("Trip booked: flight FL-0001, hotel HT-0002, car CR-0003, payment PAY-0001",)),
        CANCEL_UNDOING,  # the starter reads shared.py; the worker needs no restart
        Run("python starter.py", "08-cancelled-while-undoing", exit=1),
    )),
    Recipe("09-check", "09", (
        Run("python -m workbook check 09", "09-check-unpatched", keep=first_failure, exit=1),
        Solve(("workflow.py",)),
        Run("python -m workbook check 09", exit=1, says=("your replay test never replays a history",)),
        Solve(),
        Run("python -m workbook check 09", "09-check", keep=last_paragraph, exit=0),
    )),
    # 09 Part A with the practice as shipped (Part A has no TODO), then Part C's test run.
    Recipe("09", "09", (
        Worker(),
        Run("python starter.py", exit=0, says=(
            "Trip booked: flight FL-0001, hotel HT-0002, car CR-0003, payment PAY-0001",
            "Audit: zero orphans.",
        )),
        SLOW_HOTEL,  # the starter reads shared.py; the worker needs no restart
        Run("python starter.py", "09-crash", exit=0, crash="kill -9"),
        Solve(),
        Run("python -m pytest test_replay.py -n 0 -q", "09-replay-test", exit=0),
    )),
    # 10: the student's own tests, run by pytest as the README says, then judged by the
    # check (mutation testing) as shipped and when written.
    Recipe("10-check", "10", (
        Run("pytest -n 0 -q test_saga.py", "10-pytest-shipped", keep=last_paragraph, exit=0),
        Run("python -m workbook check 10", "10-check-shipped", keep=failing_check, exit=1),
        Solve(("test_saga.py",)),
        Run("pytest -n 0 -q test_saga.py", exit=0, says=("4 passed",)),
        Run("python -m workbook check 10", "10-check", keep=last_paragraph, exit=0),
    )),
    Recipe("11-check", "11", (
        Run("python -m workbook check 11", exit=1, says=("a booking was lost, its flight is on sale again while a trip holds it",)),
        Solve(),
        Run("python -m workbook check 11", "11-check", keep=last_paragraph, exit=0),
    )),
    Recipe("11", "11", (
        Solve(),
        Worker(),
        Run("python starter.py", exit=0, says=("Trip booked", "Audit: zero orphans.")),
        TWO_TRIPS,  # the starter reads shared.py; the worker needs no restart
        Run("python starter.py", "11-two-trips", exit=0),
    )),
    Recipe("12-check", "12", (
        Run("python -m workbook check 12", exit=1, says=("the saga undid a confirmed trip",)),
        Solve(),
        NO_BREAKER,
        Run("python -m workbook check 12", exit=1, says=("the car rental was down, and it was called 30 times for ten trips",)),
        NO_BREAKER.back,
        Run("python -m workbook check 12", "12-check", keep=last_paragraph, exit=0),
    )),
    # 12 Parts D and E: the breaker lives in the worker, so the second run finds it open;
    # a restarted worker (Part E) starts with a closed one.
    Recipe("12", "12", (
        Solve(),
        Worker(),
        Run("python starter.py", exit=0, says=("Trip booked", "car booked by the primary desk")),
        CAR_RENTAL_DOWN,  # the starter reads shared.py; the worker needs no restart
        Run("python starter.py", "12-car-rental-down", exit=0),
        Run("python starter.py", "12-breaker-open", exit=0),
        CAR_RENTAL_DOWN.back,
        TICKET_DESK_DOWN,
        Worker(),
        Run("python starter.py", "12-ticket-desk-down", exit=0),
    )),
    Recipe("10", "10", (
        Worker(),
        Run("python starter.py", exit=0, says=("Trip booked: flight FL-0001, hotel HT-0002, car CR-0003, payment PAY-0001",)),
        BAD_CARD,  # the starter reads shared.py; the worker needs no restart
        Run("python starter.py", "10-declined", exit=1),
    )),
    # 13 has no TODOs: practice/workflow.py raises NotImplementedError until it is written.
    Recipe("13-check", "13", (
        Run("python -m workbook check 13", exit=1, says=("a TODO is still waiting for you",)),
        Solve(),
        Run("python -m workbook check 13", "13-check", keep=first_line_of_last_paragraph, exit=0),
    )),
    Recipe("13", "13", (
        Solve(),
        Worker(),
        Run("python starter.py", exit=0, says=("Order fulfilled", "Audit: zero orphans.")),
        CAPTURE_REFUSED,  # the starter reads shared.py; the worker needs no restart
        Run("python starter.py", "13-capture-refused", exit=1),
    )),
)  # fmt: skip


# --- making samples ------------------------------------------------------------------


@dataclass
class Sample:
    name: str
    exercise: str
    command: str
    text: str


@dataclass
class Said:
    exercise: str
    command: str
    phrase: str
    found: bool


@dataclass
class Samples:
    """Everything a set of recipes produced, and what went wrong making it."""

    samples: dict[str, Sample] = field(default_factory=dict)
    said: list[Said] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=dict)  # exercise -> problems

    def merge(self, other: Samples) -> None:
        self.samples.update(other.samples)
        self.said += other.said
        for exercise, problems in other.problems.items():
            self.problems.setdefault(exercise, []).extend(problems)


STUDENT_ADDRESS = "localhost:7233"
STUDENT_NAMESPACE = "default"
STARTED = re.compile(r"^Started workflow (\S+)\.$")  # report.follow(), off the local dev server
READY_WITHIN = 60.0  # seconds for a worker to say it polls
RUN_WITHIN = 120.0
QUIET = 1.5  # seconds of silence after which a waiting command has said all it will say


def _student_env(home: Path, repo: Path, address: str | None, namespace: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "WORKBOOK_"))}
    env.update(
        NO_COLOR="1", TTY_COMPATIBLE="0", COLUMNS="100", PYTHONUNBUFFERED="1",
        PYTHONPATH=str(repo),  # `python -m workbook` uses the copy's package and exercises
        WORKBOOK_DB=str(home / "world.db"), WORKBOOK_PROGRESS=str(home / "progress.json"),
    )  # fmt: skip
    if address:
        env.update(TEMPORAL_ADDRESS=address, TEMPORAL_NAMESPACE=namespace or STUDENT_NAMESPACE)
    return env


def copy_repository(target: Path) -> Path:
    """The support package and every exercise, as a student's checkout would have them."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
    shutil.copytree(REPO_ROOT / "workbook", target / "workbook", ignore=ignore)
    shutil.copytree(REPO_ROOT / "exercises", target / "exercises", ignore=ignore)
    # Its pytest settings too: `pytest` run inside the checkout reads them (exercise 10).
    shutil.copy(REPO_ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


class Process:
    """A child process whose merged output is read line by line, with arrival times."""

    def __init__(self, command: str, cwd: Path, env: dict):
        argv = shlex.split(command)
        if argv[0] == "python":
            argv[0] = sys.executable
        self.lines: list[tuple[float, str]] = []
        self.popen = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, encoding="utf-8", start_new_session=True,
        )  # fmt: skip
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.popen.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def text(self) -> list[str]:
        return [line for _, line in self.lines]

    def wait_for_output(self, within: float) -> bool:
        """Wait for a first line (or the end of the process)."""
        deadline = time.monotonic() + within
        while not self.lines and self.popen.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        return bool(self.lines)

    def wait_until_it_has_said_why(self, after: float, within: float = 30.0) -> list[str]:
        """For a command that waits: its lines once it spoke ``after`` seconds past its
        first line and then went quiet (or the process ended, or ``within`` ran out)."""
        deadline = time.monotonic() + within
        if not self.wait_for_output(within):
            return []
        while self.popen.poll() is None and time.monotonic() < deadline:
            first, last = self.lines[0][0], self.lines[-1][0]
            if last >= first + after - 0.5 and time.monotonic() - last >= QUIET:
                break
            time.sleep(0.05)
        return self.text()

    def finish(self, within: float) -> int | None:
        try:
            code = self.popen.wait(timeout=within)
        except subprocess.TimeoutExpired:
            self.stop()
            return None
        self.reader.join(timeout=5)
        return code

    def stop(self) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
            except ProcessLookupError:
                pass
        self.reader.join(timeout=5)


def web_ui_link(workflow_id: str) -> str:
    """What report.follow() adds to its first line on the local dev server at 7233."""
    from workbook.report import web_ui_link as link

    config = SimpleNamespace(target_host=STUDENT_ADDRESS)
    client = SimpleNamespace(namespace=STUDENT_NAMESPACE, service_client=SimpleNamespace(config=config))
    return link(SimpleNamespace(id=workflow_id, _client=client))


def as_a_student_sees_it(
    lines: list[str], repo: Path, address: str | None, namespace: str | None
) -> list[str]:
    """The output as on a student's machine: the dev server at localhost:7233 (with the
    Web UI link the starter prints there), namespace default, paths inside the checkout."""
    seen = []
    for line in lines:
        line = line.replace(f"{repo}/", "").replace(str(repo), ".")
        if address:
            line = line.replace(address, STUDENT_ADDRESS)
        started = STARTED.match(line)
        if address and started:
            line += web_ui_link(started.group(1))
        if namespace and namespace != STUDENT_NAMESPACE:
            line = re.sub(rf"\b{re.escape(namespace)}\b", STUDENT_NAMESPACE, line)
        seen.append(line.rstrip())
    return seen


def run_recipe(recipe: Recipe, address: str | None, namespace: str | None, workdir: Path) -> Samples:
    """Follow one recipe in a fresh copy of the repository; the samples it makes."""
    from workbook.report import WORKER_HINT_AFTER

    result = Samples()
    problems = result.problems.setdefault(recipe.exercise, [])
    home = workdir / recipe.name
    repo = copy_repository(home / "repo")
    exercise = repo / "exercises" / exercise_dir(recipe.exercise).name
    practice, solution = exercise / "practice", exercise / "solution"
    env = _student_env(home, repo, address, namespace)
    if not any(isinstance(step, Run) and step.waits for step in recipe.steps):
        # A healthy run that retries on a busy machine must not turn into a "Still
        # waiting" block: only recipes that show a wait keep the student's patience.
        env["WORKBOOK_PATIENCE"] = "120"
    worker: tuple[Process, Worker] | None = None

    def keep(sample: str | None, rule: Keep, lines: list[str], command: str) -> None:
        if sample is None:
            return
        kept = rule(as_a_student_sees_it(lines, repo, address, namespace))
        if not kept:
            problems.append(f"recipe {recipe.name}: `{command}` printed nothing to keep for sample "
                            f"{sample} ({rule.__name__}); it printed:\n" + "\n".join(lines))  # fmt: skip
        result.samples[sample] = Sample(sample, recipe.exercise, command, "\n".join(kept).strip("\n"))

    def crash_worker_when(process: Process, phrase: str) -> None:
        nonlocal worker
        deadline = time.monotonic() + RUN_WITHIN
        while phrase not in "\n".join(process.text()) and process.popen.poll() is None:
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
        if worker and phrase in "\n".join(process.text()):
            os.killpg(worker[0].popen.pid, signal.SIGKILL)  # kill -9: no goodbye
            worker[0].popen.wait()
            worker = (Process("python worker.py", practice, env), worker[1])
            if not worker[0].wait_for_output(READY_WITHIN):
                problems.append(f"recipe {recipe.name}: python worker.py said nothing after the crash")

    def stop_worker() -> None:
        nonlocal worker
        if worker:
            process, step = worker
            process.stop()
            keep(step.sample, step.keep, process.text(), "python worker.py")
            worker = None

    try:
        for step in recipe.steps:
            if isinstance(step, Solve):
                names = step.files or [p.name for p in solution.glob("*.py")]
                for name in names:
                    shutil.copy(solution / name, practice / name)
            elif isinstance(step, Edit):
                edited = practice / step.file
                if step.old not in edited.read_text():
                    problems.append(f"recipe {recipe.name}: {step.file} has no `{step.old}` to edit")
                edited.write_text(edited.read_text().replace(step.old, step.new))
            elif isinstance(step, Worker):
                stop_worker()
                worker = (Process("python worker.py", practice, env), step)
                if not worker[0].wait_for_output(READY_WITHIN):
                    problems.append(f"recipe {recipe.name}: python worker.py said nothing")
            else:
                process = Process(step.command, practice, env)
                if step.waits:
                    lines = process.wait_until_it_has_said_why(after=WORKER_HINT_AFTER)
                    process.stop()
                    code = None
                else:
                    if step.crash:
                        crash_worker_when(process, step.crash)
                    code = process.finish(RUN_WITHIN)
                    lines = process.text()
                    if code is None:
                        problems.append(f"recipe {recipe.name}: `{step.command}` did not end "
                                        f"within {RUN_WITHIN:.0f} s")  # fmt: skip
                if step.exit is not None and code != step.exit:
                    problems.append(f"recipe {recipe.name}: `{step.command}` should exit with {step.exit} "
                                    f"but exited with {code}; it printed:\n" + "\n".join(lines))  # fmt: skip
                keep(step.sample, step.keep, lines, step.command)
                flat = _words(" ".join(lines))
                for phrase in step.says:
                    result.said.append(Said(recipe.exercise, step.command, phrase, _words(phrase) in flat))
    finally:
        stop_worker()
    return result


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


async def _add_namespace(client, namespace: str) -> None:
    from google.protobuf.duration_pb2 import Duration
    from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
    from temporalio.service import RPCError, RPCStatusCode

    try:
        await client.workflow_service.register_namespace(
            RegisterNamespaceRequest(
                namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400)
            )
        )
    except RPCError as err:
        if err.status != RPCStatusCode.ALREADY_EXISTS:
            raise
    await _until_usable(client, namespace)


async def _until_usable(client, namespace: str, within: float = 60.0) -> None:
    """Wait until the server's frontend knows a namespace just registered: its namespace
    cache refreshes on its own schedule, and a starter that runs before then is told
    "Namespace ... is not found" (seen with many recipes side by side on a busy machine)."""
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
    from temporalio.service import RPCError, RPCStatusCode

    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(namespace=namespace, task_queue=TaskQueue(name="samples-probe"))
            )
            return
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND or asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


SIDE_BY_SIDE = 12  # recipes followed at once


async def generate(client=None, recipes: Iterable[Recipe] = RECIPES, workdir: Path | None = None) -> Samples:
    """Follow the recipes side by side, each in its own namespace of ``client``'s server."""
    recipes = list(recipes)
    if any(r.uses_temporal for r in recipes) and client is None:
        raise ValueError("these recipes run workflows: pass a client of a running dev server")
    address = client.service_client.config.target_host if client else None
    namespaces = {}
    for recipe in recipes:
        if recipe.uses_temporal:
            namespaces[recipe.name] = f"samples-{recipe.name}"
            await _add_namespace(client, namespaces[recipe.name])
    with tempfile.TemporaryDirectory(prefix="workbook-samples-") as scratch:
        where = Path(workdir or scratch)
        # At most SIDE_BY_SIDE at once: each runs a worker and a starter (two Python processes
        # and more), and fifty of them at once on a 2-core machine made every one slow enough
        # to miss its moments.
        with ThreadPoolExecutor(max_workers=max(1, min(len(recipes), SIDE_BY_SIDE))) as pool:
            loop = asyncio.get_running_loop()
            done = await asyncio.gather(*(
                loop.run_in_executor(pool, run_recipe, r, address if r.uses_temporal else None,
                                     namespaces.get(r.name), where)
                for r in recipes
            ))  # fmt: skip
    result = Samples()
    for part in done:
        result.merge(part)
    return result


# --- READMEs -----------------------------------------------------------------------

ANNOTATION = re.compile(r"^(?P<indent>[ \t]*)<!-- sample: (?P<name>[\w.-]+) -->\s*$")
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)(?P<info>.*)$")


@dataclass
class Block:
    """A fenced block in a README: lines [start, end) are its content (fences excluded)."""

    line: int  # 1-based line number of the opening fence
    start: int
    end: int
    indent: str
    info: str
    text: str
    sample: str | None  # the annotation right above it, if any


def blocks_of(text: str) -> list[Block]:
    lines = text.split("\n")
    found, index = [], 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        close = index + 1
        while close < len(lines) and lines[close].strip() != fence:
            close += 1
        above = index - 1  # the annotation: right above, or above blank lines (dprint adds one)
        while above > 0 and not lines[above].strip():
            above -= 1
        above = ANNOTATION.match(lines[above]) if above >= 0 else None
        body = [line.removeprefix(indent) if line.startswith(indent) else line.lstrip()
                for line in lines[index + 1 : close]]  # fmt: skip
        found.append(Block(index + 1, index + 1, close, indent, opening["info"].strip(), "\n".join(body),
                           above["name"] if above else None))  # fmt: skip
        index = close + 1
    return found


def annotations_of(text: str) -> list[tuple[int, str]]:
    return [(n, m["name"]) for n, line in enumerate(text.split("\n"), 1) if (m := ANNOTATION.match(line))]


def render(sample_text: str, indent: str) -> list[str]:
    return [indent + line if line else "" for line in sample_text.split("\n")]


@functools.cache
def _sanitizers() -> list[tuple[re.Pattern, str]]:
    """The notebooks' nbval sanitizers: what differs from one run to the next."""
    config = configparser.ConfigParser(interpolation=None)
    with open(REPO_ROOT / "notebooks" / "sanitize.cfg") as rules:
        config.read_file(rules)
    return [(re.compile(config[s]["regex"]), config[s]["replace"]) for s in config.sections()]


def sanitize(text: str) -> str:
    for pattern, replacement in _sanitizers():
        text = pattern.sub(replacement, text)
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n"))


def _where(readme: Path) -> str:
    try:
        return str(readme.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(readme)


def readme_of(exercise: str) -> Path:
    return exercise_dir(exercise) / "README.md"


def problems_in(readme: Path, made: Samples, exercise: str | None = None) -> list[str]:
    """Every way ``readme`` differs from what its commands print now (empty: none)."""
    exercise = exercise or readme.parent.name[:2]
    text, where = readme.read_text(), _where(readme)
    problems = list(made.problems.get(exercise, []))
    blocks = blocks_of(text)
    shown = set()
    for block in blocks:
        if block.sample is None:
            if not block.info:
                problems.append(f"{where}:{block.line}: an output block with no `<!-- sample: NAME -->` "
                                "above it: nothing proves it is what the command prints")  # fmt: skip
            continue
        shown.add(block.sample)
        sample = made.samples.get(block.sample)
        if sample is None:
            problems.append(f"{where}:{block.line}: no recipe made a sample named {block.sample!r} "
                            f"(see RECIPES in workbook/samples.py)")  # fmt: skip
            continue
        if sanitize(block.text) != sanitize(sample.text):
            diff = difflib.unified_diff(block.text.split("\n"), sample.text.split("\n"),
                                        "README", f"`{sample.command}` now", lineterm="", n=1)  # fmt: skip
            problems.append(f"{where}:{block.line}: block {block.sample!r} is not what `{sample.command}` "
                            "prints now (ids, times and ports aside). If the output is right, run "
                            "`python -m workbook.samples --refresh`.\n" + "\n".join(diff))  # fmt: skip
    for line, name in annotations_of(text):
        if not any(b.sample == name and b.line > line for b in blocks):
            problems.append(f"{where}:{line}: the annotation for {name!r} is not right above a fenced block")
    for name, sample in sorted(made.samples.items()):
        if sample.exercise == exercise and name not in shown:
            problems.append(f"{where}: sample {name!r} is made but not shown: annotate its block")
    flat = _words(text)
    for said in made.said:
        if said.exercise != exercise:
            continue
        if f"`{_words(said.phrase)}`" not in flat:  # quoted inline, as code
            problems.append(f"{where}: no longer quotes `{said.phrase}`: update its `says` in "
                            "workbook/samples.py")  # fmt: skip
        elif not said.found:
            problems.append(f"{where}: says you should see `{said.phrase}`, but `{said.command}` "
                            "does not print it")  # fmt: skip
    return problems


def refresh(readme: Path, made: Samples) -> bool:
    """Rewrite ``readme``'s sample blocks with the samples; True if anything changed."""
    text = readme.read_text()
    lines = text.split("\n")
    for block in reversed(blocks_of(text)):
        if block.sample in made.samples:
            lines[block.start : block.end] = render(made.samples[block.sample].text, block.indent)
    new = "\n".join(lines)
    if new != text:
        readme.write_text(new)
    return new != text


# --- python -m workbook.samples [--refresh] [exercise ...] ------------------------------


async def _main(args) -> int:
    from workbook.server import start_local_dev_server

    wanted = {exercise_dir(e).name[:2] for e in args.exercises} or None
    recipes = [r for r in RECIPES if wanted is None or r.exercise in wanted]
    exercises = sorted({r.exercise for r in recipes})
    env = await start_local_dev_server() if any(r.uses_temporal for r in recipes) else None
    try:
        made = await generate(env.client if env else None, recipes)
    finally:
        if env:
            await env.shutdown()
    problems = []
    for exercise in exercises:
        readme = readme_of(exercise)
        if args.refresh and refresh(readme, made):
            print(f"rewrote {_where(readme)}")
        problems += problems_in(readme, made, exercise)
    for problem in problems:
        print(problem, end="\n\n")
    if not problems:
        print(f"Every sample in {len(exercises)} README(s) is what its command prints.")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m workbook.samples", description=__doc__.split("\n\n")[0])
    parser.add_argument("--refresh", action="store_true", help="rewrite the README blocks")
    parser.add_argument("exercises", nargs="*", help="exercise numbers (default: all with recipes)")
    args = parser.parse_args(argv)
    return asyncio.run(_main(args))


if __name__ == "__main__":
    from workbook.entry import exit_now

    exit_now(main())
