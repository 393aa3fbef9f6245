"""End to end, as a student: the real worker.py and starter.py as separate processes
against a dev server, once as shipped and once with the failure switch flipped in a
copy of shared.py. Asserts exit codes, the travel world and the event history."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workbook.audit import audit
from workbook.loader import exercise_dir
from workbook.timeline import fetch_timeline

STEPS = ["book_flight", "book_hotel", "book_car", "charge_payment", "confirm_trip"]
# exercise: (failure switch: the shipped line and the flipped line, the expected story)
SWITCHES = {
    "03": (
        'CARD_NUMBER = "4242424242424242"',
        'CARD_NUMBER = "424242424242424"',
        STEPS[:4] + ["refund_payment", "cancel_car", "cancel_hotel", "cancel_flight"],
    ),
}


def copy_of_solution(number: str, tmp_path: Path) -> Path:
    folder = tmp_path / "solution"
    shutil.copytree(exercise_dir(number) / "solution", folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def flip(folder: Path, shipped: str, flipped: str) -> None:
    shared = folder / "shared.py"
    assert shipped in shared.read_text(), "the failure switch moved: update SWITCHES"
    shared.write_text(shared.read_text().replace(shipped, flipped))


async def run_as_student(folder: Path, env: dict, client) -> tuple[int, str, object]:
    """Start worker.py, run starter.py to the end, stop the worker."""
    worker = subprocess.Popen([sys.executable, "worker.py"], cwd=folder, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        starter = subprocess.run([sys.executable, "starter.py"], cwd=folder, env=env,
                                 capture_output=True, text=True, timeout=120)  # fmt: skip
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    shared = (folder / "shared.py").read_text()
    workflow_id = shared.split('WORKFLOW_ID = "')[1].split('"')[0]
    return starter.returncode, starter.stdout + starter.stderr, await fetch_timeline(client, workflow_id)


@pytest.mark.parametrize("number", SWITCHES)
async def test_shipped_solution_books_the_trip(number, tmp_path, clean_env, dev_server):
    env = dict(clean_env, TEMPORAL_ADDRESS=dev_server.client.service_client.config.target_host)
    code, output, timeline = await run_as_student(copy_of_solution(number, tmp_path), env, dev_server.client)
    assert code == 0, output
    assert timeline.status == "Completed"
    assert timeline.activities == STEPS
    assert audit().clean
    assert "Trip booked" in output


@pytest.mark.parametrize("number", SWITCHES)
async def test_failure_switch_tells_the_exercise_story(number, tmp_path, clean_env, dev_server, world):
    shipped, flipped, story = SWITCHES[number]
    folder = copy_of_solution(number, tmp_path)
    flip(folder, shipped, flipped)
    env = dict(clean_env, TEMPORAL_ADDRESS=dev_server.client.service_client.config.target_host)
    code, output, timeline = await run_as_student(folder, env, dev_server.client)
    assert code == 1, output
    assert timeline.status == "Failed"
    assert timeline.activities == story
    assert audit().clean
    assert not world.payments()
