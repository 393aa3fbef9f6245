"""The load client's trips: the reference's 44 named scenarios, or N generated ones.

Everything is drawn from one seed, so the same seed tells the same story: the same trips,
and the same services down for the same trips. An outage here is a service that stays
down for that trip through all of a step's attempts, so the trip is undone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from seed import Seed
from shared import FORCE_PAYMENT_FAIL, BookingRequest

# The reference's rates: how often a valid trip meets a service that stays down.
OUTAGE_RATES = {"book_hotel": 0.25, "book_car": 0.40, "charge_card": 0.10}
CABIN_WEIGHTS = {"economy": 8, "business": 2, "first": 1}
BAD_ROOMS = {"Presidential-Suite": "presidential", "Penthouse-Fail": "penthouse", "Oceanview-Fail": "oceanview",
             "ExecutiveSuite-Fail": "executive suite", "DeluxeKing-Fail": "deluxe king"}  # fmt: skip
BAD_CARS = {"Limousine-Fail": "limousine", "SportsCar-Fail": "sports car", "Convertible-Fail": "convertible",
            "LuxurySUV-Fail": "luxury suv", "Electric-Fail": "electric"}  # fmt: skip


@dataclass
class Scenario:
    name: str  # the customer's name, which names the scenario
    request: BookingRequest
    outages: list[str] = field(default_factory=list)  # world operations down for this trip


def valid_trip(seed: Seed, rng: random.Random, number: int, name: str) -> BookingRequest:
    route = rng.choice(seed.data["routes"])
    city = seed.city(route["destination"])
    # Customers ask for what there is most of: a sold-out suite happens, but not every time.
    fleet = {c["type"]: c["count"] for c in seed.data["cars"] if c["city"] == city}
    rooms = next(h["rooms"] for h in seed.data["hotels"] if h["city"] == city)
    return BookingRequest(
        trip_id=f"booking-{name}-{number:03d}",
        customer=name,
        origin=route["origin"],
        destination=route["destination"],
        day=rng.choice(seed.days),
        cabin=rng.choices(list(CABIN_WEIGHTS), weights=list(CABIN_WEIGHTS.values()))[0],
        room_type=rng.choices(list(rooms), weights=[r["count"] for r in rooms.values()])[0],
        nights=rng.randint(1, 6),
        car_type=rng.choices(list(fleet), weights=list(fleet.values()))[0],
        rental_days=rng.randint(1, 6),
    )


def with_outages(scenario: Scenario, rng: random.Random) -> Scenario:
    scenario.outages = [op for op, rate in OUTAGE_RATES.items() if rng.random() < rate]
    return scenario


def generated(seed: Seed, count: int, rng: random.Random, start: int = 1) -> list[Scenario]:
    scenarios = []
    for number in range(start, start + count):
        name = f"Customer-{number:03d}"
        scenarios.append(with_outages(Scenario(name, valid_trip(seed, rng, number, name)), rng))
    return scenarios


def named(seed: Seed, rng: random.Random) -> list[Scenario]:
    """The reference's 44: 30 valid trips with random outages, then the failures it names."""
    scenarios = generated(seed, 30, rng)
    number = 30

    def failing(name: str, **changes) -> Scenario:
        nonlocal number
        number += 1
        request = valid_trip(seed, rng, number, name)
        # What the scenario does not test is what is easiest to get: it fails where its name says.
        request.cabin, request.room_type, request.car_type = "economy", "standard", "economy"
        for attribute, value in changes.items():
            setattr(request, attribute, value)
        return Scenario(name, request)  # no random outages: it fails where its name says

    first, last = seed.days[0], seed.days[-1]
    scenarios += [
        failing("EarlyDate-Fail", origin="SFO", destination="JFK", day=_shift(first, -7)),
        failing("LateDate-Fail", origin="LAX", destination="MIA", day=_shift(last, 7)),
        failing("BadRoute-Fail", origin="SFO", destination="ATL"),
    ]
    scenarios += [failing(name, room_type=room) for name, room in BAD_ROOMS.items()]
    scenarios += [failing(name, car_type=car) for name, car in BAD_CARS.items()]
    scenarios.append(failing("PaymentFail-Test", origin="SFO", destination="JFK", car_type="midsize",
                                    confirmation_code=f"{FORCE_PAYMENT_FAIL}-001"))
    return scenarios


def _shift(day: str, days: int) -> str:
    from datetime import date, timedelta

    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()
