"""The chaos run: book many trips while things go wrong under them, then audit: 0 orphans,
0 double bookings, 0 lost trips. Every trip that was started must end booked or undone
(or handed to a person), whatever happened to the workers, the server or the database.

    python solutions/chaos.py                       # 500 bookings, 10 kills
    python solutions/chaos.py --bookings 60 --kills 3
    python solutions/chaos.py --bookings 200 --kills 2 --zombies 2 --server-restarts 1 --busy-world 2

The faults, each at a random moment while bookings are in flight:

* kill: a worker process is killed with SIGKILL and another is started at once;
* zombie: a worker is frozen (SIGSTOP) for longer than its heartbeat timeout, while a
  second worker takes its work over, then thawed (SIGCONT): its stale attempts finish
  after another attempt did the work, and must not book anything twice;
* server restart: the dev server (this run's own, keeping its history in a file) is
  stopped and started again on the same port and file;
* busy world: the travel world's database is locked for seconds (BEGIN EXCLUSIVE), so
  every desk waits, some past their timeouts.

The workers are separate processes (`python solutions/worker.py`), as in production; this
script is the load client and the one who pulls the plugs. Hotels and cars are slow for
some trips (a third, half a second to two seconds), so faults land in the middle of sagas.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import uuid
from collections import Counter
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

from client import console, run_load
from scenarios import generated
from seed import describe, fresh_world, load_seed
from workbook import world
from workbook.audit import audit

HERE = Path(__file__).resolve().parent
OWN_WORLD = ".workbook/chaos.db"  # unless WORKBOOK_DB says otherwise: the workers it starts inherit it
ZOMBIE_SECONDS = 4.0  # frozen longer than the 2 s heartbeat timeout, and the 1 s sticky queue's
BUSY_SECONDS = 3.0  # the world's database locked this long


class Workers:
    """The worker processes: a second one runs beside the first when one may be frozen."""

    def __init__(self, address: str, task_queue: str, count: int):
        self.address, self.task_queue = address, task_queue
        self.processes = [self._start() for _ in range(count)]

    def _start(self) -> subprocess.Popen:
        env = dict(os.environ, TEMPORAL_ADDRESS=self.address)
        return subprocess.Popen(
            [sys.executable, str(HERE / "worker.py"), "--task-queue", self.task_queue],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def kill(self, rng: random.Random) -> int:
        """kill -9 one worker, start another in its place; the killed one's pid."""
        index = rng.randrange(len(self.processes))
        victim = self.processes[index]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        self.processes[index] = self._start()
        return victim.pid

    async def freeze(self, rng: random.Random, seconds: float) -> int:
        """SIGSTOP one worker for ``seconds``, then SIGCONT; its pid."""
        victim = self.processes[rng.randrange(len(self.processes))]
        victim.send_signal(signal.SIGSTOP)
        try:
            await asyncio.sleep(seconds)
        finally:
            victim.send_signal(signal.SIGCONT)
        return victim.pid

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGCONT)  # a frozen process cannot hear SIGTERM
            process.terminate()
        for process in self.processes:
            process.wait()


class OwnServer:
    """A dev server of this run's own, its history in a file, so it can be restarted."""

    def __init__(self, folder: Path):
        from workbook.server import dev_server_command, free_port

        self.port, ui_port = free_port(), free_port()
        self.command = dev_server_command(self.port, ui_port, folder / "temporal.db")
        self.address = f"127.0.0.1:{self.port}"
        self.process = self._start()

    def _start(self) -> subprocess.Popen:
        return subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)  # fmt: skip

    async def restart(self) -> None:
        """Stop it (SIGTERM, as a deploy would) and start it again on the same port and file."""
        self.process.terminate()
        await asyncio.to_thread(self.process.wait)
        self.process = self._start()
        await _until_it_answers(self.address)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


async def _until_it_answers(address: str, within: float = 30.0) -> None:
    from workbook.server import ServerUnreachable, connect

    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            await connect(timeout=2, target_host=address)
            return
        except ServerUnreachable:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


