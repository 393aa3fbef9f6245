"""The load client: books the reference's 44 named scenarios (or --count N generated trips)
concurrently, shows each outcome and what was undone, then audits the world.

    python solutions/client.py                      # the 44 scenarios, seed 42
    python solutions/client.py --count 200 --concurrency 50 --seed 7

It starts an embedded dev server when none answers at localhost:7233, and runs a worker
in this process, on a travel world of its own (.workbook/client.db), unless --no-worker:
then start `python solutions/worker.py` yourself, and the run starts their world
(.workbook/solutions.db) afresh.
Exits 1 if the audit finds an orphan or a double booking.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
from collections import Counter
from dataclasses import dataclass, field

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from scenarios import Scenario, generated, named
from seed import SEED_FILE, describe, fresh_world, load_seed, use_capstone_world
from shared import TASK_QUEUE
from workbook import terminal, world
from workbook.audit import audit
from workbook.timeline import fetch_timeline, root_cause
from workflow import TravelBookingWorkflow

console = terminal.console(highlight=False)
OWN_WORLD = ".workbook/client.db"  # the world of a run with its own worker, unless WORKBOOK_DB says otherwise
STEP_NAMES = {"book_flight": "flight", "book_hotel": "hotel", "book_car": "car", "book_partner_car": "car", "charge_payment": "payment",
              "confirm_trip": "confirmation", "store_booking_request": "request"}  # fmt: skip


@dataclass
class Outcome:
    scenario: Scenario
    status: str  # the workflow's final status: Completed, Failed, ...
    failed_step: str = ""  # the first step that failed, e.g. "book_hotel"
    reason: str = ""
    undos: list[str] = field(default_factory=list)  # compensations run, in order
    notices: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """The outcome's class in the summary."""
        if self.status == "Completed":
            return "success" + (" (with a notice)" if self.notices else "")
        step = STEP_NAMES.get(self.failed_step, self.failed_step or "?")
        return f"{step} failed; undone: {', '.join(self.undos) or 'nothing'}"


async def book(client: Client, scenario: Scenario, task_queue: str = TASK_QUEUE) -> Outcome:
    for operation in scenario.outages:  # this trip meets a service that stays down
        world.inject(operation, "fail", scope=scenario.request.trip_id)
    trip_id = scenario.request.trip_id
    try:
        handle = await through_outages(
            lambda: client.start_workflow(TravelBookingWorkflow.run, scenario.request, id=trip_id, task_queue=task_queue)
        )
    except WorkflowAlreadyStartedError:  # an attempt the server took before it went away
        handle = client.get_workflow_handle(trip_id)
    status, reason, notices, failed_step = "Completed", "", [], ""
    try:
        notices = (await through_outages(handle.result)).notices
    except WorkflowFailureError as failure:
        reason, failed_step = root_cause(failure), failing_step(failure)
    timeline = await through_outages(lambda: fetch_timeline(client, handle.id))
    status = timeline.status
    if status != "Completed" and not failed_step:  # no step's error ended it: the first that failed
        failed_step = next((r.name for r in timeline.runs if not r.compensation and r.outcome != "completed"), "")
    undos = [run.name for run in timeline.runs if run.compensation]
    return Outcome(scenario, status, failed_step, reason, undos, notices)


def failing_step(failure: BaseException) -> str:
    """The step whose error failed the trip. Not merely the first that failed: the car
    rental may fail and the partner desk book the car, and then the card be refused."""
    error = failure.__cause__
    while error is not None and not isinstance(error, ActivityError):
        error = error.__cause__
    return error.activity_type if error is not None else ""


SERVER_AWAY = (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED)


async def through_outages(call, patience: float = 60.0):
    """``await call()``, called again while the server is away (restarting, say) for up to
    ``patience`` seconds: the SDK's own retries give up after a few seconds, and the trip's
    workflow goes on without us meanwhile. Any other error is raised at once."""
    deadline = asyncio.get_running_loop().time() + patience
    while True:
        try:
            return await call()
        except RPCError as err:
            away = err.status in SERVER_AWAY or "transport error" in err.message  # the connection dropped
            if not away or asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


