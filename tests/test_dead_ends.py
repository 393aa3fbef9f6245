"""No dead ends for a student: every item as a real process (the `workbook` command, or
an exercise's worker.py and starter.py) against the session's dev server, asserting exit
codes, the travel world, the event history and the printed words. Commands that edit the
repository run in a throwaway clone."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
import tomllib
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from workbook.loader import exercise_dir, exercises
from workbook.timeline import fetch_timeline
from workbook.trips import TripError, example_trip, validate_trip
from workbook.verify import file_drift, untar
from workbook.world import REPO_ROOT

# --- helpers ------------------------------------------------------------------------


def address(dev_server) -> str:
    return dev_server.client.service_client.config.target_host


@pytest.fixture
def env(clean_env, dev_server, tmp_path):
    """A student's shell: this test's world, the session's dev server, plain wide output."""
    return dict(clean_env, TEMPORAL_ADDRESS=address(dev_server), COLUMNS="300",
                WORKBOOK_PROGRESS=str(tmp_path / "progress.json"),
                WORKBOOK_PATIENCE="1")  # say what is wrong after 1 s, not 5  # fmt: skip


def workbook(*args: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workbook", *args], cwd=cwd, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)  # fmt: skip


def commit(repo: Path, message: str) -> str:
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "commit", "-qam", message], check=True)
    return subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} is no longer in {path}: update this test"
    path.write_text(text.replace(old, new, 1))


def copy_of(number: str, target: str, tmp_path: Path) -> Path:
    folder = tmp_path / f"{number}-{target}"
    shutil.copytree(exercise_dir(number) / target, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def start_worker(folder: Path, env: dict, log: Path) -> subprocess.Popen:
    """worker.py as a student starts it; its terminal goes to ``log``. Returns once it polls."""
    handle = log.open("w")
    worker = subprocess.Popen([sys.executable, "-u", "worker.py"], cwd=folder, env=env,
                              stdout=handle, stderr=subprocess.STDOUT)  # fmt: skip
    for _ in range(300):
        if "Worker polling" in log.read_text() or worker.poll() is not None:
            break
        time.sleep(0.05)
    assert "Worker polling" in log.read_text(), log.read_text()
    return worker


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=30)


def book_with_worker(folder: Path, env: dict, tmp_path: Path) -> tuple[subprocess.CompletedProcess, str]:
    """Start worker.py, run starter.py to the end, stop the worker: what the starter did,
    and everything the worker printed."""
    log = tmp_path / "worker.log"
    worker = start_worker(folder, env, log)
    try:
        done = starter(folder, env)
    finally:
        stop(worker)
    return done, log.read_text()


def starter(folder: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "starter.py"], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


async def status_of(dev_server, workflow_id: str) -> WorkflowExecutionStatus:
    return (await dev_server.client.get_workflow_handle(workflow_id).describe()).status


SANDBOX_VIOLATION = ("        compensations = []  #", "        __import__('datetime').datetime.now()\n        compensations = []  #")


# --- `workbook run NN --practice` never hangs ----------------------------------------


async def test_run_ends_a_workflow_that_breaks_the_sandbox(clone, env, dev_server, world):
    edit(clone / "exercises/03-compensations/practice/workflow.py", *SANDBOX_VIOLATION)
    done = workbook("run", "03", "--practice", cwd=clone, env=env)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Stopped trip-03: your workflow did something the sandbox forbids" in output
    assert "datetime.datetime.now" in output
    assert "Fix it, then run python -m workbook run 03 --practice again." in output
    # advice for this mode: there is no separate worker to restart
    assert "restart the worker" not in output and "python worker.py" not in output
    assert await status_of(dev_server, "trip-03") == WorkflowExecutionStatus.TERMINATED
    assert world.reservations() == []


async def test_run_ends_a_workflow_that_no_worker_runs(clone, env, dev_server, world):
    done = workbook("run", "02", "--practice", cwd=clone, env=env)  # as shipped: no workflow registered
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "the worker that this command started from worker.py does not register it" in output
    assert "python worker.py" not in output
    assert await status_of(dev_server, "trip-02") == WorkflowExecutionStatus.TERMINATED


async def test_run_ends_a_workflow_whose_activities_nobody_runs(clone, env, dev_server, world):
    practice = clone / "exercises/02-first-workflow/practice"
    shutil.copy(practice.parent / "solution" / "workflow.py", practice / "workflow.py")  # Part B done
    edit(practice / "worker.py", "workflows=[],\n        activities=[book_flight],", "workflows=[BookTripWorkflow],\n        activities=[],")
    done = workbook("run", "02", "--practice", cwd=clone, env=env)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "nothing has started the activity book_flight on task queue 'saga-02-first-workflow'" in output
    assert "add it to activities=[...] in create_worker()" in output
    assert await status_of(dev_server, "trip-02") == WorkflowExecutionStatus.TERMINATED


