"""The usual ways a learner's code breaks become guidance, not a traceback or a hang.

Each case breaks a copy of exercise 03's solution the way a student might, then runs the
checks (what `workbook check` shows) or a real worker (what the starter shows)."""

from __future__ import annotations

import asyncio
import shutil
import uuid

import pytest
from temporalio.worker import Worker

from workbook import world as travel_world
from workbook.checks import load_suite, run_suite
from workbook.loader import exercise_dir, loaded
from workbook.report import diagnose, task_failure
from workbook.trips import example_trip

SOLUTION = exercise_dir("03") / "solution"
RUN_START = "        compensations = []  # the undos of the steps started so far, oldest first\n"


def broken_copy(tmp_path, file: str, old: str, new: str, name: str = "practice"):
    folder = tmp_path / name
    shutil.copytree(SOLUTION, folder, ignore=shutil.ignore_patterns("__pycache__"))
    path = folder / file
    assert old in path.read_text(), f"{old!r} is no longer in {file}: update this test"
    path.write_text(path.read_text().replace(old, new, 1))
    return folder


async def messages(folder, env) -> str:
    results = await run_suite(load_suite("03"), folder, env)
    assert not all(r.passed for r in results), "the broken code passed every check"
    return "\n".join(r.detail for r in results if not r.passed)


CASES = {
    # name: (file, text to replace, replacement, words the guidance must contain)
    "datetime.now() in the workflow": (
        "workflow.py", RUN_START, RUN_START + "        import datetime; print(datetime.datetime.now())\n",
        "sandbox",
    ),
    "random in the workflow": (
        "workflow.py", RUN_START, RUN_START + "        import random; print(random.random())\n",
        "workflow.random()",
    ),
    "a step not awaited": (
        "workflow.py", "flight = await workflow.execute_activity(", "flight = workflow.execute_activity(",
        "never awaited",
    ),
    "the workflow not registered": (
        "worker.py", "workflows=[BookTripWorkflow],", "workflows=[],", "not registered on the worker",
    ),
    "an activity not registered": (
        "activities.py", "    charge_payment, refund_payment, confirm_trip,\n",
        "    refund_payment, confirm_trip,\n", "charge_payment",
    ),
    "a syntax error": ("workflow.py", "compensations = []", "compensations = [", "workflow.py, line"),
    "a misspelled import": (
        "workflow.py", "book_car, book_flight,", "book_cars, book_flight,", "misspell",
    ),
    "a TODO still raising NotImplementedError": (
        "activities.py", '    world.cancel_hotel(key=key(trip, "hotel"))',
        '    raise NotImplementedError("TODO Part B: cancel the hotel")', "TODO is still waiting",
    ),
}  # fmt: skip


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited")
@pytest.mark.parametrize("case", CASES)
async def test_check_explains(case, tmp_path, env):
    file, old, new, words = CASES[case]
    folder = broken_copy(tmp_path, file, old, new)
    text = await messages(folder, env)
    assert words in text, text
    assert "Traceback" not in text


async def test_starter_explains_a_workflow_edited_while_running(tmp_path, dev_server, world):
    """Edit the workflow while a run is in progress: the new worker cannot replay the
    recorded history, its task fails over and over, and diagnose() says why."""
    world.inject("book_car", "fail")  # the run waits on book_car's retries meanwhile
    before = broken_copy(tmp_path, "workflow.py", "x", "x", name="before")
    after = broken_copy(  # the same steps in another order: the history no longer fits
        tmp_path, "workflow.py",
        "            compensations.append(cancel_flight)\n            flight = await workflow.execute_activity(book_flight, trip, **STEP)\n",
        "            compensations.append(cancel_flight)\n            flight = await workflow.execute_activity(book_flight, trip, **STEP)\n"
        "            await workflow.execute_activity(confirm_trip, trip, **STEP)\n",
        name="after",
    )  # fmt: skip
    client, queue = dev_server.client, f"edited-{uuid.uuid4()}"
    trip = example_trip(f"edited-{uuid.uuid4().hex[:6]}")
    with loaded(before) as v1:
        async with v1.worker.create_worker(client, task_queue=queue):
            handle = await client.start_workflow(v1.workflow.BookTripWorkflow.run, trip, id=trip.trip_id, task_queue=queue)
            while not any(op == "book_hotel" for op, _, _ in travel_world.journal()):
                await asyncio.sleep(0.1)
    with loaded(after) as v2:
        async with Worker(**{**v2.worker.create_worker(client, task_queue=f"{queue}-unused").config(), "task_queue": queue}):
            source = (after / "workflow.py").read_text()
            for _ in range(300):  # until the new worker has tried to replay the run
                if await task_failure(handle, source):
                    break
                await asyncio.sleep(0.1)
            reason = await diagnose(handle, source)  # what the waiting starter prints
    await handle.terminate()
    assert reason and "no longer matches its recorded history" in reason, reason


async def test_starter_explains_that_no_worker_is_polling(dev_server):
    handle = await dev_server.client.start_workflow(
        "BookTripWorkflow", example_trip(), id=f"nobody-{uuid.uuid4()}", task_queue=f"nobody-{uuid.uuid4()}"
    )
    reason = await diagnose(handle)
    await handle.terminate()
    assert reason and "is the worker running" in reason


async def test_starter_explains_an_activity_retried_again_and_again(tmp_path, dev_server, world):
    world.inject("book_flight", "fail")  # an outage that never ends
    client, queue = dev_server.client, f"retrying-{uuid.uuid4()}"
    trip = example_trip(f"retrying-{uuid.uuid4().hex[:6]}")
    with loaded(SOLUTION) as solution:
        async with solution.worker.create_worker(client, task_queue=queue):
            handle = await client.start_workflow(solution.workflow.BookTripWorkflow.run, trip, id=trip.trip_id, task_queue=queue)
            for _ in range(150):  # a worker just started may not be seen polling yet: wait for the retries
                reason = await diagnose(handle)
                if reason and "keeps retrying" in reason:
                    break
                await asyncio.sleep(0.1)
            await handle.terminate()
    assert reason and "book_flight has failed 1 time(s) and Temporal keeps retrying it" in reason, reason