def lock_the_world(seconds: float) -> None:
    """Hold the world's database with an exclusive lock for ``seconds``: every desk waits."""
    conn = sqlite3.connect(world.db_path(), timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        threading.Event().wait(seconds)
        conn.execute("COMMIT")
    finally:
        conn.close()


async def pull_the_plugs(faults: list[str], workers: Workers, server: OwnServer | None, load: asyncio.Future,
                         done, total: int, rng: random.Random) -> Counter:  # fmt: skip
    """Each fault in ``faults`` at a random moment between two marks of progress, while the
    ``load`` runs. Returns how many of each happened (one due after the load ended does not)."""
    happened: Counter = Counter()
    for n, fault in enumerate(faults):
        mark = total * (n + rng.uniform(0.3, 0.9)) / (len(faults) + 1)
        while len(done) < mark and not load.done():
            await asyncio.sleep(0.05)
        if load.done():
            break
        progress = f"with {len(done)}/{total} trips done"
        if fault == "kill":
            pid = workers.kill(rng)
            console.print(f"  kill -9 worker (pid {pid}) {progress}; starting another")
        elif fault == "zombie":
            console.print(f"  freezing a worker (SIGSTOP) for {ZOMBIE_SECONDS:g} s {progress}")
            pid = await workers.freeze(rng, ZOMBIE_SECONDS)
            console.print(f"  thawed worker {pid} (SIGCONT): its stale attempts finish now")
        elif fault == "restart":
            console.print(f"  restarting the dev server {progress}")
            await server.restart()
            console.print("  the dev server is back, with its history")
        else:
            console.print(f"  locking the travel world's database for {BUSY_SECONDS:g} s {progress}")
            await asyncio.to_thread(lock_the_world, BUSY_SECONDS)
        happened[fault] += 1
    await asyncio.wait({load})
    return happened


@asynccontextmanager
async def a_server(own: bool) -> AsyncIterator[tuple[object, OwnServer | None]]:
    """A client (with the capstone's encrypting data converter), and this run's own server
    when it must be restartable; else the configured one (or an embedded one)."""
    from codec import data_converter
    from workbook.server import connect, connect_or_start

    if not own:
        async with connect_or_start(announce=console.print, data_converter=data_converter()) as client:
            yield client, None
        return
    with tempfile.TemporaryDirectory(prefix="chaos-server-") as folder:
        server = OwnServer(Path(folder))
        try:
            await _until_it_answers(server.address)
            yield await connect(target_host=server.address, data_converter=data_converter()), server
        finally:
            server.stop()


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bookings", type=int, default=500)
    parser.add_argument("--kills", type=int, default=10, help="workers killed with SIGKILL (default 10)")
    parser.add_argument("--zombies", type=int, default=0, help="workers frozen past their heartbeat timeout")
    parser.add_argument("--server-restarts", type=int, default=0, help="restarts of the dev server (this run's own)")
    parser.add_argument("--busy-world", type=int, default=0, help=f"times the world's database is locked for {BUSY_SECONDS:g} s")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-partner", dest="partner", action="store_false", help="no trip takes the partner desk's car")
    args = parser.parse_args(argv)
    # A SIGTERM (timeout, a CI's cancel) stops the run as Ctrl-C does, so the workers and the
    # dev server it started are stopped too, not left running.
    signal.signal(signal.SIGTERM, signal.default_int_handler)

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
    for scenario in scenarios:
        scenario.request.partner_car_ok = args.partner
    faults = (["kill"] * args.kills + ["zombie"] * args.zombies + ["restart"] * args.server_restarts
              + ["busy"] * args.busy_world)  # fmt: skip
    rng.shuffle(faults)
    task_queue = f"chaos-{uuid.uuid4().hex[:8]}"
    async with a_server(own=args.server_restarts > 0) as (client, server):
        address = server.address if server else client.service_client.config.target_host
        workers = Workers(address, task_queue, 2 if args.zombies else 1)
        done: list = []
        console.print(f"Booking {args.bookings} trips, {args.concurrency} at a time, with "
                      f"{', '.join(f'{n} {NAMES[f][n != 1]}' for f, n in Counter(faults).items()) or 'no faults'}")  # fmt: skip
        try:
            outcomes_task = asyncio.ensure_future(run_load(client, scenarios, args.concurrency, task_queue, done=done))
            happened = await pull_the_plugs(faults, workers, server, outcomes_task, done, args.bookings, rng)
            outcomes = await outcomes_task
        finally:
            workers.stop()
    report = audit()
    lost = [o.scenario.name for o in outcomes if o.status not in ("Completed", "Failed")]
    counts = Counter("booked" if o.status == "Completed" else "undone" for o in outcomes)
    what = ", ".join(f"{happened[f]} {NAMES[f][happened[f] != 1]}" for f in NAMES if f in faults) or "no faults"
    console.print(
        f"\n{len(outcomes)} bookings, {what}: {counts['booked']} booked, {counts['undone']} undone, "
        f"{len(report.flagged)} flagged; {len(report.orphans)} orphans, "
        f"{len(report.double_bookings)} double bookings, {len(lost)} lost trips"
    )
    clean = report.clean and not lost and sum(happened.values()) == len(faults)
    console.print("zero orphans, zero double bookings, zero lost trips" if clean else "[red]NOT CLEAN[/]")
    return 0 if clean else 1


NAMES = {"kill": ("kill", "kills"), "zombie": ("zombie", "zombies"), "restart": ("server restart", "server restarts"),
         "busy": ("busy world", "busy worlds")}  # fmt: skip


if __name__ == "__main__":
    from workbook.entry import run_and_exit

    run_and_exit(main)
