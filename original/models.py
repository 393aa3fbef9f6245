"""The trip the original script books: plain dataclasses, nothing clever.

The values match the trip every exercise uses, except the car: an SUV, which is sold
out in the built-in world, so the third step fails every time.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Booking:
    """One step that went through: what we hold, and what we charged the card for it."""

    kind: str  # "flight", "hotel" or "car"
    reservation_id: str
    item: str
    amount_cents: int
    payment_id: str


@dataclass
class Trip:
    trip_id: str = "trip-original"
    customer: str = "Ada Lovelace"
    card_number: str = "4242424242424242"
    flight: str = "TW101"  # $280
    hotel: str = "harbor-view"
    room_type: str = "deluxe"  # $315 a night
    nights: int = 3  # so $945
    car_type: str = "suv"  # sold out: this is the step that fails
    rental_days: int = 3
    bookings: list[Booking] = field(default_factory=list)  # what we hold so far

    def key(self, step: str) -> str:
        """The idempotency key of one step of this trip, e.g. "trip-original:flight"."""
        return f"{self.trip_id}:{step}"
