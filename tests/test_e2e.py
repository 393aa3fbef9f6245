"""End to end, as a student: the real scripts as separate processes (worker.py and
starter.py against a dev server, or starter.py alone before Temporal), once as shipped
and once with the failure switch flipped in a copy of shared.py. Asserts exit codes,
the travel world and the event history."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from temporalio.client import WorkflowFailureError

from workbook.audit import audit
from workbook.loader import exercise_dir, exercises
from workbook.timeline import fetch_timeline

STEPS = ["book_flight", "book_hotel", "book_car", "charge_payment", "confirm_trip"]
# exercise: the failure switch as shipped, and as the README tells the student to flip it
SWITCHES = {
    "01": ("CRASH_AFTER_HOTEL = False", "CRASH_AFTER_HOTEL = True"),
    "02": ('CAR_TYPE = "economy"', 'CAR_TYPE = "suv"'),
    "03": ('CARD_NUMBER = "4242424242424242"', 'CARD_NUMBER = "424242424242424"'),
    "04": ("LOST_HOTEL_REPLIES = 0", "LOST_HOTEL_REPLIES = 2"),
    "05": ("EMAIL_SERVICE_DOWN = False", "EMAIL_SERVICE_DOWN = True"),
    "06": ("CANCEL_DURING_CAR = False", "CANCEL_DURING_CAR = True"),
    "07": ("HOTEL_FAILS_WHILE_CAR_BOOKS = False", "HOTEL_FAILS_WHILE_CAR_BOOKS = True"),
    "08": ("CANCEL_WHILE_UNDOING = False", "CANCEL_WHILE_UNDOING = True"),
    "09": ("SLOW_HOTEL_SECONDS = 0", "SLOW_HOTEL_SECONDS = 20"),
    "10": ('CARD_NUMBER = "4242424242424242"', 'CARD_NUMBER = "424242424242424"'),
    "12": ("CAR_RENTAL_DOWN = False", "CAR_RENTAL_DOWN = True"),
}


def copy_of_solution(number: str, tmp_path: Path, flipped: bool) -> Path:
    folder = tmp_path / "solution"
    shutil.copytree(exercise_dir(number) / "solution", folder, ignore=shutil.ignore_patterns("__pycache__"))
    if flipped:
        shipped, flip = SWITCHES[number]
        shared = folder / "shared.py"
        assert shipped in shared.read_text(), "the failure switch moved: update SWITCHES"
        shared.write_text(shared.read_text().replace(shipped, flip))
    return folder


def run_as_student(folder: Path, env: dict) -> tuple[int, str]:
    """Start worker.py (if the exercise has one), run starter.py to the end, stop the worker."""
    worker = None
    if (folder / "worker.py").exists():
        worker = subprocess.Popen([sys.executable, "worker.py"], cwd=folder, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        starter = subprocess.run([sys.executable, "starter.py"], cwd=folder, env=env,
                                 capture_output=True, text=True, timeout=120)  # fmt: skip
    finally:
        if worker:
            worker.terminate()
            worker.wait(timeout=30)
    return starter.returncode, starter.stdout + starter.stderr


@pytest.fixture
def student_env(clean_env, dev_server):
    return dict(clean_env, TEMPORAL_ADDRESS=dev_server.client.service_client.config.target_host)


async def test_01_rollback_then_crash(tmp_path, student_env, world):
    code, output = run_as_student(copy_of_solution("01", tmp_path / "a", flipped=False), student_env)
    assert code == 0, output
    undos = [op for op, _, _ in world.journal() if op.startswith("cancel")]
    assert undos == ["cancel_hotel", "cancel_flight"]
    assert audit().clean

    code, output = run_as_student(copy_of_solution("01", tmp_path / "b", flipped=True), student_env)
    assert code == 137, output  # died on the spot: no rollback ran
    assert sorted(o.kind for o in audit().orphans) == ["flight", "hotel"]


@pytest.mark.parametrize("number", ["02", "03", "04"])
async def test_shipped_solution_books_the_trip(number, tmp_path, student_env, dev_server, world):
    code, output = run_as_student(copy_of_solution(number, tmp_path, flipped=False), student_env)
    timeline = await fetch_timeline(dev_server.client, f"trip-{number}")
    assert code == 0, output
    assert timeline.status == "Completed"
    assert timeline.activities == STEPS
    assert world.is_confirmed(f"trip-{number}") and audit().clean
    assert "Trip booked" in output


async def test_02_failed_car_leaves_orphans(tmp_path, student_env, dev_server, world):
    code, output = run_as_student(copy_of_solution("02", tmp_path, flipped=True), student_env)
    timeline = await fetch_timeline(dev_server.client, "trip-02")
    assert code == 1, output
    assert timeline.status == "Failed"
    assert timeline.activities == STEPS[:3]
    assert sorted(o.kind for o in audit().orphans) == ["flight", "hotel"]  # the lesson
    assert not world.payments()


async def test_03_bad_card_is_compensated_newest_first(tmp_path, student_env, dev_server, world):
    code, output = run_as_student(copy_of_solution("03", tmp_path, flipped=True), student_env)
    timeline = await fetch_timeline(dev_server.client, "trip-03")
    assert code == 1, output
    assert timeline.status == "Failed"
    assert timeline.activities == STEPS[:4] + ["refund_payment", "cancel_car", "cancel_hotel", "cancel_flight"]
    assert audit().clean
    assert not world.payments()


# exercise, the switch as shipped, a value that cannot be meant, the start of its one line
MALFORMED = [
    ("03", 'CARD_NUMBER = "4242424242424242"', "CARD_NUMBER = 4242424242424242", "in shared.py, card_number should be text in quotes"),
    ("04", "LOST_HOTEL_REPLIES = 0", "LOST_HOTEL_REPLIES = -1", "in shared.py, LOST_HOTEL_REPLIES is -1: use a number from 0 to 10."),
    ("04", "LOST_HOTEL_REPLIES = 0", 'LOST_HOTEL_REPLIES = "2"', "in shared.py, LOST_HOTEL_REPLIES should be a whole number"),
    ("05", "EMAIL_SERVICE_DOWN = False", 'EMAIL_SERVICE_DOWN = "yes"', "in shared.py, EMAIL_SERVICE_DOWN should be True or False"),
    ("06", "REFUND_REFUSED = False", 'REFUND_REFUSED = "yes"', "in shared.py, REFUND_REFUSED should be True or False"),
    ("07", "HOTEL_FAILS_WHILE_CAR_BOOKS = False", "HOTEL_FAILS_WHILE_CAR_BOOKS = 1", "in shared.py, HOTEL_FAILS_WHILE_CAR_BOOKS should be True or False"),
    ("08", "CANCEL_WHILE_UNDOING = False", "CANCEL_WHILE_UNDOING = 1", "in shared.py, CANCEL_WHILE_UNDOING should be True or False"),
    ("09", "SLOW_HOTEL_SECONDS = 0", 'SLOW_HOTEL_SECONDS = "20"', "in shared.py, SLOW_HOTEL_SECONDS should be a whole number"),
    ("12", "TICKET_DESK_DOWN = False", "TICKET_DESK_DOWN = 1", "in shared.py, TICKET_DESK_DOWN should be True or False"),
]  # fmt: skip


@pytest.mark.parametrize("number, shipped, value, message", MALFORMED)
async def test_a_malformed_switch_gets_one_clear_line_and_books_nothing(number, shipped, value, message, tmp_path, student_env, world):
    folder = copy_of_solution(number, tmp_path, flipped=False)
    shared = folder / "shared.py"
    assert shipped in shared.read_text(), "the failure switch moved: update MALFORMED"
    shared.write_text(shared.read_text().replace(shipped, value))
    code, output = run_as_student(folder, student_env)
    assert code == 2, output
    assert message in output and "Traceback" not in output
    assert world.reservations() == []  # nothing was booked, nothing was lost


@pytest.mark.parametrize("number", [f.name[:2] for f in exercises() if (f / "practice" / "worker.py").exists()])
def test_shipped_practice_worker_starts(number, student_env):
    """Unsolved is not broken: the practice worker connects and polls, as shipped."""
    practice = exercise_dir(number) / "practice"
    worker = subprocess.Popen([sys.executable, "worker.py"], cwd=practice, env=student_env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        first_line = worker.stdout.readline()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert "Worker polling task queue" in first_line


async def test_04_lost_hotel_replies_book_a_room_per_attempt_until_the_key_is_fixed(tmp_path, student_env, dev_server, world):
    """Part A: the key as shipped (a uuid) books a room on every attempt; Part C: the fixed
    key books one, however many replies are lost."""
    practice = tmp_path / "practice"
    shutil.copytree(exercise_dir("04") / "practice", practice, ignore=shutil.ignore_patterns("__pycache__"))
    shipped, flip = SWITCHES["04"]
    (practice / "shared.py").write_text((practice / "shared.py").read_text().replace(shipped, flip))
    code, output = run_as_student(practice, student_env)
    timeline = await fetch_timeline(dev_server.client, "trip-04")
    assert code == 0, output  # booked, and yet...
    assert timeline.activities == STEPS and timeline.runs[1].attempts == 3
    rooms = [r for r in world.reservations("trip-04") if r.kind == "hotel"]
    assert [r.status for r in rooms] == ["held"] * 3  # ...a room for every attempt
    assert f"hotel {rooms[-1].id}" in output  # the itinerary names the last one only
    report = audit()
    assert report.orphans == [] and [o.id for o in report.double_bookings] == [r.id for r in rooms[:2]]
    assert "2 double booking(s)" in output

    code, output = run_as_student(copy_of_solution("04", tmp_path / "fixed", flipped=True), student_env)
    timeline = await fetch_timeline(dev_server.client, "trip-04")
    assert code == 0, output
    assert timeline.activities == STEPS and timeline.runs[1].attempts == 3
    [room] = [r for r in world.reservations("trip-04") if r.kind == "hotel"]
    assert room.status == "held" and f"hotel {room.id}" in output
    assert len(world.payments("trip-04")) == 1 and audit().clean
    hotel_calls = [key for operation, key, _ in world.journal() if operation == "book_hotel"]
    assert hotel_calls == ["trip-04:hotel"] * 3  # asked three times, under one key


AUXILIARY = ["send_confirmation_email", "award_loyalty_points"]


async def test_05_an_email_that_fails_after_the_pivot_leaves_the_trip_confirmed(tmp_path, student_env, dev_server, world):
    code, output = run_as_student(copy_of_solution("05", tmp_path / "a", flipped=False), student_env)
    timeline = await fetch_timeline(dev_server.client, "trip-05")
    assert code == 0, output
    assert timeline.status == "Completed" and timeline.activities == STEPS + AUXILIARY
    assert "notice:" not in output
    assert ("send_email", "trip-05:Ada Lovelace", True) in world.journal()

    code, output = run_as_student(copy_of_solution("05", tmp_path / "b", flipped=True), student_env)
    timeline = await fetch_timeline(dev_server.client, "trip-05")
    assert code == 0, output
    assert timeline.status == "Completed" and timeline.activities == STEPS + AUXILIARY  # nothing undone
    email = timeline.runs[len(STEPS)]
    assert (email.outcome, email.attempts) == ("failed", 3)
    assert "notice: confirmation email not sent" in output
    assert world.is_confirmed("trip-05") and audit().clean
    assert {r.status for r in world.reservations("trip-05")} == {"held"}
    assert [p.status for p in world.payments("trip-05")] == ["charged"]


UNDOS_AFTER_CAR = ["cancel_car", "cancel_hotel", "cancel_flight"]


async def test_06_a_cancel_during_the_car_undoes_everything_and_ends_canceled(tmp_path, student_env, dev_server, world):
    code, output = run_as_student(copy_of_solution("06", tmp_path / "a", flipped=False), student_env)
    timeline = await fetch_timeline(dev_server.client, "trip-06")
    assert code == 0, output
    assert timeline.status == "Completed" and timeline.activities == STEPS

    code, output = run_as_student(copy_of_solution("06", tmp_path / "b", flipped=True), student_env)
    timeline = await fetch_timeline(dev_server.client, "trip-06")
    assert code == 1, output
    assert timeline.status == "Canceled" and timeline.compensations == UNDOS_AFTER_CAR
    assert audit().clean and {r.status for r in world.reservations("trip-06")} == {"cancelled"}
    assert not world.payments("trip-06")


async def test_06_a_refused_refund_lets_the_other_undos_run_and_is_flagged(tmp_path, student_env, dev_server, world):
    folder = copy_of_solution("06", tmp_path, flipped=False)
    shared = folder / "shared.py"
    shared.write_text(shared.read_text().replace("REFUND_REFUSED = False", "REFUND_REFUSED = True"))
    code, output = run_as_student(folder, student_env)
    timeline = await fetch_timeline(dev_server.client, "trip-06")
    assert code == 1, output
    assert timeline.status == "Failed" and timeline.compensations == ["refund_payment", *UNDOS_AFTER_CAR]
    assert "flagged for manual attention" in output
    try:
        await dev_server.client.get_workflow_handle("trip-06").result()
    except WorkflowFailureError as failure:
        assert failure.cause.message.startswith("compensation failed: refund_payment (refund refused")
    else:
        raise AssertionError("trip-06 did not fail")
    report = audit()
    assert report.clean and [o.kind for o in report.flagged] == ["charge"]
    assert {r.status for r in world.reservations("trip-06")} == {"cancelled"}
    assert "trip-06" in world.flags()


async def test_07_bookings_start_together_and_the_car_in_flight_is_undone_after_it_settles(tmp_path, student_env, dev_server, world):
    code, output = run_as_student(copy_of_solution("07", tmp_path / "a", flipped=False), student_env)
    handle = dev_server.client.get_workflow_handle("trip-07")
    timeline = await fetch_timeline(dev_server.client, "trip-07")
    assert code == 0, output
    assert timeline.status == "Completed" and sorted(timeline.activities) == sorted(STEPS)
    scheduled = [e.activity_task_scheduled_event_attributes for e in (await handle.fetch_history()).events
                 if e.HasField("activity_task_scheduled_event_attributes")]  # fmt: skip
    bookings = [a for a in scheduled if a.activity_type.name in STEPS[:3]]
    assert len({a.workflow_task_completed_event_id for a in bookings}) == 1  # one workflow task
    assert world.is_confirmed("trip-07") and audit().clean

    code, output = run_as_student(copy_of_solution("07", tmp_path / "b", flipped=True), student_env)
    timeline = await fetch_timeline(dev_server.client, "trip-07")
    assert code == 1, output
    runs = {r.name: r for r in timeline.runs}
    assert timeline.status == "Failed" and runs["book_hotel"].outcome == "failed"
    assert runs["book_car"].outcome == "completed"  # the car was still in flight when the hotel failed...
    assert runs["book_hotel"].closed_event < runs["book_car"].closed_event < runs["cancel_car"].scheduled_event
    assert sorted(timeline.compensations) == ["cancel_car", "cancel_flight", "cancel_hotel"]
    assert audit().clean and {r.status for r in world.reservations("trip-07")} == {"cancelled"}  # ...and was undone


async def test_08_a_cancel_while_undoing_lets_every_undo_finish_and_ends_canceled(tmp_path, student_env, dev_server, world):
    code, output = run_as_student(copy_of_solution("08", tmp_path / "a", flipped=False), student_env)
    timeline = await fetch_timeline(dev_server.client, "trip-08")
    assert code == 0, output
    assert timeline.status == "Completed" and timeline.activities == STEPS

    code, output = run_as_student(copy_of_solution("08", tmp_path / "b", flipped=True), student_env)
    timeline = await fetch_timeline(dev_server.client, "trip-08")
    assert code == 1, output
    # The cancel arrived while cancel_car ran (the starter sends it then): it reached no undo,
    # every undo finished, newest first, and only then did the workflow end Canceled.
    car = next(r for r in timeline.runs if r.name == "cancel_car")
    history = await dev_server.client.get_workflow_handle("trip-08").fetch_history()
    [cancel] = [e.event_id for e in history.events if e.HasField("workflow_execution_cancel_requested_event_attributes")]
    assert car.scheduled_event < cancel < car.closed_event and not car.cancel_requested
    assert timeline.status == "Canceled" and timeline.compensations == ["refund_payment", *UNDOS_AFTER_CAR]
    assert all(r.outcome == "completed" for r in timeline.runs if r.compensation)
    assert audit().clean and {r.status for r in world.reservations("trip-08")} == {"cancelled"}
    assert [p.status for p in world.payments("trip-08")] == ["refunded"]


async def test_10_the_saga_under_test_books_and_a_bad_card_is_undone_as_the_tests_assert(tmp_path, student_env, dev_server, world):
    code, output = run_as_student(copy_of_solution("10", tmp_path / "a", flipped=False), student_env)
    timeline = await fetch_timeline(dev_server.client, "trip-10")
    assert code == 0, output
    assert timeline.status == "Completed"
    assert timeline.activities == STEPS + ["send_confirmation_email", "award_loyalty_points"]

    code, output = run_as_student(copy_of_solution("10", tmp_path / "b", flipped=True), student_env)
    timeline = await fetch_timeline(dev_server.client, "trip-10")
    assert code == 1, output
    # What the solution's test of a declined card asserts with mocks, in the real world.
    assert timeline.status == "Failed" and timeline.steps == STEPS[:4]
    assert timeline.compensations == ["refund_payment", "cancel_car", "cancel_hotel", "cancel_flight"]
    assert audit().clean


@pytest.mark.parametrize("target, says", [("practice", "4 passed"), ("solution", "4 passed")])
def test_10_the_readme_command_runs_the_students_tests_from_the_exercise_folder(target, says, clean_env):
    """`pytest -n 0 -q test_saga.py`, literally, from the folder (the repository's pytest
    settings apply: asyncio_mode=auto), on a test server each test starts for itself."""
    folder = exercise_dir("10") / target
    pytest_binary = str(Path(sys.executable).parent / "pytest")
    run = subprocess.run([pytest_binary, "-n", "0", "-q", "test_saga.py"], cwd=folder,
                         env=clean_env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert says in run.stdout


async def test_09_a_worker_killed_during_the_hotel_is_replaced_and_the_trip_goes_on(tmp_path, student_env, dev_server, world):
    code, output = run_as_student(copy_of_solution("09", tmp_path / "a", flipped=False), student_env)
    timeline = await fetch_timeline(dev_server.client, "trip-09")
    assert code == 0, output
    assert timeline.status == "Completed" and timeline.activities == STEPS + ["send_confirmation_email"]
    assert ("send_email", "trip-09:Ada Lovelace", True) in world.journal()

    # As the README says: once the starter names the worker running book_hotel, kill -9 it,
    # and start a new worker.
    folder = copy_of_solution("09", tmp_path / "b", flipped=True)
    workers = [subprocess.Popen([sys.executable, "worker.py"], cwd=folder, env=student_env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)]  # fmt: skip
    starter = subprocess.Popen([sys.executable, "starter.py"], cwd=folder, env=student_env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        assert "Worker polling task queue" in workers[0].stdout.readline()
        said = []
        for line in starter.stdout:
            said.append(line)
            if "kill -9" in line:
                break
        pid = int(said[-1].rsplit("kill -9 ", 1)[1])
        assert pid == workers[0].pid, "".join(said)
        os.kill(pid, signal.SIGKILL)
        assert workers[0].wait(timeout=30) == -signal.SIGKILL
        workers.append(subprocess.Popen([sys.executable, "worker.py"], cwd=folder, env=student_env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
        output = "".join(said) + starter.stdout.read()
        assert starter.wait(timeout=120) == 0, output
        # The crash is the lesson: no advice to make the hotel non-retryable.
        assert "non-retryable" not in output and "cap the retries" not in output, output
    finally:
        for process in [starter, *workers]:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
    timeline = await fetch_timeline(dev_server.client, "trip-09")
    assert timeline.status == "Completed" and timeline.activities == STEPS + ["send_confirmation_email"]
    hotel = timeline.runs[1]
    assert hotel.name == "book_hotel" and hotel.attempts == 2  # the first attempt died with the worker
    booked = [operation for operation, key, changed in world.journal() if key.startswith("trip-09:") and changed]
    assert [booked.count(op) for op in ("book_flight", "book_hotel", "book_car", "charge_card")] == [1, 1, 1, 1]
    assert world.is_confirmed("trip-09") and audit().clean
    assert "Trip booked" in output


def test_09_the_readme_replay_test_passes_and_catches_the_unpatched_email(tmp_path, clean_env):
    """The README's command, literally, from the exercise's folder (the repository's pytest
    settings apply): it passes on the solution; and a copy with the email unpatched fails it."""
    command = [sys.executable, "-m", "pytest", "test_replay.py", "-n", "0", "-q", "-p", "no:cacheprovider"]
    folder = exercise_dir("09") / "solution"
    run = subprocess.run(command, cwd=folder, env=clean_env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "1 passed" in run.stdout, run.stdout + run.stderr

    unpatched = tmp_path / "unpatched"  # outside the repository: its pytest settings don't reach here
    shutil.copytree(folder, unpatched, ignore=shutil.ignore_patterns("__pycache__"))
    workflow = unpatched / "workflow.py"
    patched = "        if workflow.patched(EMAIL_PATCH):\n            await self.send_email(trip)\n"
    assert patched in workflow.read_text()
    workflow.write_text(workflow.read_text().replace(patched, "        await self.send_email(trip)\n"))
    run = subprocess.run([*command, "-o", "asyncio_mode=auto"], cwd=unpatched, env=clean_env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 1 and "NondeterminismError" in run.stdout, run.stdout + run.stderr
