"""The capstone (solutions/): its world at the reference's size, safe under concurrency,
and every named scenario of the load client, judged from the world and from history."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import pytest_asyncio

from workbook import world
from workbook.audit import audit
from workbook.loader import loaded
from workbook.timeline import fetch_timeline
from workbook.world import REPO_ROOT

SOLUTIONS = REPO_ROOT / "solutions"
MODULES = ("shared", "seed", "scenarios", "observability", "activities", "workflow", "worker", "codec", "client")


@pytest.fixture
def capstone(world):
    """solutions/'s modules, on this test's fresh world holding the seed."""
    with loaded(SOLUTIONS, MODULES) as modules:
        modules.seed.fresh_world(modules.seed.load_seed())
        yield modules


def test_the_seed_has_the_reference_sizes(capstone):
    seed = capstone.seed.load_seed()
    assert seed.summary() == {
        "airports": 12, "flight routes": 12, "flight instances": 720,
        "hotels": 8, "hotel rooms": 60, "rental cars": 32,
    }  # fmt: skip
    flights, rooms, cars = seed.inventory()
    assert len({f[0] for f in flights}) == 720 * 3  # every instance in three cabins
    assert sum(r[5] for r in rooms) == 60 * 60 and sum(c[3] for c in cars) == 32 * 60  # each day's stock
    assert capstone.seed.ensure_world(seed) is False  # loaded once: a restarted worker keeps what is booked


def test_no_double_booking_under_1000_concurrent_trips(world):
    """1,000 trips at once want one of 40 seats, 12 rooms and 6 cars: each is sold once."""
    world.load_inventory(
        flights=[("CC1", "SFO", "JFK", "2027-01-20", 10000, 40)],
        hotel_rooms=[("busy", "Busy Hotel", "New York", "standard", 10000, 12)],
        cars=[("New York", "economy", 5000, 6)],
    )  # fmt: skip

    def trip(n: int) -> None:
        trip_id = f"rush-{n}"
        for book in (
            lambda: world.book_flight(trip_id, "CC1", key=f"{trip_id}:flight"),
            lambda: world.book_hotel(trip_id, "busy", "standard", 1, key=f"{trip_id}:hotel"),
            lambda: world.book_car(trip_id, "economy", 1, key=f"{trip_id}:car"),
        ):
            try:
                book()
            except world.NoAvailability:
                pass

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(trip, range(1000)))
    held = [r for r in world.reservations() if r.status == "held"]
    assert sorted(r.kind for r in held).count("flight") == 40
    assert sorted(r.kind for r in held).count("hotel") == 12
    assert sorted(r.kind for r in held).count("car") == 6
    assert world.available("flight", "CC1") == world.available("hotel", "busy/standard") == 0
    assert world.available("car", "New York/economy") == 0
    assert len({r.trip_id for r in held if r.kind == "flight"}) == 40  # one seat per trip


# The named failures of the reference: where each fails, and the undos that ran, newest
# first (every undo is registered before its step, so the failed step's own undo runs
# too: it finds nothing and changes nothing).
HOTEL_CHAIN = ["cancel_car", "cancel_hotel", "cancel_flight"]
BAD_CARS = ("Limousine-Fail", "SportsCar-Fail", "Convertible-Fail", "LuxurySUV-Fail", "Electric-Fail")
EXPECTED = {
    "EarlyDate-Fail": ("book_flight", ["cancel_flight"]),
    "LateDate-Fail": ("book_flight", ["cancel_flight"]),
    "BadRoute-Fail": ("book_flight", ["cancel_flight"]),
    **{name: ("book_hotel", HOTEL_CHAIN) for name in ("Presidential-Suite", "Penthouse-Fail", "Oceanview-Fail",
                                                       "ExecutiveSuite-Fail", "DeluxeKing-Fail")},  # fmt: skip
    **{name: ("book_car", HOTEL_CHAIN) for name in ("Limousine-Fail", "SportsCar-Fail", "Convertible-Fail",
                                                     "LuxurySUV-Fail", "Electric-Fail")},  # fmt: skip
    "PaymentFail-Test": ("charge_payment", ["refund_payment", *HOTEL_CHAIN]),
}


@pytest_asyncio.fixture(scope="module")
async def the_44(tmp_path_factory, dev_server):
    """The 44 named scenarios of the load client, booked at once on the dev server with
    their outages, as `python solutions/client.py` books them; then the audit."""
    from workbook import world

    with pytest.MonkeyPatch.context() as patch:  # module-scoped: the world fixture is per test
        patch.setenv(world.DB_ENV_VAR, str(tmp_path_factory.mktemp("capstone") / "world.db"))
        with loaded(SOLUTIONS, MODULES) as modules:
            seed = modules.seed.load_seed()
            modules.seed.fresh_world(seed)
            scenarios = modules.scenarios.named(seed, random.Random(42))
            task_queue = f"capstone-{uuid.uuid4()}"
            async with modules.worker.create_worker(dev_server.client, task_queue):
                outcomes = await modules.client.run_load(dev_server.client, scenarios, 44, task_queue)
            lines = {o.scenario.name: modules.client.line(n, 44, o, seed) for n, o in enumerate(outcomes, 1)}
            statuses = {o.scenario.name: {r.status for r in world.reservations(o.scenario.request.trip_id)} for o in outcomes}
            the_44_ran.update({o.scenario.name: (await fetch_timeline(dev_server.client, o.scenario.request.trip_id)).runs
                               for o in outcomes})  # fmt: skip
            the_44_cars.update({o.scenario.name: [r for r in world.reservations(o.scenario.request.trip_id)
                                                  if r.kind == "car" and r.status in world.HOLDING] for o in outcomes})  # fmt: skip
            return {o.scenario.name: o for o in outcomes}, audit(), statuses, lines


the_44_ran: dict = {}  # per scenario, the activities its timeline ran (filled by the_44)
the_44_cars: dict = {}  # per scenario, the cars its trip holds at the end


@pytest.mark.parametrize("name", list(EXPECTED))
def test_named_scenario(the_44, name):
    outcomes, *_ = the_44
    outcome = outcomes[name]
    failed_step, undos = EXPECTED[name]
    assert (outcome.status, outcome.failed_step, outcome.undos) == ("Failed", failed_step, undos), outcome.reason


def test_the_44_end_with_zero_orphans(the_44):
    outcomes, report, *_ = the_44
    assert len(outcomes) == 44
    assert report.clean and not report.double_bookings, str(report)
    confirmed = [o for o in outcomes.values() if o.status == "Completed"]
    assert report.confirmed_trips == len(confirmed) > 0
    assert {o.status for o in outcomes.values()} <= {"Completed", "Failed"}  # none lost
    for outcome in outcomes.values():  # a valid trip fails only where one of its services is down, or sold out
        if outcome.status == "Failed" and outcome.scenario.name.startswith("Customer-"):
            down = {"book_hotel": "book_hotel", "book_car": "book_car", "charge_payment": "charge_card"}
            assert down.get(outcome.failed_step) in outcome.scenario.outages or "left" in outcome.reason, outcome


def test_a_car_rental_outage_books_the_partners_car(the_44):
    """A valid trip whose car rental is down (and nothing else) is booked, with the partner
    desk's car, and holds that one car only (exercise 12's fallback, the capstone's default)."""
    outcomes, *_ = the_44
    only_the_car = [o for name, o in outcomes.items() if name.startswith("Customer-") and o.scenario.outages == ["book_car"]]
    assert only_the_car, "seed 42 draws no trip whose car rental alone is down"
    for outcome in only_the_car:
        name = outcome.scenario.name
        assert outcome.status == "Completed", (name, outcome.reason)
        assert [r.outcome for r in the_44_ran[name] if r.name == "book_partner_car"] == ["completed"], name
        assert [c.item.startswith(world.PARTNER) for c in the_44_cars[name]] == [True], the_44_cars[name]
    for name, outcome in outcomes.items():
        if outcome.status == "Completed":
            assert len(the_44_cars[name]) == 1, (name, the_44_cars[name])  # one car, from one desk


