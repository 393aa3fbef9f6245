"""The capstone's worker: loads the seed into the travel world (unless it is there already)
and runs the booking workflow and its activities. Run as many as you like on one task
queue, on one machine or many: Temporal shares the work out."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from activities import ALL_ACTIVITIES, SEED
from seed import describe, ensure_world
from shared import TASK_QUEUE
from workflow import TravelBookingWorkflow

ACTIVITY_THREADS = 32  # the activities wait on the world's database, on threads


def create_worker(client: Client, task_queue: str = TASK_QUEUE, **options) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[TravelBookingWorkflow],
        activities=ALL_ACTIVITIES,
        activity_executor=ThreadPoolExecutor(max_workers=ACTIVITY_THREADS),
        max_concurrent_activities=ACTIVITY_THREADS,
        # A workflow's next task waits this long for this worker before any worker may take
        # it: short, so a worker that died (chaos.py) holds up its trips for a second only.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),
        **options,
    )


def prepare_world() -> None:
    ensure_world(SEED)
    print(describe(SEED), flush=True)


async def main() -> None:
    import argparse

    from workbook.server import connect

    parser = argparse.ArgumentParser(description="Run the capstone's worker (start as many as you like).")
    parser.add_argument("--task-queue", default=TASK_QUEUE, help=f"the queue to poll (default {TASK_QUEUE})")
    task_queue = parser.parse_args().task_queue
    prepare_world()
    worker = create_worker(await connect(), task_queue)
    print(f"Worker polling task queue {task_queue!r}. Press Ctrl+C to stop.", flush=True)
    await worker.run()


if __name__ == "__main__":
    from workbook.entry import run_and_exit

    run_and_exit(main)
