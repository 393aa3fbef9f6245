"""The benchmark: what the saga's bookkeeping costs, and what Temporal itself costs. 1,000
bookings of the capstone's TravelBookingWorkflow, 1,000 at once, against as many of two
yardsticks (plain_workflow.py): a plain workflow that does the same world work without
compensation, and a no-op workflow of the same shape whose activities do nothing. All on
local dev servers, with the capstone's encrypted payloads.

    python solutions/benchmark.py                   # 1,000 of each, 1,000 at once
    python solutions/benchmark.py --bookings 200 --rounds 3
    python solutions/benchmark.py --growth 100,1000,5000   # rates and memory as the load grows
    python solutions/benchmark.py --growth 5000 --kinds saga --window 10   # one kind, its rate over time

The three take turns (no-op, plain, saga, no-op... with --rounds), so a machine that gets
busier or quieter meanwhile does not favour one. Each run has a fresh dev server, its own
task queue and a fresh world with plenty of stock and no outages: every trip is booked.
Targets: the saga reaches 0.9x the plain workflow's bookings/s and 0.8x the no-op's, and its
bookings finish in 40 s. Exits 1 if a target is missed or the audit after a saga run finds
an orphan. Each run also reports the peak memory (resident) of the worker (this process)
and of the dev server. Each run's row is printed as soon as it ends (the table after all of
them), so a run cut short by a time limit still leaves the figures of the runs it finished;
--window S adds each run's completions per S seconds, to see whether the rate holds up.
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
from pathlib import Path
from typing import AsyncIterator

from rich.table import Table
from temporalio.client import Client, WorkflowFailureError
from temporalio.plugin import SimplePlugin
from temporalio.worker import Worker

from codec import secured
from plain_workflow import NoopBookingWorkflow, PlainBookingWorkflow, do_nothing
from scenarios import generated
from seed import Seed, fresh_world, load_seed
from shared import BookingRequest
from worker import create_worker
from workbook import terminal, world
from workbook.audit import audit
from workbook.server import start_local_dev_server
from workbook.timeline import root_cause
from workflow import TravelBookingWorkflow

console = terminal.console(highlight=False)
WORLD_FILE = world.REPO_ROOT / ".workbook" / "benchmark.db"  # never the client's own world
WORKER_OPTIONS: dict = {}  # beyond create_worker's own settings; the same for both workflows
PLENTY = 100_000  # seats, rooms and cars per item: no trip fails for lack of stock


@dataclass
class Run:
    """One timed run of one workflow."""

    kind: str
    bookings: int
    seconds: float
    worker_mb: float  # the peak resident memory of this process (the worker and the client)
    server_mb: float  # and of the dev server, while the run lasted
    finished: list[float] = field(default_factory=list)  # when each booking ended, seconds into the run

    @property
    def rate(self) -> float:
        return self.bookings / self.seconds

    def row(self) -> tuple[str, ...]:
        """The run's row of the table."""
        return (self.kind, str(self.bookings), f"{self.seconds:.1f}", f"{self.rate:.1f}",
                f"{self.worker_mb:.0f}", f"{self.server_mb:.0f}")  # fmt: skip

    def windows(self, seconds: float) -> list[int]:
        """How many bookings ended in each window of ``seconds``, from the run's start."""
        counts = [0] * (int(self.seconds // seconds) + 1)
        for moment in self.finished:
            counts[min(int(moment // seconds), len(counts) - 1)] += 1
        return counts


COLUMNS = ("workflow", "bookings", "seconds", "bookings/s", "worker MB", "server MB")


def rate(runs: list[Run], kind: str) -> float:
    """A kind's bookings per second over all its runs."""
    mine = [r for r in runs if r.kind == kind]
    return sum(r.bookings for r in mine) / sum(r.seconds for r in mine)


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


def noop_worker(client: Client, task_queue: str, **options) -> Worker:
    """The same worker running the no-op workflow and its one do-nothing activity."""
    instead = SimplePlugin("noop-workflow", workflows=lambda _saga: [NoopBookingWorkflow],
                           activities=lambda _world: [do_nothing])  # fmt: skip
    return create_worker(client, task_queue, plugins=[instead], **options)


KINDS = {  # what each run starts: its worker and its workflow
    "no-op": (noop_worker, NoopBookingWorkflow.run),
    "plain": (plain_worker, PlainBookingWorkflow.run),
    "saga": (create_worker, TravelBookingWorkflow.run),
}


async def book_all(
    client: Client, run, requests: list[BookingRequest], concurrency: int, task_queue: str, finished: list[float]
) -> float:
    """Seconds from the first start to the last result; ``finished`` gets the moment each
    booking ended. Only start and result are timed: no history is fetched per trip, as the
    load client does to print what was undone."""
    gate = asyncio.Semaphore(concurrency)

    async def one(request: BookingRequest) -> None:
        async with gate:
            try:
                await client.execute_workflow(run, request, id=request.trip_id, task_queue=task_queue)
            except WorkflowFailureError as failure:  # e.g. a step out of attempts on a starved machine
                console.print(f"  {request.trip_id} failed: {root_cause(failure)}", soft_wrap=True)
            finished.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one(r) for r in requests))
    return time.perf_counter() - started


async def timed_run(client: Client, kind: str, requests: list[BookingRequest], args, seed: Seed) -> Run:
    """One run: a fresh world, a worker on a queue of its own, every booking."""
    stocked_world(seed)
    task_queue = f"benchmark-{kind}-{uuid.uuid4().hex[:8]}"
    # Fresh trip ids: each run's workflows and world rows are its own.
    requests = [dataclasses.replace(r, trip_id=f"{task_queue}-{r.trip_id}") for r in requests]
    make_worker, workflow_run = KINDS[kind]
    peaks = {"worker": 0.0, "server": 0.0}
    finished: list[float] = []
    sampling = asyncio.ensure_future(_sample_memory(peaks))
    try:
        async with make_worker(client, task_queue, **WORKER_OPTIONS):
            concurrency = min(args.concurrency, len(requests))
            seconds = await book_all(client, workflow_run, requests, concurrency, task_queue, finished)
    finally:
        sampling.cancel()
    return Run(kind, len(requests), seconds, peaks["worker"], peaks["server"], finished)


def print_run(run: Run, window: float | None) -> None:
    """One run's row, as soon as it ends: the figures survive a benchmark cut short."""
    console.print("  " + ", ".join(f"{name} {value}" for name, value in zip(COLUMNS, run.row())), soft_wrap=True)
    if window:
        console.print(f"  ended per {window:g} s: {' '.join(map(str, run.windows(window)))}", soft_wrap=True)


def _resident_mb(pid: int | str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _server_pids() -> list[int]:
    """This process's children that are Temporal dev servers."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == os.getpid() and b"temporal" in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


async def _sample_memory(peaks: dict[str, float]) -> None:
    """Keep the highest resident memory seen of this process and of its dev server (Linux:
    /proc; elsewhere it reads 0)."""
    while True:
        peaks["worker"] = max(peaks["worker"], _resident_mb("self"))
        peaks["server"] = max(peaks["server"], sum(_resident_mb(pid) for pid in _server_pids()))
        await asyncio.sleep(0.25)


def ratios(runs: list[Run], size: int) -> str:
    here = [r for r in runs if r.bookings == size]
    kinds = {r.kind for r in here}
    found = [f"saga/{base} {rate(here, 'saga') / rate(here, base):.2f}x" for base in ("plain", "no-op")
             if {"saga", base} <= kinds]  # fmt: skip
    return f"{size} bookings: {', '.join(found) or 'no ratio (it takes a saga run and a yardstick run)'}"


def report(runs: list[Run], args) -> tuple[bool, bool]:
    """The table, the ratios and the targets. True, True when both targets are met."""
    table = Table(title=f"bookings per run: {', '.join(sorted({str(r.bookings) for r in runs}, key=int))}, "
                        f"at most {args.concurrency} at once")  # fmt: skip
    for column in COLUMNS:
        table.add_column(column, justify="left" if column == "workflow" else "right")
    for run in sorted(runs, key=lambda r: (r.bookings, list(KINDS).index(r.kind))):
        table.add_row(*run.row())
    console.print(table)
    for size in sorted({r.bookings for r in runs}):
        console.print(ratios(runs, size))
    kinds, judged, fast_enough = {r.kind for r in runs}, [], True
    for base, target in (("plain", args.min_ratio), ("no-op", args.min_noop_ratio)):
        if {"saga", base} <= kinds:  # with --kinds, a target whose runs did not run is not judged
            ratio = rate(runs, "saga") / rate(runs, base)
            fast_enough = fast_enough and ratio >= target
            judged.append(f"saga/{base}: {ratio:.2f}x (target >= {target}x)")
    if judged:
        console.print(f"{', '.join(judged)}: {'met' if fast_enough else 'MISSED'}")
    saga_seconds = [r.seconds for r in runs if r.kind == "saga" and r.bookings == args.bookings]
    slowest = max(saga_seconds, default=0) if not args.growth else 0
    in_time = slowest <= args.max_seconds
    if saga_seconds and not args.growth:
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
    parser.add_argument("--rounds", type=int, default=1, help="no-op, plain, saga rounds (default 1)")
    parser.add_argument("--growth", help="instead: one round at each of these sizes, e.g. 100,1000,5000")
    parser.add_argument("--min-ratio", type=float, default=0.9, help="target saga/plain (default 0.9)")
    parser.add_argument("--min-noop-ratio", type=float, default=0.8, help="target saga/no-op (default 0.8)")
    parser.add_argument("--max-seconds", type=float, default=40.0, help="target for a saga run (default 40)")
    parser.add_argument("--world", default=str(WORLD_FILE), help=f"the world file (default {WORLD_FILE})")
    parser.add_argument("--seed", type=int, default=1, help="the seed that draws the trips")
    parser.add_argument("--window", type=float, help="also print each run's bookings ended per WINDOW seconds")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"the workflows to run, of {','.join(KINDS)} (default all)")
    args = parser.parse_args(argv)
    kinds = [kind for kind in KINDS if kind in args.kinds.split(",")]  # in their usual turn
    if not kinds or set(args.kinds.split(",")) - set(KINDS):
        parser.error(f"--kinds: choose from {', '.join(KINDS)}, e.g. --kinds saga")
    sizes = [int(n) for n in args.growth.split(",")] if args.growth else [args.bookings] * args.rounds
    args.concurrency = args.concurrency or (1000 if args.growth else args.bookings)
    os.environ[world.DB_ENV_VAR] = args.world  # read at every world call: the worker's too
    seed = load_seed()
    runs: list[Run] = []
    clean = True
    for number, size in enumerate(sizes, 1):
        requests = [s.request for s in generated(seed, size, random.Random(args.seed))]  # no outages injected
        for kind in kinds:
            console.print(f"round {number}: {size} {kind} bookings...")
            async with server_for_one_run(client) as run_client:
                runs.append(await timed_run(secured(run_client), kind, requests, args, seed))
            print_run(runs[-1], args.window)
        if kinds[-1] != "no-op":  # after the round's last run (the saga's), before the next run's fresh world
            found = audit()
            clean = clean and found.clean and found.confirmed_trips == size
            console.print(f"  audit: {len(found.orphans)} orphans, {found.confirmed_trips} of {size} trips booked")
        console.print(f"  {ratios(runs[-len(kinds):], size)}")  # this round's, before the next begins
    fast_enough, in_time = report(runs, args)
    console.print("zero orphans" if clean else "[red]ORPHANS LEFT, or trips not booked: see the audit above[/]")
    return 0 if fast_enough and in_time and clean else 1


if __name__ == "__main__":
    from workbook.entry import run_and_exit

    run_and_exit(main)
