"""What the HTTP API accepts, checked before anything is booked: a request the API
refuses (a 4xx) starts no workflow and touches nothing in the travel world."""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

from seed import Seed
from shared import BookingRequest

MAX_BODY_BYTES = 16 * 1024  # a booking is a few hundred bytes: anything this big is a mistake


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not ignored


class TutorialBooking(Strict):
    """POST /book: the request of Temporal's sagas tutorial, on the capstone's world."""

    name: str = Field(min_length=1, max_length=100, examples=["John Doe"])
    attempts: int = Field(ge=1, le=10, description="tries each step gets before the trip is undone")
    flight: str = Field(description="a flight as the seed names it: number-date-cabin (or the tutorial's "
                        "valid-flight-id: the seed's first flight)", examples=["SG101-2027-01-20-Y"])  # fmt: skip
    hotel: str = Field(min_length=1, max_length=40, description="the room type at the destination's hotel",
                       examples=["standard"])  # fmt: skip
    car: str = Field(min_length=1, max_length=40, description="the car type at the destination", examples=["economy"])


class TripOrder(Strict):
    """POST /trips: a trip as a travel site would send it."""

    customer: str = Field(min_length=1, max_length=100, examples=["Ada Lovelace"])
    origin: str = Field(pattern="^[A-Z]{3}$", examples=["SFO"])
    destination: str = Field(pattern="^[A-Z]{3}$", examples=["JFK"])
    day: date = Field(examples=["2027-01-20"])
    cabin: Literal["economy", "business", "first"] = "economy"  # seed.CABINS
    room_type: str = Field("standard", min_length=1, max_length=40)
    nights: int = Field(3, ge=1, le=30)
    car_type: str = Field("economy", min_length=1, max_length=40)
    rental_days: int = Field(3, ge=1, le=30)
    card_number: str = Field("4242424242424242", pattern="^[0-9]{12,19}$")
    confirmation_code: str = Field("", max_length=64)
    attempts: int = Field(3, ge=1, le=10)


class BodyLimit:
    """ASGI middleware: a body over ``limit`` bytes gets a 413 before the app reads it, so
    a huge upload costs nothing (declared or streamed in chunks alike)."""

    def __init__(self, app, limit: int, unlimited: tuple[str, ...] = ()) -> None:
        self.app, self.limit, self.unlimited = app, limit, unlimited  # path prefixes it leaves alone

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.unlimited):
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.limit:
            return await self.refuse(scope, receive, send)
        chunks, size, more = [], 0, True
        while more:  # read it all (at most limit bytes), then hand it to the app
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.limit:
                return await self.refuse(scope, receive, send)
        body, delivered = b"".join(chunks), False

        async def replay():
            nonlocal delivered
            if delivered:  # the body is read: what comes next is the client leaving
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)

    async def refuse(self, scope, receive, send) -> None:
        error = {"error": f"the request body is over {self.limit} bytes; nothing was booked"}
        await JSONResponse(error, 413)(scope, receive, send)


def new_trip_id(name: str) -> str:
    """The tutorial's user id: the name as a slug and a number, e.g. jane-smith-288524."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "guest"
    return f"{slug[:40]}-{secrets.randbelow(900_000) + 100_000}"


# The sagas tutorial's own placeholder ids, as its curl examples send them: each stands for
# an item of the capstone's world (its first flight, the hotel's standard room, an economy
# car). Its "invalid-hotel-id" is left as it is: no hotel has rooms of that type, so the
# trip fails at the hotel and is undone, as the tutorial shows.
TUTORIAL_FLIGHT, TUTORIAL_HOTEL, TUTORIAL_CAR = "valid-flight-id", "valid-hotel-id", "valid-car-id"


def from_tutorial(booking: TutorialBooking, seed: Seed, trip_id: str) -> BookingRequest:
    """The tutorial's request as the workflow's. Raises world.UnknownItem for a flight the
    seed does not have (a 422): hotel and car are for their desks to accept or refuse."""
    flight = seed.first_flight() if booking.flight == TUTORIAL_FLIGHT else booking.flight
    origin, destination, day, cabin = seed.parse_flight(flight)
    return BookingRequest(
        trip_id=trip_id, customer=booking.name, origin=origin, destination=destination, day=day, cabin=cabin,
        room_type="standard" if booking.hotel == TUTORIAL_HOTEL else booking.hotel,
        car_type="economy" if booking.car == TUTORIAL_CAR else booking.car, attempts=booking.attempts,
    )  # fmt: skip


def from_order(order: TripOrder, seed: Seed, trip_id: str) -> BookingRequest:
    """An order as the workflow's request. Raises world.UnknownItem for a route, a day or a
    cabin no flight has (a 422), so a trip that cannot fly is never started."""
    fields = order.model_dump()
    fields["day"] = order.day.isoformat()
    seed.flight(order.origin, order.destination, fields["day"], order.cabin)
    return BookingRequest(trip_id=trip_id, **fields)

