"""The capstone's travel world: seed.json (12 airports, 12 routes in three cabins, 60 days
of flights, 8 hotels with 60 rooms, 32 cars), loaded through the workbook's world.

The world stays generic (flights, rooms and cars by id); this module knows the travel
site's words: which flight flies a route on a day, which hotel is in a city.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from shared import WORLD_FILE
from workbook import world

SEED_FILE = Path(__file__).with_name("seed.json")
CABINS = {"economy": "Y", "business": "J", "first": "F"}  # airline cabin letters


def use_capstone_world() -> None:
    """Point the world at the capstone's own file, unless WORKBOOK_DB says otherwise."""
    os.environ.setdefault(world.DB_ENV_VAR, str(world.REPO_ROOT / WORLD_FILE))


@dataclass(frozen=True)
class Seed:
    data: dict

    @property
    def days(self) -> list[str]:
        first = date.fromisoformat(self.data["schedule"]["first_day"])
        return [(first + timedelta(days=n)).isoformat() for n in range(self.data["schedule"]["days"])]

    def city(self, airport: str) -> str:
        for entry in self.data["airports"]:
            if entry["code"] == airport:
                return entry["city"]
        raise world.UnknownItem(f"there is no airport {airport!r}")

    def route(self, origin: str, destination: str) -> dict:
        for route in self.data["routes"]:
            if (route["origin"], route["destination"]) == (origin, destination):
                return route
        raise world.UnknownItem(f"no direct flight flies from {origin} to {destination}")

    def flight(self, origin: str, destination: str, day: str, cabin: str) -> str:
        """The id of the flight a traveller asks for, or UnknownItem saying why there is none."""
        route = self.route(origin, destination)
        if day not in self.days:
            raise world.UnknownItem(
                f"{route['number']} does not fly on {day}: it flies {self.days[0]} to {self.days[-1]}"
            )
        if cabin not in CABINS:
            raise world.UnknownItem(f"{route['number']} has no {cabin} cabin (it has {', '.join(CABINS)})")
        return f"{route['number']}-{day}-{CABINS[cabin]}"

    def parse_flight(self, flight_id: str) -> tuple[str, str, str, str]:
        """Origin, destination, day and cabin of a flight id such as SG101-2027-01-20-Y, or
        UnknownItem saying what is wrong with it."""
        number, _, rest = flight_id.partition("-")
        day, _, letter = rest.rpartition("-")
        route = next((r for r in self.data["routes"] if r["number"] == number), None)
        cabin = next((name for name, code in CABINS.items() if code == letter), None)
        if route is None or cabin is None or not day:
            raise world.UnknownItem(
                f"there is no flight {flight_id!r}: a flight is number-date-cabin, e.g. "
                f"{self.data['routes'][0]['number']}-{self.days[0]}-Y (cabins Y, J, F)"
            )
        self.flight(route["origin"], route["destination"], day, cabin)  # flies that day?
        return route["origin"], route["destination"], day, cabin

    def first_flight(self) -> str:
        """The seed's first route, economy, on the first day with a seat, a standard room at
        the destination's hotel and an economy car left (the tutorial's "valid-flight-id"),
        so a reader who sends the tutorial's request again and again gets a trip each time
        (the last day once everything is taken: the booking then says what ran out)."""
        route = self.data["routes"][0]
        origin, destination = route["origin"], route["destination"]
        hotel, city = self.hotel_in(destination), self.city(destination)
        for day in self.days:
            flight = self.flight(origin, destination, day, "economy")
            try:
                free = (world.available("flight", flight), world.available("hotel", f"{self.hotel_stock(hotel, day)}/standard"),
                        world.available("car", f"{self.car_desk(city, day)}/economy"))  # fmt: skip
            except world.UnknownItem:  # a world without the seed's stock: the first day will say so
                return self.flight(origin, destination, self.days[0], "economy")
            if min(free) > 0:
                return flight
        return flight

    def hotel_in(self, airport: str) -> str:
        city = self.city(airport)
        for hotel in self.data["hotels"]:
            if hotel["city"] == city:
                return hotel["id"]
        raise world.UnknownItem(f"no hotel of ours is in {city}")

    def inventory(self) -> tuple[list, list, list]:
        """Rows for world.load_inventory: flights, hotel rooms, cars (prices in cents)."""
        flights = [
            (f"{r['number']}-{day}-{CABINS[cabin]}", r["origin"], r["destination"], day, c["price"] * 100, c["seats"])
            for r in self.data["routes"] for day in self.days for cabin, c in r["cabins"].items()
        ]  # fmt: skip
        # Rooms and cars are counted per day (the world counts stock, not dates): a room
        # taken on 1 February is still free on 10 March. See hotel_stock and car_desk.
        rooms = [
            (self.hotel_stock(h["id"], day), h["name"], h["city"], kind, room["price"] * 100, room["count"])
            for h in self.data["hotels"] for kind, room in h["rooms"].items() for day in self.days
        ]  # fmt: skip
        cars = [
            (self.car_desk(c["city"], day), c["type"], c["price"] * 100, c["count"])
            for c in self.data["cars"] for day in self.days
        ]  # fmt: skip
        return flights, rooms, cars

    @staticmethod
    def hotel_stock(hotel: str, day: str) -> str:
        """The world's id for a hotel's rooms on one arrival day, e.g. hudson-grand@2027-01-20."""
        return f"{hotel}@{day}"

    @staticmethod
    def car_desk(city: str, day: str) -> str:
        """The world's city for the cars picked up there on one day, e.g. New York@2027-01-20."""
        return f"{city}@{day}"

    def summary(self) -> dict[str, int]:
        return {
            "airports": len(self.data["airports"]),
            "flight routes": len(self.data["routes"]),
            "flight instances": len(self.data["routes"]) * len(self.days),
            "hotels": len(self.data["hotels"]),
            "hotel rooms": sum(room["count"] for h in self.data["hotels"] for room in h["rooms"].values()),
            "rental cars": sum(c["count"] for c in self.data["cars"]),
        }


def load_seed(path: Path = SEED_FILE) -> Seed:
    return Seed(json.loads(path.read_text()))


def fresh_world(seed: Seed) -> Path:
    """An empty world holding the seed's inventory (and nothing booked). Returns its file."""
    use_capstone_world()
    path = world.reset()
    _load(seed.inventory())
    return path


def ensure_world(seed: Seed) -> bool:
    """Load the seed unless the world already holds it (a restarted worker keeps what is
    booked). True if it was loaded now."""
    use_capstone_world()
    inventory = seed.inventory()
    first_flight = inventory[0][0][0]
    try:
        world.available("flight", first_flight)
        return False
    except world.UnknownItem:
        _load(inventory)
        return True


def _load(inventory: tuple[list, list, list]) -> None:
    flights, rooms, cars = inventory
    world.load_inventory(flights=flights, hotel_rooms=rooms, cars=cars)


def describe(seed: Seed) -> str:
    lines = ["Travel world loaded with:"] + [f"  {n:>4} {what}" for what, n in seed.summary().items()]
    return "\n".join(lines)
