"""The capstone's worker: loads the seed into the travel world (unless it is there already)
and runs the booking workflow and its activities. Run as many as you like on one task
queue, on one machine or many: Temporal shares the work out."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from activities import ALL_ACTIVITIES, SEED
from observability import CountUndos
from seed import describe, ensure_world
from shared import TASK_QUEUE
from workflow import TravelBookingWorkflow

ACTIVITY_THREADS = 32  # the activities wait on the world's database, on threads


def create_worker(client: Client, task_queue: str = TASK_QUEUE, **options) -> Worker:
    options["interceptors"] = [CountUndos(), *options.get("interceptors", ())]  # the undo counters
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

    import prometheus_client

    from codec import data_converter
    from observability import REGISTRY, tracing_interceptor
    from workbook.server import connect, metrics_runtime

    parser = argparse.ArgumentParser(description="Run the capstone's worker (start as many as you like).")
    parser.add_argument("--task-queue", default=TASK_QUEUE, help=f"the queue to poll (default {TASK_QUEUE})")
    parser.add_argument("--metrics-port", type=int, help="serve the SDK's metrics on PORT, the bookings' on PORT+1")
    parser.add_argument("--trace", metavar="FILE", help="write OpenTelemetry spans to FILE (JSON lines)")
    args = parser.parse_args()
    connect_options = {"data_converter": data_converter()}  # payloads encrypted (codec.py)
    if args.metrics_port:
        connect_options["runtime"] = metrics_runtime(f"0.0.0.0:{args.metrics_port}")
        prometheus_client.start_http_server(args.metrics_port + 1, registry=REGISTRY)
        print(f"Metrics: http://localhost:{args.metrics_port}/metrics (Temporal SDK), "
              f"http://localhost:{args.metrics_port + 1}/metrics (bookings)")  # fmt: skip
    if args.trace:
        connect_options["interceptors"] = [tracing_interceptor(args.trace)]
    prepare_world()
    worker = create_worker(await connect(**connect_options), args.task_queue)
    print(f"Worker polling task queue {args.task_queue!r}. Press Ctrl+C to stop.", flush=True)
    await worker.run()


if __name__ == "__main__":
    from workbook.entry import run_and_exit

    run_and_exit(main)