def test_a_car_nobody_rents_is_not_asked_of_the_partner(the_44):
    """The car rental says it rents no such car, or, while its breaker is open, its catalogue
    does: the partner, which rents the same types, is never asked, whatever other trips met."""
    outcomes, *_ = the_44
    for name in BAD_CARS:
        assert not [r for r in the_44_ran[name] if r.name == "book_partner_car"], name
        assert [r.error_type for r in the_44_ran[name] if r.name == "book_car"] == ["UnknownItem"], name
        assert not the_44_cars[name], the_44_cars[name]  # undone


async def test_a_trip_that_declines_the_partner_is_undone_when_the_car_rental_cannot_book(capstone, dev_server):
    """`client.py --no-partner`: the car rental down for good undoes the trip, and the
    partner desk is never asked."""
    seed = capstone.seed.load_seed()
    (scenario,) = capstone.scenarios.generated(seed, 1, random.Random(7))
    scenario.request.partner_car_ok, scenario.outages = False, ["book_car"]
    task_queue = f"capstone-no-partner-{uuid.uuid4()}"
    async with capstone.worker.create_worker(dev_server.client, task_queue):
        outcome = await capstone.client.book(dev_server.client, scenario, task_queue)
    assert (outcome.status, outcome.failed_step, outcome.undos) == ("Failed", "book_car", HOTEL_CHAIN), outcome
    runs = (await fetch_timeline(dev_server.client, scenario.request.trip_id)).runs
    assert "book_partner_car" not in [r.name for r in runs]


