"""The chaos run: book many trips while the worker is killed (SIGKILL) again and again and
started again, then audit: 0 orphans, 0 double bookings, 0 lost trips. Every trip that was
started must end booked or undone (or handed to a person), whatever happened to the worker.

    python solutions/chaos.py                       # 500 bookings, 10 kills
    python solutions/chaos.py --bookings 60 --kills 3

The worker is a separate process (`python solutions/worker.py`), as in production; this
script is the load client and the one who pulls the plug. Hotels and cars are slow for
some trips (a third, half a second to two seconds), so kills land in the middle of sagas.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

from client import console, run_load
from scenarios import generated
from seed import describe, fresh_world, load_seed
from workbook import world
from workbook.audit import audit

HERE = Path(__file__).resolve().parent
OWN_WORLD = ".workbook/chaos.db"  # unless WORKBOOK_DB says otherwise: the workers it starts inherit it


def start_worker(address: str, task_queue: str) -> subprocess.Popen:
    env = dict(os.environ, TEMPORAL_ADDRESS=address)
    return subprocess.Popen(
        [sys.executable, str(HERE / "worker.py"), "--task-queue", task_queue],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def pull_the_plug(address: str, task_queue: str, kills: int, done, total: int, rng: random.Random) -> int:
    """Kill the worker ``kills`` times while bookings are in flight, each time at a random
    moment between two marks of progress, and start a new one at once. Returns the kills."""
    worker, killed = start_worker(address, task_queue), 0
    try:
        for n in range(kills):
            mark = total * (n + rng.uniform(0.3, 0.9)) / (kills + 1)
            while len(done) < mark:
                await asyncio.sleep(0.05)
            if len(done) >= total:
                break
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            killed += 1
            console.print(f"  kill -9 worker (pid {worker.pid}) with {len(done)}/{total} trips done; starting another")
            worker = start_worker(address, task_queue)
        while len(done) < total:
            await asyncio.sleep(0.1)
    finally:
        worker.terminate()
        worker.wait()
    return killed


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bookings", type=int, default=500)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    from codec import data_converter
    from workbook.server import connect_or_start

    seed, rng = load_seed(), random.Random(args.seed)
    os.environ.setdefault(world.DB_ENV_VAR, str(world.REPO_ROOT / OWN_WORLD))  # not an API's world
    fresh_world(seed)
    console.print(describe(seed))
    # Plenty of stock, so trips fail only where a service is down: the audit is the point.
    flights, rooms, cars = seed.inventory()
    world.load_inventory(hotel_rooms=[(*r[:5], 10_000) for r in rooms], cars=[(*c[:3], 10_000) for c in cars])
    for operation in ("book_hotel", "book_car"):
        world.inject(operation, "slow", rate=0.33, seed=f"{args.seed}-{operation}", seconds=rng.uniform(0.5, 2.0))
    scenarios = generated(seed, args.bookings, rng)
    task_queue = f"chaos-{uuid.uuid4().hex[:8]}"
    async with connect_or_start(announce=console.print, data_converter=data_converter()) as client:
        address = client.service_client.config.target_host
        done: list = []
        console.print(f"Booking {args.bookings} trips, {args.concurrency} at a time, killing the worker {args.kills} times")
        outcomes_task = asyncio.ensure_future(run_load(client, scenarios, args.concurrency, task_queue, done=done))
        killed = await pull_the_plug(address, task_queue, args.kills, done, args.bookings, rng)
        outcomes = await outcomes_task
    report = audit()
    lost = [o.scenario.name for o in outcomes if o.status not in ("Completed", "Failed")]
    counts = Counter("booked" if o.status == "Completed" else "undone" for o in outcomes)
    console.print(
        f"\n{len(outcomes)} bookings, {killed} kills: {counts['booked']} booked, {counts['undone']} undone, "
        f"{len(report.flagged)} flagged; {len(report.orphans)} orphans, "
        f"{len(report.double_bookings)} double bookings, {len(lost)} lost trips"
    )
    clean = report.clean and not lost and killed == args.kills
    console.print("zero orphans, zero double bookings, zero lost trips" if clean else "[red]NOT CLEAN[/]")
    return 0 if clean else 1


if __name__ == "__main__":
    from workbook.entry import run_and_exit

    run_and_exit(main)
