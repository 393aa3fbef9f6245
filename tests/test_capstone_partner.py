"""The capstone with exercise 12's partner car desk (`client.py --partner`, `chaos.py
--partner`): every trip accepts the partner's car when the car rental cannot book one, and
the car rental sits behind a circuit breaker in each worker process. The 44 named scenarios
and a small chaos run still end with zero orphans and nothing booked twice.

(Without --partner the capstone books as before: tests/test_solutions.py judges that.)
"""

from __future__ import annotations

import random
import uuid

import pytest
import pytest_asyncio

from workbook import world
from workbook.audit import audit
from workbook.loader import loaded
from workbook.timeline import fetch_timeline
from workbook.world import REPO_ROOT

SOLUTIONS = REPO_ROOT / "solutions"
MODULES = ("shared", "seed", "scenarios", "observability", "activities", "workflow", "worker", "codec", "client")
BAD_CARS = ("Limousine-Fail", "SportsCar-Fail", "Convertible-Fail", "LuxurySUV-Fail", "Electric-Fail")


@pytest_asyncio.fixture(scope="module")
async def the_44_with_the_partner(tmp_path_factory, dev_server):
    """The 44 named scenarios, booked at once as `python solutions/client.py --partner` books
    them; each outcome with the activities its timeline ran, then the audit."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(world.DB_ENV_VAR, str(tmp_path_factory.mktemp("capstone-partner") / "world.db"))
        with loaded(SOLUTIONS, MODULES) as modules:
            seed = modules.seed.load_seed()
            modules.seed.fresh_world(seed)
            scenarios = modules.scenarios.named(seed, random.Random(42))
            for scenario in scenarios:
                scenario.request.partner_car_ok = True
            task_queue = f"capstone-partner-{uuid.uuid4()}"
            async with modules.worker.create_worker(dev_server.client, task_queue):
                outcomes = await modules.client.run_load(dev_server.client, scenarios, 44, task_queue)
            ran = {o.scenario.name: (await fetch_timeline(dev_server.client, o.scenario.request.trip_id)).runs for o in outcomes}
            cars = {o.scenario.name: [r for r in world.reservations(o.scenario.request.trip_id) if r.kind == "car" and r.status in world.HOLDING]
                    for o in outcomes}  # fmt: skip
            return {o.scenario.name: o for o in outcomes}, ran, cars, audit()


def test_the_44_with_the_partner_end_with_zero_orphans(the_44_with_the_partner):
    outcomes, ran, cars, report = the_44_with_the_partner
    assert len(outcomes) == 44
    assert report.clean and not report.double_bookings, str(report)
    assert {o.status for o in outcomes.values()} <= {"Completed", "Failed"}  # none lost
    for name, outcome in outcomes.items():
        if outcome.status == "Completed":
            assert len(cars[name]) == 1, (name, cars[name])  # one car, from one desk


def test_a_car_rental_outage_books_the_partners_car(the_44_with_the_partner):
    """A valid trip whose car rental is down (and nothing else) is booked, with the partner's car."""
    outcomes, ran, cars, _ = the_44_with_the_partner
    only_the_car = [o for name, o in outcomes.items() if name.startswith("Customer-") and o.scenario.outages == ["book_car"]]
    assert only_the_car, "seed 42 draws no trip whose car rental alone is down"
    for outcome in only_the_car:
        name = outcome.scenario.name
        assert outcome.status == "Completed", (name, outcome.reason)
        assert [r.outcome for r in ran[name] if r.name == "book_partner_car"] == ["completed"], name
        assert cars[name][0].item.startswith(world.PARTNER), cars[name]


def test_a_car_nobody_rents_is_not_asked_of_the_partner(the_44_with_the_partner):
    """The car rental says it rents no such car: the partner is not asked. (While the
    breaker is open the car rental is not called, so the partner is asked, and says so.)"""
    outcomes, ran, cars, _ = the_44_with_the_partner
    for name in BAD_CARS:
        assert outcomes[name].status == "Failed" and outcomes[name].failed_step == "book_car", outcomes[name]
        car = [r for r in ran[name] if r.name == "book_car"][-1]
        partner = [r for r in ran[name] if r.name == "book_partner_car"]
        if car.error_type == "UnknownItem":
            assert not partner, name
        else:
            assert [r.error_type for r in partner] == ["UnknownItem"], (name, car)  # the breaker skipped the car rental
        assert not cars[name], cars[name]  # undone


async def test_small_chaos_run_with_the_partner_ends_clean(world, dev_server, monkeypatch, capsys):
    """chaos.py --partner, small: 60 bookings while a worker is killed (SIGKILL) twice; every
    trip ends booked or undone, with nothing orphaned and no trip holding two cars."""
    monkeypatch.setenv("TEMPORAL_ADDRESS", dev_server.client.service_client.config.target_host)
    with loaded(SOLUTIONS, (*MODULES, "chaos")) as modules:
        code = await modules.chaos.main(["--bookings", "60", "--kills", "2", "--concurrency", "20", "--partner"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert printed.count("kill -9 worker") == 2
    report = audit()
    assert report.clean and not report.double_bookings, str(report)
    partner_cars = [r for r in world.reservations() if r.kind == "car" and r.item.startswith(world.PARTNER)]
    assert partner_cars, "no trip of the chaos run went to the partner desk"