def test_bookings_are_pending_until_the_confirm_step(the_44):
    """Exercise 11's semantic lock: a booked trip's flight, hotel and car were confirmed by
    its confirm step; an undone trip's were released while still pending (none confirmed)."""
    outcomes, _, statuses, _ = the_44
    for name, outcome in outcomes.items():
        if outcome.status == "Completed":
            assert statuses[name] == {"confirmed"}, (name, statuses[name])
        else:
            assert statuses[name] <= {"cancelled"}, (name, statuses[name])


def test_readme_shows_what_the_client_prints(the_44):
    """The README's lines for named scenarios are what the client prints for them (the
    valid trips' outcomes depend on races for the last car, so they are not compared)."""
    *_, lines = the_44
    shown = [line for line in (SOLUTIONS / "README.md").read_text().splitlines() if line.startswith("[")]
    named = [line for line in shown if line.split()[2 if line[1] == " " else 1] in EXPECTED]
    assert len(named) >= 5
    for line in named:
        name = line.split()[2 if line[1] == " " else 1]
        assert line == lines[name]
    # Stock is counted per day, so seed 42's outcomes do not depend on timing: the summary too.
    outcomes, *_ = the_44
    text = (SOLUTIONS / "README.md").read_text()
    summary = text[text.index("RESULTS\n") + 8 : text.index("Audit:")].splitlines()
    counts = Counter(o.kind for o in outcomes.values())
    assert {line.split(None, 1)[1]: int(line.split()[0]) for line in summary} == counts


