"""The benchmark: what the saga's bookkeeping costs. 1,000 bookings of the capstone's
TravelBookingWorkflow, 1,000 at once, against as many of a plain workflow that does the
same world work without compensation (plain_workflow.py), on local dev servers.

    python solutions/benchmark.py                   # 1,000 of each, 1,000 at once
    python solutions/benchmark.py --bookings 200 --rounds 3

The two take turns (plain, saga, plain, saga... with --rounds), so a machine that gets
busier or quieter meanwhile does not favour one. Each run has a fresh dev server, its own
task queue and a fresh world with plenty of stock and no outages: every trip is booked. Targets:
the saga reaches 0.9x the plain workflow's bookings/s, and its bookings finish in 40 s.
Exits 1 if a target is missed or the audit after a saga run finds an orphan.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import AsyncIterator

from rich.console import Console
from rich.table import Table
from temporalio.client import Client, WorkflowFailureError
from temporalio.plugin import SimplePlugin
from temporalio.worker import Worker

from plain_workflow import PlainBookingWorkflow
from scenarios import generated
from seed import Seed, fresh_world, load_seed
from shared import BookingRequest
from worker import create_worker
from workbook import world
from workbook.audit import audit
from workbook.server import start_local_dev_server
from workbook.timeline import root_cause
from workflow import TravelBookingWorkflow

console = Console(highlight=False)
WORLD_FILE = world.REPO_ROOT / ".workbook" / "benchmark.db"  # never the client's own world
WORKER_OPTIONS: dict = {}  # beyond create_worker's own settings; the same for both workflows
PLENTY = 100_000  # seats, rooms and cars per item: no trip fails for lack of stock


@dataclass
class Runs:
    """One workflow's timed runs."""

    name: str
    seconds: list[float] = field(default_factory=list)
    bookings: int = 0

    @property
    def rate(self) -> float:
        return self.bookings / sum(self.seconds)


def stocked_world(seed: Seed) -> None:
    """A fresh world holding the seed, with plenty of everything, no outages, no slow desks."""
    fresh_world(seed)
    flights, rooms, cars = seed.inventory()
    world.load_inventory(
        flights=[(*f[:5], PLENTY) for f in flights],
        hotel_rooms=[(*r[:5], PLENTY) for r in rooms],
        cars=[(*c[:3], PLENTY) for c in cars],
    )


def plain_worker(client: Client, task_queue: str, **options) -> Worker:
    """The capstone's worker, every setting as it is, running the plain workflow instead
    of the saga (a plugin may replace the workflows a worker was given)."""
    instead = SimplePlugin("plain-workflow", workflows=lambda _saga: [PlainBookingWorkflow])
    return create_worker(client, task_queue, plugins=[instead], **options)


async def book_all(client: Client, run, requests: list[BookingRequest], concurrency: int, task_queue: str) -> float:
    """Seconds from the first start to the last result. Only start and result are timed:
    no history is fetched per trip, as the load client does to print what was undone."""
    gate = asyncio.Semaphore(concurrency)

    async def one(request: BookingRequest) -> None:
        async with gate:
            try:
                await client.execute_workflow(run, request, id=request.trip_id, task_queue=task_queue)
            except WorkflowFailureError as failure:  # e.g. a step out of attempts on a starved machine
                console.print(f"  {request.trip_id} failed: {root_cause(failure)}", soft_wrap=True)

    started = time.perf_counter()
    await asyncio.gather(*(one(r) for r in requests))
    return time.perf_counter() - started


async def timed_run(client: Client, kind: str, requests: list[BookingRequest], args, seed: Seed) -> float:
    """One run: a fresh world, a worker on a queue of its own, every booking; seconds."""
    stocked_world(seed)
    task_queue = f"benchmark-{kind}-{uuid.uuid4().hex[:8]}"
    # Fresh trip ids: each run's workflows and world rows are its own.
    requests = [dataclasses.replace(r, trip_id=f"{task_queue}-{r.trip_id}") for r in requests]
    if kind == "saga":
        worker, run = create_worker(client, task_queue, **WORKER_OPTIONS), TravelBookingWorkflow.run
    else:
        worker, run = plain_worker(client, task_queue, **WORKER_OPTIONS), PlainBookingWorkflow.run
    async with worker:
        return await book_all(client, run, requests, args.concurrency, task_queue)