async def test_run_ends_a_workflow_whose_activity_has_a_bug(clone, env, dev_server, world):
    activities = clone / "exercises/03-compensations/practice/activities.py"
    edit(activities, "def book_hotel(trip: TripRequest) -> str:\n",
         "def book_hotel(trip: TripRequest) -> str:\n    raise NotImplementedError('book_hotel')\n")  # fmt: skip
    workflow = clone / "exercises/03-compensations/practice/workflow.py"  # undos never give up
    edit(workflow, "retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),",
         "retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1)),")  # fmt: skip
    done = workbook("run", "03", "--practice", cwd=clone, env=env)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "a TODO is still waiting for you: book_hotel raises NotImplementedError" in output
    assert await status_of(dev_server, "trip-03") == WorkflowExecutionStatus.TERMINATED


async def test_starter_with_a_separate_worker_waits_and_says_restart_the_worker(tmp_path, env, dev_server, world):
    """Worker + starter: the run stays on the server for a fixed worker (exercise 02's
    durability story); the starter says so once, and never that it was terminated."""
    folder = copy_of("03", "solution", tmp_path)
    edit(folder / "workflow.py", *SANDBOX_VIOLATION)
    worker = start_worker(folder, env, tmp_path / "worker.log")
    waiting = subprocess.Popen([sys.executable, "starter.py"], cwd=folder, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    watchdog = threading.Timer(90, waiting.kill)  # a broken test must not hang the suite
    watchdog.start()
    try:
        lines = []
        for line in waiting.stdout:
            lines.append(line)
            if line.startswith("Fix it") or len(lines) > 20:
                break
    finally:
        watchdog.cancel()
        stop(waiting)
        stop(worker)
    output = "".join(lines)
    assert "Still waiting for trip-03: your workflow did something the sandbox forbids" in output
    assert lines[-1].strip() == "Fix it, restart the worker (Ctrl+C, python worker.py), and this run goes on."
    assert await status_of(dev_server, "trip-03") == WorkflowExecutionStatus.RUNNING
    await dev_server.client.get_workflow_handle("trip-03").terminate("test over")


async def test_one_starter_waits_through_every_fix_of_exercise_02(tmp_path, env, dev_server, world):
    """Exercise 02's story with worker and starter: one starter, left running, says what
    is wrong, and again after each worker restart meets the next mistake; the same run
    then goes on to book the trip."""
    folder = copy_of("02", "practice", tmp_path)
    solution = exercise_dir("02") / "solution"
    worker = start_worker(folder, env, tmp_path / "worker-1.log")
    waiting = subprocess.Popen([sys.executable, "starter.py"], cwd=folder, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    watchdog = threading.Timer(120, waiting.kill)  # a broken test must not hang the suite
    watchdog.start()
    said = []

    def read_until(words: str) -> None:
        for line in waiting.stdout:
            said.append(line)
            if words in line:
                return
        raise AssertionError("".join(said))

    try:
        read_until("Start the worker, or fix it and restart it (Ctrl+C, python worker.py), and this run goes on.")
        stop(worker)
        shutil.copy(solution / "worker.py", folder / "worker.py")  # Part A done
        worker = start_worker(folder, env, tmp_path / "worker-2.log")
        read_until("Fix it, restart the worker (Ctrl+C, python worker.py), and this run goes on.")
        stop(worker)
        shutil.copy(solution / "workflow.py", folder / "workflow.py")  # Part B done
        worker = start_worker(folder, env, tmp_path / "worker-3.log")
        rest, _ = waiting.communicate(timeout=120)
        said.append(rest)
    finally:
        watchdog.cancel()
        stop(worker)
        if waiting.poll() is None:
            stop(waiting)
    output = "".join(said)
    assert waiting.returncode == 0, output
    assert output.count("Started workflow trip-02.") == 1  # one run, carried on
    assert "nothing picked up the work on task queue 'saga-02-first-workflow'" in output
    assert "an activity call has no timeout" in output
    assert "Trip booked: flight FL-0001, hotel HT-0002, car CR-0003, payment PAY-0001" in output
    timeline = await fetch_timeline(dev_server.client, "trip-02")
    assert timeline.status == "Completed" and world.is_confirmed("trip-02")


# --- a starter never prints "Trip booked: None" -------------------------------------


async def test_compensated_but_not_reraised_is_not_a_booking(tmp_path, env, dev_server, world):
    folder = copy_of("03", "solution", tmp_path)
    edit(folder / "workflow.py", "            # Re-raise so the workflow ends Failed: the trip was not booked.\n            raise\n", "")
    edit(folder / "shared.py", 'CARD_NUMBER = "4242424242424242"', 'CARD_NUMBER = "424242424242424"')
    worker = start_worker(folder, env, tmp_path / "worker.log")
    try:
        done = starter(folder, env)
    finally:
        stop(worker)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Trip booked" not in output and "None" not in output
    assert "the workflow completed without an itinerary, although 4 step(s) were undone" in output
    assert "end the except block with a bare `raise`" in output
    timeline = await fetch_timeline(dev_server.client, "trip-03")
    assert timeline.status == "Completed"
    assert timeline.compensations == ["refund_payment", "cancel_car", "cancel_hotel", "cancel_flight"]


def test_01_rollback_that_swallows_the_error_is_not_a_booking(tmp_path, env, world):
    folder = copy_of("01", "solution", tmp_path)
    edit(folder / "starter.py", "            undo(trip, step)\n        raise\n", "            undo(trip, step)\n")
    done = starter(folder, env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "book_trip() returned as if all went well" in done.stdout
    assert "bare `raise`" in done.stdout
    assert world.reservations() and all(r.status != "held" for r in world.reservations())


# --- expected business failures are one line in the worker's terminal ---------------


@pytest.mark.parametrize(
    "number, switch, line",
    [
        ("02", ('CAR_TYPE = "economy"', 'CAR_TYPE = "suv"'),
         "book_car failed: no suv car is left in New York — not retried"),
        ("03", ('CARD_NUMBER = "4242424242424242"', 'CARD_NUMBER = "424242424242424"'),
         "charge_payment failed: card number '424242424242424' is invalid: it needs 16 digits, it has 15 — not retried"),
    ],
)  # fmt: skip
def test_business_failure_is_one_line_in_the_worker(number, switch, line, tmp_path, env, world):
    folder = copy_of(number, "solution", tmp_path)
    edit(folder / "shared.py", *switch)
    done, said = book_with_worker(folder, env, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert line in said.splitlines(), said
    assert "Traceback" not in said and "Completing activity as failed" not in said


def test_an_expected_cancel_is_one_line_in_the_worker(tmp_path, env, world):
    """Exercise 06 with CANCEL_DURING_CAR = True: the car desk's activity is cancelled, as
    the lesson means it to be: one line in the worker's terminal, not the SDK's traceback."""
    folder = copy_of("06", "solution", tmp_path)
    edit(folder / "shared.py", "CANCEL_DURING_CAR = False", "CANCEL_DURING_CAR = True")
    log = tmp_path / "worker.log"
    worker = start_worker(folder, env, log)
    try:
        done = starter(folder, env)
        deadline = time.monotonic() + 20  # the desk learns of the cancel at its next heartbeat
        while "book_car" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop(worker)
    said = log.read_text()
    assert done.returncode == 1, done.stdout + done.stderr
    assert any(line.endswith("book_car cancelled: its workflow asked it to stop (a cancel, or a step it no longer waits for)")
               for line in said.splitlines()), said  # fmt: skip
    assert "Traceback" not in said and "CancelledError" not in said, said


def test_retried_business_error_is_one_line_per_attempt(tmp_path, env, world):
    """Exercise 02 before Part C: the sold-out car is retried, one line per attempt."""
    folder = copy_of("02", "solution", tmp_path)
    shutil.copy(exercise_dir("02") / "practice" / "activities.py", folder / "activities.py")
    edit(folder / "shared.py", 'CAR_TYPE = "economy"', 'CAR_TYPE = "suv"')
    done, said = book_with_worker(folder, env, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "book_car failed: no suv car is left in New York — attempt 1, Temporal will retry it" in said.splitlines()
    assert "book_car failed: no suv car is left in New York — attempt 3, the last one" in said.splitlines()
    assert "Traceback" not in said


def test_a_real_bug_keeps_its_traceback_in_the_worker(tmp_path, env, world):
    folder = copy_of("02", "solution", tmp_path)
    edit(folder / "activities.py", "def book_hotel(trip: TripRequest) -> str:\n",
         "def book_hotel(trip: TripRequest) -> str:\n    trip.no_such_field\n")  # fmt: skip
    done, said = book_with_worker(folder, env, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" in said and "AttributeError" in said and "no_such_field" in said


# --- Ctrl+C on `python -m workbook server` -----------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_ctrl_c_stops_the_server_without_error_lines(clone, clean_env):
    """Workflows left waiting in the server's database make a stopping server log
    `level=ERROR ... task queue closed`; a requested stop must not look like that."""
    port, ui_port = free_port(), free_port()
    target = f"localhost:{port}"

    def start() -> subprocess.Popen:
        # its own session, as a terminal's foreground job: Ctrl+C goes to its group
        return subprocess.Popen([sys.executable, "-m", "workbook", "server", "--port", str(port),
                                 "--ui-port", str(ui_port)], cwd=clone, env=clean_env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip

    async def until_up() -> Client:
        deadline = time.monotonic() + 90  # a loaded machine: a dev server with a database file can take long
        while time.monotonic() < deadline:
            try:
                return await Client.connect(target)
            except Exception:  # not up yet
                await asyncio.sleep(0.1)
        raise AssertionError("the server did not come up within 90 s")

    def ctrl_c(server: subprocess.Popen) -> tuple[int, str]:
        os.killpg(server.pid, signal.SIGINT)  # what the terminal does on Ctrl+C
        output, _ = server.communicate(timeout=60)
        return server.returncode, output

    server = start()
    client = await until_up()
    for i in range(20):  # work nobody will pick up, kept in .workbook/temporal.db
        await client.start_workflow("NobodyRunsThis", id=f"waiting-{i}", task_queue=f"nobody-{i}")
    outputs = [ctrl_c(server)]
    server = start()  # it reloads the waiting work: the case that logged errors on Ctrl+C
    await until_up()
    outputs.append(ctrl_c(server))
    for code, output in outputs:
        assert code == 0, output
        assert "Temporal dev server stopped." in output
        assert "level=ERROR" not in output and "Traceback" not in output, output


# --- verify judges the shipped exercises ----------------------------------------------


def test_verify_without_git_judges_the_working_tree(clone, env, tmp_path):
    plain = tmp_path / "plain"  # as from a zip: no .git
    archive = subprocess.run(["git", "-C", str(clone), "archive", "--format=tar", "HEAD"],
                             capture_output=True, check=True).stdout  # fmt: skip
    plain.mkdir()
    (tmp_path / "repo.tar").write_bytes(archive)
    with tarfile.open(tmp_path / "repo.tar") as tar:
        untar(tar, plain)
    exercise = plain / "exercises" / "03-compensations"
    shutil.copy(exercise / "solution" / "workflow.py", exercise / "practice" / "workflow.py")
    done = workbook("verify", "03", "--skip-notebooks", cwd=plain, env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "judged the working tree" in done.stdout and "not a git checkout" in done.stdout
    assert "practice already passes every check" in done.stdout


# --- the drift rule ---------------------------------------------------------------------

EX03 = exercise_dir("03")
SHIPPED = (EX03 / "practice" / "workflow.py").read_text().splitlines()
SOLUTION = (EX03 / "solution" / "workflow.py").read_text().splitlines()
LOOP = ["            for undo in reversed(compensations):",
        "                await workflow.execute_activity(undo, trip, **UNDO)"]  # fmt: skip


def students_answer(loop_at: str) -> list[str]:
    """The solution's registrations, and the loop just before `raise` (where README step 2
    says), or after it."""
    lines = [line for line in SOLUTION if line not in LOOP]
    at = lines.index("            raise") + (1 if loop_at == "after raise" else 0)
    return lines[:at] + LOOP + lines[at:]


def test_drift_accepts_the_loop_just_before_raise():
    answer = students_answer("before raise")
    assert answer.index(LOOP[0]) > answer.index("            # Re-raise so the workflow ends Failed: the trip was not booked.")
    assert file_drift(answer, SOLUTION) == []
    assert file_drift(answer, SOLUTION, SHIPPED) == []
    without_todo_comments = [line for line in answer if "# TODO Part" not in line]  # tidied up
    assert file_drift(without_todo_comments, SOLUTION, SHIPPED) == []


def test_drift_rejects_edits_outside_a_todo_region():
    after = students_answer("after raise")  # unreachable: below the line that anchors the region
    line = after.index(LOOP[0]) + 1
    assert file_drift(after, SOLUTION, SHIPPED) == [f"line {line} differs outside a TODO region: {LOOP[0].strip()!r}"]
    retries = [line.replace("maximum_attempts=3", "maximum_attempts=5") for line in students_answer("before raise")]
    line = next(i for i, text in enumerate(SHIPPED) if "maximum_attempts=3" in text) + 1
    assert file_drift(retries, SOLUTION, SHIPPED)[0].startswith(f"line {line} differs outside a TODO region")
    assert file_drift(retries, SOLUTION)[0].startswith(f"line {line} differs outside a TODO region")
    ex02 = exercise_dir("02")
    shipped02 = (ex02 / "practice" / "workflow.py").read_text().splitlines()
    solution02 = (ex02 / "solution" / "workflow.py").read_text().splitlines()
    renamed = [line.replace("@workflow.defn", '@workflow.defn(name="Other")') for line in solution02]
    assert "outside a TODO region: '@workflow.defn'" in file_drift(renamed, solution02, shipped02)[0]


def verdict(table: str, exercise: str, proof: str) -> str:
    line = next(line for line in table.splitlines() if exercise in line and proof in line)
    return line.split("│")[-2].strip()


def test_verify_judges_the_committed_exercises_with_the_drift_rule(clone, env):
    """One run of verify (it takes a while), three proofs: it judges HEAD, not the
    student's solved practice/; a solution with the loop just before `raise` is no drift;
    an edit outside any TODO region is."""
    ex03, ex02 = clone / "exercises" / "03-compensations", clone / "exercises" / "02-first-workflow"
    (ex03 / "solution" / "workflow.py").write_text("\n".join(students_answer("before raise")) + "\n")
    edit(ex02 / "solution" / "workflow.py", "# still fails after its retries", "# still fails after all its retries")
    head = commit(clone, "solutions: 03's loop just before raise; 02 edited outside a TODO")
    shutil.copy(ex03 / "solution" / "workflow.py", ex03 / "practice" / "workflow.py")  # a student's work
    done = workbook("verify", "02", "03", "--skip-notebooks", cwd=clone, env=env)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert f"judged the committed exercises at HEAD {head}" in output
    assert "uncommitted changes in exercises/ are not part of this verdict" in output
    assert verdict(done.stdout, "03-compensations", "practice fails as shipped") == "ok"
    assert verdict(done.stdout, "03-compensations", "practice = solution outside TODOs") == "ok"
    drifted = verdict(done.stdout, "02-first-workflow", "practice = solution outside TODOs")
    assert drifted.startswith("workflow.py: line") and "differs outside a TODO region" in drifted
    assert "1 proof(s) failed" in output


# --- reset keeps a copy; list sees edits since the last check -------------------------


def test_reset_keeps_a_copy_of_the_students_files(clone, env):
    practice = clone / "exercises" / "03-compensations" / "practice" / "workflow.py"
    shipped = practice.read_text()
    practice.write_text(shipped + "\n# two hours of my work\n")
    done = workbook("reset", "03", "--yes", cwd=clone, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert practice.read_text() == shipped
    said = next(line for line in done.stdout.splitlines() if line.startswith("Your files are kept in"))
    backup = clone / said.split(" in ", 1)[1].split("/ ", 1)[0]
    assert backup.parent == clone / ".workbook" / "backups" and backup.name.startswith("03-")
    assert (backup / "workflow.py").read_text().endswith("# two hours of my work\n")
    assert sorted(p.name for p in backup.iterdir()) == sorted(p.name for p in practice.parent.glob("*.py"))


def row(listing: str, number: str) -> str:
    return next(line for line in listing.splitlines() if line.strip("│ ").startswith(number))


def test_list_says_edited_since_the_last_check(clone, env):
    workbook("check", "03", cwd=clone, env=env)
    assert "in progress" in row(workbook("list", cwd=clone, env=env).stdout, "03")
    assert "edited since the last check" not in row(workbook("list", cwd=clone, env=env).stdout, "03")
    practice = clone / "exercises" / "03-compensations" / "practice" / "workflow.py"
    practice.write_text(practice.read_text() + "\n# a new idea\n")
    assert "in progress, edited since the last check" in row(workbook("list", cwd=clone, env=env).stdout, "03")
    workbook("check", "03", cwd=clone, env=env)
    assert "edited since the last check" not in row(workbook("list", cwd=clone, env=env).stdout, "03")


# --- bad values in shared.py: one short line, nothing booked ---------------------------

BAD_VALUES = [  # field, value, words the message must contain
    ("card_number", "４２４２４２４２４２４２４２４２", "use only the plain digits 0-9"),
    ("card_number", "4242-4242-4242-4242", "use only the plain digits 0-9"),
    ("card_number", "4242424242424242" * 100_000, "1,600,000 characters long"),
    ("card_number", 4242424242424242, "should be text in quotes"),
    ("card_number", None, "should be text in quotes"),
    ("card_number", "", "is empty"),
    ("card_number", "4" * 25, "has 25 digits"),
    ("car_type", "ecomony", "did you mean 'economy'?"),
    ("car_type", "SUV", "did you mean 'suv'?"),
    ("car_type", " suv", "remove the spaces"),
    ("car_type", ["suv"], "should be text in quotes"),
    ("car_type", "hovercraft", "use economy, compact, midsize, suv or luxury"),
    ("room_type", "penthouse", "use standard, deluxe or suite"),
    ("nights", "3", "should be a whole number"),
    ("nights", 10**100, "use a number from 1 to 365"),
    ("rental_days", True, "should be a whole number"),
]


@pytest.mark.parametrize("field, value, words", BAD_VALUES, ids=lambda v: repr(v)[:20])
def test_a_value_that_cannot_be_meant_is_one_short_line(field, value, words):
    with pytest.raises(TripError) as refused:
        validate_trip(example_trip(**{field: value}))
    message = str(refused.value)
    assert words in message
    assert message.startswith(f"in shared.py, {field}") and "\n" not in message and len(message) < 140


@pytest.mark.parametrize(
    "changes",
    [{}, {"car_type": "suv"}, {"card_number": "424242424242424"}, {"card_number": "4242 4242 4242 4242"},
     {"card_number": "4000000000000002"}, {"flight": "TW999"}, {"room_type": "suite", "nights": 365}],
    ids=["as shipped", "sold-out suv", "15 digits", "grouped digits", "declined card", "no such flight", "long stay"],
)  # fmt: skip
def test_a_business_failure_is_still_bookable(changes):
    """What a real customer could ask for goes through to the world, which may say no:
    that answer is the lesson (exercise 02's SUV, exercise 03's 15-digit card)."""
    validate_trip(example_trip(**changes))


SWITCHES = {  # exercise: (the switch as shipped, how it is mistyped), the words expected
    "01-yes": ("01", "CRASH_AFTER_HOTEL = False", 'CRASH_AFTER_HOTEL = "yes"', "CRASH_AFTER_HOTEL should be True or False"),
    "02-typo": ("02", 'CAR_TYPE = "economy"', 'CAR_TYPE = "ecomony"', "did you mean 'economy'?"),
    "02-none": ("02", 'CAR_TYPE = "economy"', "CAR_TYPE = None", "car_type should be text in quotes"),
    "03-fullwidth": ("03", 'CARD_NUMBER = "4242424242424242"', 'CARD_NUMBER = "４２４２４２４２４２４２４２４２"', "use only the plain digits 0-9"),
    "03-huge": ("03", 'CARD_NUMBER = "4242424242424242"', 'CARD_NUMBER = "' + "4242424242424242" * 100_000 + '"', "1,600,000 characters long"),
    "03-spaces": ("03", 'CARD_NUMBER = "4242424242424242"', 'CARD_NUMBER = " 4242424242424242"', "remove the spaces"),
    "03-no-trip": ("03", "TRIP = example_trip(WORKFLOW_ID, card_number=CARD_NUMBER)", "TRIP = None", "TRIP should be a trip, like example_trip(WORKFLOW_ID)"),
    "03-misspelt-field": ("03", "card_number=CARD_NUMBER)", "card_number=CARD_NUMBER, nigths=3)", "a trip has no field `nigths`. Did you mean `nights`?"),
    "03-queue-number": ("03", 'TASK_QUEUE = "saga-03-compensations"', "TASK_QUEUE = 42", "TASK_QUEUE should be text in quotes"),
    "03-queue-empty": ("03", 'TASK_QUEUE = "saga-03-compensations"', 'TASK_QUEUE = ""', "TASK_QUEUE is empty"),
    "03-id-number": ("03", 'WORKFLOW_ID = "trip-03"', "WORKFLOW_ID = 3", "WORKFLOW_ID should be text in quotes"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(SWITCHES))
def test_a_mistyped_switch_ends_the_starter_in_one_line(case, tmp_path, env, world):
    number, shipped, mistyped, words = SWITCHES[case]
    folder = copy_of(number, "solution", tmp_path)
    edit(folder / "shared.py", shipped, mistyped)
    done = starter(folder, env)  # no worker needed: nothing reaches Temporal
    output = done.stdout + done.stderr
    lines = [line for line in output.splitlines() if line.strip()]
    assert done.returncode == 2, output[:2000]
    assert len(lines) == 1 and len(output) < 300, output[:2000]
    assert lines[0].startswith("Cannot run: in shared.py,") and words in lines[0]
    assert "Traceback" not in output
    assert world.reservations() == []  # nothing was booked


def test_a_mistyped_task_queue_ends_the_worker_in_one_line(tmp_path, env):
    folder = copy_of("03", "solution", tmp_path)
    edit(folder / "shared.py", 'TASK_QUEUE = "saga-03-compensations"', "TASK_QUEUE = 42")
    done = subprocess.run([sys.executable, "worker.py"], cwd=folder, env=env, capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output[:2000]
    assert output.strip() == "Cannot run: in shared.py, TASK_QUEUE should be text in quotes (like \"saga-03\"), but it is 42 (int)."


# --- hints and messages wrap to the terminal --------------------------------------------


@pytest.mark.parametrize("exercise", exercises(), ids=lambda p: p.name[:2])
def test_no_hint_paragraph_has_a_hard_line_break(exercise):
    hints = tomllib.loads((exercise / "hints.toml").read_text())["hint"]
    for number, hint in enumerate(hints, 1):
        for paragraph in hint["text"].strip().split("\n\n"):
            assert "\n" not in paragraph.strip(), f"hint {number} of {exercise.name} breaks a line: {paragraph!r}"


@pytest.mark.parametrize("width", [44, 200])
def test_hints_wrap_to_the_terminal(width, env):
    narrow = dict(env, COLUMNS=str(width))
    done = workbook("hint", "03", cwd=REPO_ROOT, env=narrow)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert all(len(line) <= width for line in lines)
    first = tomllib.loads((EX03 / "hints.toml").read_text())["hint"][0]["text"].strip()
    if len(first) <= width:
        assert first in lines  # one line, as wide as the terminal allows
    else:
        assert first not in lines and " ".join(line.strip() for line in lines if line.strip()).count(first) == 1


async def test_run_says_a_syntax_error_in_one_line_as_check_does(clone, env, dev_server, world):
    edit(clone / "exercises/03-compensations/practice/workflow.py", "        compensations = []  #", "        compensations = [  #")
    done = workbook("run", "03", "--practice", cwd=clone, env=env)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Cannot run it: Python cannot read workflow.py, line" in output
    assert "Traceback" not in output and "entry.py" not in output and len(output.splitlines()) <= 4, output


async def test_piped_output_keeps_the_web_ui_link_on_one_line(clone, env, dev_server, world):
    piped = {name: value for name, value in env.items() if name != "COLUMNS"}  # `... | tee log`: no terminal width
    done = workbook("run", "03", cwd=clone, env=piped)
    assert done.returncode == 0, done.stdout + done.stderr
    # Not wrapped at 80 columns: the audit's sentence (and, on localhost:7233, the Web UI link) is one line.
    assert "Audit: zero orphans. Nothing is held or charged for a trip that is not confirmed (1 confirmed)." in done.stdout.splitlines(), done.stdout


async def test_a_slow_worker_is_not_called_missing(monkeypatch):
    """A worker polls, and its first workflow task is slow (a busy laptop): nothing is
    wrong that the starter can see, so it keeps waiting quietly instead of asking whether
    the worker runs; it says so only once the wait has lasted VAGUE_AFTER."""
    from rich.console import Console

    from workbook import report

    monkeypatch.setattr(report, "WORKER_HINT_AFTER", 0.05)
    monkeypatch.setattr(report, "RECHECK_EVERY", 0.05)
    monkeypatch.setattr(report, "VAGUE_AFTER", 0.6)

    async def nothing_wrong(handle, source="", in_process=False):
        return None, None

    async def not_at_work(handle):
        return ""

    monkeypatch.setattr(report, "_diagnosis", nothing_wrong)
    monkeypatch.setattr(report, "_at_work", not_at_work)
    handle = type("Handle", (), {"id": "trip-x"})()
    mode = report.Mode()  # the starter's: its worker runs in another terminal
    for finishes_after, says in ((0.3, False), (1.0, True)):
        console = Console(record=True, width=200)
        result = asyncio.ensure_future(asyncio.sleep(finishes_after, result="booked"))
        assert await report._wait_for_worker_elsewhere(handle, result, console, mode) == "booked"
        assert ("is the worker running?" in console.export_text()) is says


async def test_an_activity_that_has_just_started_is_not_called_a_wait(monkeypatch):
    """A run past WORKER_HINT_AFTER that is making progress (08's cancel while undoing on a
    busy machine: its last undo had just started) gets no 'Still waiting … is at work on a
    worker' line; an attempt at work for WORKER_HINT_AFTER already does."""
    from datetime import datetime, timedelta, timezone

    from temporalio.api.enums.v1 import PendingActivityState
    from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionResponse

    from workbook import report

    monkeypatch.setattr(report, "WORKER_HINT_AFTER", 5.0)

    def handle_with_activity_started(seconds_ago: float):
        description = DescribeWorkflowExecutionResponse()
        pending = description.pending_activities.add()
        pending.activity_type.name = "cancel_flight"
        pending.state = PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
        pending.attempt = 1
        pending.last_started_time.FromDatetime(datetime.now(timezone.utc) - timedelta(seconds=seconds_ago))

        class Handle:
            async def describe(self):
                return type("Description", (), {"raw_description": description})()

        return Handle()

    assert await report._at_work(handle_with_activity_started(0.1)) == ""
    assert await report._at_work(handle_with_activity_started(60)) == (
        "cancel_flight is at work on a worker (attempt 1); waiting for it."
    )


def test_a_refusal_the_activity_raises_itself_is_one_line_in_the_worker(tmp_path, env, world):
    """Exercise 11 Part E (TWO_TRIPS_INTERLEAVED = True): the upgrade desk refuses trip-11-a's
    pending room with an ApplicationError of its own (BookingPending). That is the lesson,
    like the sold-out car beside it: one line in the worker's terminal, not the SDK's
    25-line 'Completing activity as failed' traceback (seen walking 11 in a terminal)."""
    folder = copy_of("11", "solution", tmp_path)
    edit(folder / "shared.py", "TWO_TRIPS_INTERLEAVED = False", "TWO_TRIPS_INTERLEAVED = True")
    done, said = book_with_worker(folder, env, tmp_path)
    assert "Upgrade of trip-11-a's room refused" in done.stdout, done.stdout + done.stderr
    assert any(line.endswith("upgrade_room failed: trip trip-11-a's room HT-0002 is still pending: ask again once "
                             "the trip is confirmed — not retried") for line in said.splitlines()), said  # fmt: skip
    assert "Traceback" not in said and "Completing activity as failed" not in said, said


def test_a_bug_wrapped_in_an_application_error_keeps_its_traceback(tmp_path, env, world):
    """`except Exception` round a bug (an AttributeError) turned into a non-retryable
    ApplicationError: still a bug, so the worker keeps its traceback."""
    folder = copy_of("02", "solution", tmp_path)
    edit(folder / "activities.py", "    except world.BookingError as err:\n", "    except Exception as err:\n")
    edit(folder / "activities.py", "        return world.book_hotel(\n", "        trip.no_such_field\n        return world.book_hotel(\n")
    done, said = book_with_worker(folder, env, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" in said and "AttributeError" in said and "no_such_field" in said, said


def test_an_outage_retried_on_purpose_is_not_called_a_mistake(tmp_path, env, world):
    """Exercise 12 Part E (TICKET_DESK_DOWN = True), worker and starter in two terminals:
    issue_tickets is retried after the pivot on purpose (FORWARD). While it is, the starter
    says the outage ends by itself, not 'make it non-retryable … Fix it, restart the worker'
    (seen walking 12 in a terminal)."""
    folder = copy_of("12", "solution", tmp_path)
    edit(folder / "shared.py", "TICKET_DESK_DOWN = False", "TICKET_DESK_DOWN = True")
    done, _ = book_with_worker(folder, env, tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "car booked by the primary desk, tickets TK-0001" in output, output
    assert "issue_tickets has failed" in output and "An outage ends by itself" in output, output
    assert "non-retryable" not in output and "restart the worker" not in output, output


def test_run_waits_out_an_outage_retried_on_purpose(clone, env, dev_server, world):
    """`python -m workbook run 12` with TICKET_DESK_DOWN = True: the ticket desk fails three
    calls and answers the fourth. The run waits for it, instead of terminating the trip
    after three failures as 'retrying forever' with advice to make it non-retryable."""
    edit(clone / "exercises/12-forward-recovery/solution/shared.py", "TICKET_DESK_DOWN = False", "TICKET_DESK_DOWN = True")
    done = workbook("run", "12", cwd=clone, env=dict(env, WORKBOOK_PATIENCE="5"))
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "car booked by the primary desk, tickets TK-0001" in output, output
    assert "Stopped trip-12" not in output and "non-retryable" not in output, output


async def test_a_cause_seen_lately_keeps_the_vague_guess_back(monkeypatch):
    """The starter guesses 'is the worker running?' only after VAGUE_AFTER with no visible
    cause in a row. A long outage, said for 30 s, then one look between the activity's
    completion and the workflow's next task (nothing pending): no guess (13's "courier
    slow" got one). The clock is the test's: each look is one second."""
    from rich.console import Console

    from workbook import report

    clock, looks = [1000.0], []
    monkeypatch.setattr(report, "WORKER_HINT_AFTER", 0.01)
    monkeypatch.setattr(report, "RECHECK_EVERY", 0.01)
    monkeypatch.setattr(report, "VAGUE_AFTER", 20.0)
    monkeypatch.setattr(report, "time", type("Clock", (), {"monotonic": staticmethod(lambda: clock[0])}))
    result = asyncio.get_running_loop().create_future()

    async def diagnosis(handle, source="", in_process=False):
        looks.append(1)
        clock[0] += 1.0
        if len(looks) <= 30:
            return "outage", "hand_to_courier has failed 5 time(s) and Temporal keeps retrying it: down."
        if len(looks) == 32:
            result.set_result("fulfilled")
        return None, None

    async def not_at_work(handle):
        return ""

    monkeypatch.setattr(report, "_diagnosis", diagnosis)
    monkeypatch.setattr(report, "_at_work", not_at_work)
    handle = type("Handle", (), {"id": "order-13"})()
    console = Console(record=True, width=200)
    assert await report._wait_for_worker_elsewhere(handle, result, console, report.Mode()) == "fulfilled"
    said = console.export_text()
    assert "hand_to_courier has failed" in said and "is the worker running?" not in said, said


@pytest.mark.parametrize("script", ["starter.py", "worker.py"])
def test_a_syntax_error_in_shared_py_is_one_line_in_a_terminal(script, tmp_path, env):
    """`python starter.py` (or worker.py) with a typo in shared.py says it as `check` and
    `run` do, in one line, instead of Python's 7-line traceback (seen walking 02)."""
    folder = copy_of("02", "solution", tmp_path)
    edit(folder / "shared.py", 'CAR_TYPE = "economy"', 'CAR_TYPE = "economy')
    done = subprocess.run([sys.executable, script], cwd=folder, env=env, capture_output=True, text=True, timeout=60)
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == 1, output
    assert output.startswith(f"Cannot run {script}: Python cannot read shared.py, line "), output
    assert "Traceback" not in output and len(output.splitlines()) == 1, output


def test_a_misspelt_import_is_one_line_and_names_the_line(tmp_path, env):
    folder = copy_of("02", "solution", tmp_path)
    edit(folder / "worker.py", "from activities import book_car,", "from activities import book_cars,")
    done = subprocess.run([sys.executable, "worker.py"], cwd=folder, env=env, capture_output=True, text=True, timeout=60)
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == 1 and "Traceback" not in output, output
    assert "cannot import name 'book_cars' from 'activities'" in output and "worker.py, line" in output, output


def test_run_stops_an_endless_retry_of_a_lasting_outage_with_advice_that_fits(clone, env, dev_server, world):
    """05 with the email sent but AUX left without maximum_attempts, and the email service
    down for good: `workbook run` stops waiting (it must not hang), says once per kind what
    it sees (not a line per failed attempt), and its last word is to cap the retries, not
    that 'this run goes on'."""
    folder = clone / "exercises/05-critical-vs-auxiliary/solution"
    text = (folder / "workflow.py").read_text()
    aux = text.index("AUX = dict(")
    end = text.index("maximum_attempts=3", aux)
    (folder / "workflow.py").write_text(text[: end - 2] + text[end + len("maximum_attempts=3"):])
    edit(folder / "shared.py", "EMAIL_SERVICE_DOWN = False", "EMAIL_SERVICE_DOWN = True")
    done = workbook("run", "05", cwd=clone, env=env)  # WORKBOOK_PATIENCE=1: stops after 4 s of it
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    flat = " ".join(line.strip() for line in output.splitlines())  # a long line may wrap
    stopped = flat[flat.index("Stopped trip-05:") : flat.index("The worker ran inside this command")]
    assert "send_confirmation_email has failed" in stopped and "cap its retries with maximum_attempts" in stopped, output
    assert "this run goes on" not in stopped, output
    assert sum(line.startswith("Still waiting for trip-05:") for line in output.splitlines()) <= 2, output