async def test_two_worker_processes_share_the_work(clean_env, dev_server):
    """Scaling out the Temporal way: two `python solutions/worker.py` processes on one task
    queue, one load client; both workers run activities, and every trip ends booked."""
    import subprocess
    import sys

    from temporalio.api.enums.v1 import EventType

    task_queue = f"two-workers-{uuid.uuid4()}"
    env = dict(clean_env, TEMPORAL_ADDRESS=dev_server.client.service_client.config.target_host)
    with loaded(SOLUTIONS, MODULES) as modules:
        seed = modules.seed.load_seed()
        modules.seed.fresh_world(seed)
        workers = [
            subprocess.Popen([sys.executable, "worker.py", "--task-queue", task_queue], cwd=SOLUTIONS, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
            for _ in range(2)
        ]
        try:
            said = ["", ""]
            for index, worker in enumerate(workers):  # both poll before the load starts: no head start
                while "Worker polling task queue" not in said[index]:
                    line = await asyncio.wait_for(asyncio.to_thread(worker.stdout.readline), 60)
                    assert line, f"worker {index} ended:\n{said[index]}"
                    said[index] += line
            scenarios = modules.scenarios.generated(seed, 24, random.Random(3))
            for scenario in scenarios:
                scenario.outages = []
            # The workers encrypt what they write (codec.py): the load client must hold the key too.
            client = modules.codec.secured(dev_server.client)
            outcomes = await modules.client.run_load(client, scenarios, 24, task_queue)
        finally:
            for worker in workers:
                worker.terminate()
            printed = [said[i] + workers[i].communicate(timeout=30)[0] for i in range(len(workers))]
    assert all("720 flight instances" in text for text in printed), printed  # each says what it loaded
    assert {o.status for o in outcomes} <= {"Completed", "Failed"} and audit().clean
    identities = set()
    for outcome in outcomes:
        handle = dev_server.client.get_workflow_handle(outcome.scenario.request.trip_id)
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                identities.add(event.activity_task_started_event_attributes.identity)
    assert {str(w.pid) for w in workers} == {identity.split("@")[0] for identity in identities}


async def test_small_chaos_run_ends_clean(world, dev_server, monkeypatch, capsys):
    """chaos.py, small: 60 bookings while a worker process is killed (SIGKILL) twice, one is
    frozen past its heartbeat timeout and thawed, the dev server restarts and the world's
    database is locked for seconds; every trip ends booked or undone, with nothing orphaned
    or booked twice, and every fault happened."""
    monkeypatch.setenv("TEMPORAL_ADDRESS", dev_server.client.service_client.config.target_host)
    faults = ["--kills", "2", "--zombies", "1", "--server-restarts", "1", "--busy-world", "1"]
    with loaded(SOLUTIONS, (*MODULES, "chaos")) as modules:
        code = await modules.chaos.main(["--bookings", "60", *faults, "--concurrency", "20"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert printed.count("kill -9 worker") == 2
    assert "thawed worker" in printed and "the dev server is back" in printed
    assert "locking the travel world's database" in printed
    assert "2 kills, 1 zombie, 1 server restart, 1 busy world:" in " ".join(printed.split()), printed
    report = audit()
    assert report.clean and not report.double_bookings, str(report)  # no trip holds two cars either
    assert len({r.trip_id for r in world.reservations()}) > 50  # the trips really ran against this world
    assert [r for r in world.reservations() if r.item.startswith(world.PARTNER)], "no trip went to the partner desk"


def test_the_saga_helper_is_exercise_08s():
    """solutions/saga.py is exercise 08's solution, unchanged (its README says so)."""
    lesson = REPO_ROOT / "exercises" / "08-saga-helper" / "solution" / "saga.py"
    assert (SOLUTIONS / "saga.py").read_text() == lesson.read_text()


async def test_tracing_follows_one_trip_across_client_workflow_and_activities(capstone, dev_server, tmp_path):
    """With the SDK's OpenTelemetry interceptor (observability.tracing_interceptor), one
    trip is one trace: its start, its workflow and each of its activities, in one file."""
    import json

    from temporalio.client import Client

    spans_file = tmp_path / "spans.jsonl"
    interceptor = capstone.observability.tracing_interceptor(str(spans_file))
    client = Client(dev_server.client.service_client, interceptors=[interceptor])
    seed, task_queue = capstone.seed.load_seed(), f"traced-{uuid.uuid4()}"
    scenario = capstone.scenarios.generated(seed, 1, random.Random(5))[0]
    scenario.outages = []
    async with capstone.worker.create_worker(client, task_queue):
        outcome = await capstone.client.book(client, scenario, task_queue)
    assert outcome.status == "Completed", outcome
    spans = [json.loads(line) for line in spans_file.read_text().splitlines()]
    names = {span["name"] for span in spans}
    assert {"StartWorkflow:TravelBookingWorkflow", "RunWorkflow:TravelBookingWorkflow"} <= names
    for step in ("book_flight", "book_hotel", "book_car", "charge_payment", "confirm_trip"):
        assert f"RunActivity:{step}" in names, names
    assert len({span["context"]["trace_id"] for span in spans}) == 1  # one trip, one trace