def report(plain: Runs, saga: Runs, args) -> tuple[bool, bool]:
    table = Table(title=f"{args.bookings} bookings per run, {args.concurrency} at once, {args.rounds} round(s)")
    for column in ("workflow", "bookings", "seconds", "bookings/s"):
        table.add_column(column, justify="left" if column == "workflow" else "right")
    for runs in (plain, saga):
        seconds = " + ".join(f"{s:.1f}" for s in runs.seconds)
        table.add_row(runs.name, str(runs.bookings), seconds, f"{runs.rate:.1f}")
    console.print(table)
    ratio = saga.rate / plain.rate
    fast_enough, slowest = ratio >= args.min_ratio, max(saga.seconds)
    in_time = slowest <= args.max_seconds
    console.print(f"saga/plain: {ratio:.2f}x (target >= {args.min_ratio}x): {'met' if fast_enough else 'MISSED'}")
    console.print(
        f"{args.bookings} saga bookings in {slowest:.1f} s, the slowest round "
        f"(target <= {args.max_seconds:g} s): {'met' if in_time else 'MISSED'}"
    )
    return fast_enough, in_time


@asynccontextmanager
async def server_for_one_run(client: Client | None) -> AsyncIterator[Client]:
    """``client`` if given (a test's server); else a fresh local dev server for one run, shut
    down after it. Fresh, so that no run meets a server still holding the last run's 1,000
    histories: on one shared server, the run that went first came out ahead in 3 of 4 pairs."""
    if client is not None:
        yield client
        return
    environment = await start_local_dev_server()
    try:
        yield environment.client
    finally:
        await environment.shutdown()


async def main(argv: list[str] | None = None, client: Client | None = None) -> int:
    """``client``: a server to run on (a test's); else a fresh local dev server per run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bookings", type=int, default=1000, help="bookings per run (default 1000)")
    parser.add_argument("--concurrency", type=int, help="bookings in flight at once (default: all of them)")
    parser.add_argument("--rounds", type=int, default=1, help="plain-then-saga rounds (default 1)")
    parser.add_argument("--min-ratio", type=float, default=0.9, help="target saga/plain (default 0.9)")
    parser.add_argument("--max-seconds", type=float, default=40.0, help="target for a saga run (default 40)")
    parser.add_argument("--world", default=str(WORLD_FILE), help=f"the world file (default {WORLD_FILE})")
    parser.add_argument("--seed", type=int, default=1, help="the seed that draws the trips")
    args = parser.parse_args(argv)
    args.concurrency = args.concurrency or args.bookings
    os.environ[world.DB_ENV_VAR] = args.world  # read at every world call: the worker's too
    seed = load_seed()
    requests = [s.request for s in generated(seed, args.bookings, random.Random(args.seed))]  # no outages injected
    plain, saga, clean = Runs("plain"), Runs("saga"), True
    for round_number in range(1, args.rounds + 1):
        for runs in (plain, saga):
            console.print(f"round {round_number}: {args.bookings} {runs.name} bookings...")
            async with server_for_one_run(client) as run_client:
                runs.seconds.append(await timed_run(run_client, runs.name, requests, args, seed))
            runs.bookings += args.bookings
        found = audit()  # after the saga run, before the next run's fresh world
        clean = clean and found.clean and found.confirmed_trips == args.bookings
        console.print(f"  audit: {len(found.orphans)} orphans, {found.confirmed_trips} of {args.bookings} trips booked")
    fast_enough, in_time = report(plain, saga, args)
    console.print("zero orphans" if clean else "[red]ORPHANS LEFT, or trips not booked: see the audit above[/]")
    return 0 if fast_enough and in_time and clean else 1


if __name__ == "__main__":
    from workbook.entry import run_and_exit

    run_and_exit(main)