def line(number: int, total: int, outcome: Outcome, seed) -> str:
    request = outcome.scenario.request
    route = f"{_city(seed, request.origin):<15} → {_city(seed, request.destination):<15}"
    head = f"[{number:>{len(str(total))}}/{total}] {outcome.scenario.name:<20} | {route} | {request.day}"
    if outcome.status == "Completed":
        return f"{head}  ✅ SUCCESS" + "".join(f" (notice: {n})" for n in outcome.notices)
    step = STEP_NAMES.get(outcome.failed_step, outcome.failed_step)
    return f"{head}  ❌ FAILED at {step}: {outcome.reason}"


def _city(seed, airport: str) -> str:
    with contextlib.suppress(world.UnknownItem):
        return seed.city(airport)
    return airport


async def run_load(
    client: Client, scenarios: list[Scenario], concurrency: int, task_queue: str = TASK_QUEUE, done: list | None = None
) -> list[Outcome]:
    """Book every scenario, ``concurrency`` at a time; each outcome is also appended to
    ``done`` as it lands (chaos.py watches it)."""
    done = [] if done is None else done
    gate = asyncio.Semaphore(concurrency)
    columns = (TextColumn("booking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("booking", total=len(scenarios))

        async def one(scenario: Scenario) -> Outcome:
            async with gate:
                outcome = await book(client, scenario, task_queue)
            progress.advance(task)
            done.append(outcome)
            return outcome

        return await asyncio.gather(*(one(s) for s in scenarios))


def summarize(outcomes: list[Outcome], seed) -> bool:
    for number, outcome in enumerate(outcomes, 1):
        console.print(line(number, len(outcomes), outcome, seed), soft_wrap=True)
    console.print("\n[bold]RESULTS[/]")
    for kind, count in sorted(Counter(o.kind for o in outcomes).items(), key=lambda kv: (-kv[1], kv[0])):
        console.print(f"  {count:>4}  {kind}", soft_wrap=True)
    report = audit()
    console.print(report)
    lost = [o.scenario.name for o in outcomes if o.status not in ("Completed", "Failed")]
    if lost:
        console.print(f"[red]{len(lost)} trip(s) ended neither booked nor undone: {', '.join(lost)}[/]")
    clean = report.clean and not lost
    console.print("zero orphans" if clean else "[red]ORPHANS LEFT: see the audit above[/]")
    return clean


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, help="book N generated trips instead of the 44 named scenarios")
    parser.add_argument("--concurrency", type=int, default=20, help="bookings in flight at once (default 20)")
    parser.add_argument("--seed", type=int, default=42, help="the seed that draws trips and outages")
    parser.add_argument("--no-worker", action="store_true", help="use workers started elsewhere")
    parser.add_argument("--task-queue", default=TASK_QUEUE, help=f"the workers' queue (default {TASK_QUEUE})")
    parser.add_argument("--no-partner", dest="partner", action="store_false",
                        help="no trip takes the partner desk's car: a car the car rental cannot book undoes the trip")  # fmt: skip
    args = parser.parse_args(argv)
    if args.count is not None and args.count < 1 or args.concurrency < 1:
        parser.error("--count and --concurrency must be at least 1")

    seed, rng = load_seed(SEED_FILE), random.Random(args.seed)
    scenarios = generated(seed, args.count, rng) if args.count else named(seed, rng)
    for scenario in scenarios:
        scenario.request.partner_car_ok = args.partner
    if args.no_worker:  # the workers elsewhere book in the capstone's world: this run starts it afresh
        use_capstone_world()
        console.print(f"Starting the travel world {world.db_path()} afresh: what was booked there "
                      "before (by api.py, say) is forgotten.")  # fmt: skip
    else:  # a world of its own, so an API running beside it keeps its trips
        os.environ.setdefault(world.DB_ENV_VAR, str(world.REPO_ROOT / OWN_WORLD))
    # The worker in this process would log every outage it meets: this run tells each
    # trip's story itself, below the progress bar.
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    fresh_world(seed)
    console.print(describe(seed))
    from codec import data_converter
    from worker import create_worker
    from workbook.server import connect_or_start

    async with connect_or_start(announce=console.print, data_converter=data_converter()) as client:
        worker = contextlib.nullcontext() if args.no_worker else create_worker(client, args.task_queue)
        async with worker:
            outcomes = await run_load(client, scenarios, args.concurrency, args.task_queue)
    return 0 if summarize(outcomes, seed) else 1


if __name__ == "__main__":
    from workbook.entry import run_and_exit

    run_and_exit(main)
