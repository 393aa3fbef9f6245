"""The worker: polls the task queue and runs the workflow and its activities.

Kill it in the middle of a trip (kill -9: no goodbye, no cleanup) and start it again:
nothing was lost, because the workflow's progress lives in the Temporal server's event
history, not in this process. The new worker replays that history to rebuild the
workflow, and goes on from the step that was cut short.
"""

from workbook.entry import run_and_exit  # first: a typo in the files below is said in one line

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from activities import ALL_ACTIVITIES
from shared import TASK_QUEUE
from workbook.server import connect
from workflow import BookTripWorkflow


def create_worker(client: Client, task_queue: str = TASK_QUEUE) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[BookTripWorkflow],
        activities=ALL_ACTIVITIES,
        # The activities are plain functions that wait on the travel world's database,
        # so they run on threads and never block the worker's event loop.
        activity_executor=ThreadPoolExecutor(max_workers=8),
        # A worker keeps the workflows it runs in memory, and Temporal sends their next
        # task to it first. When it died, that task moves to any worker after this long
        # (10 s by default): a crashed worker holds its trips back for 2 s at most.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=2),
    )


async def main() -> None:
    worker = create_worker(await connect())
    print(f"Worker polling task queue {TASK_QUEUE!r} (process {os.getpid()}). Press Ctrl+C to stop.", flush=True)
    await worker.run()


if __name__ == "__main__":
    run_and_exit(main)
