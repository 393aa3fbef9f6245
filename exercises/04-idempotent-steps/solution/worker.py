"""The worker: polls the task queue and runs the workflow and its activities."""

from workbook.entry import run_and_exit  # first: a typo in the files below is said in one line

from concurrent.futures import ThreadPoolExecutor

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
    )


async def main() -> None:
    worker = create_worker(await connect())
    print(f"Worker polling task queue {TASK_QUEUE!r}. Press Ctrl+C to stop.", flush=True)
    await worker.run()


if __name__ == "__main__":
    run_and_exit(main)
