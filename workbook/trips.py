"""The words every exercise uses: what a customer asks for, and what they get back.

Plain dataclasses with no imports beyond the standard library, so workflow code can
use them inside Temporal's sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TripRequest:
    """One customer's trip: a seat, a room and a car, paid with one card."""

    trip_id: str
    customer: str
    flight: str  # a flight number, e.g. "TW101"
    hotel: str  # a hotel id, e.g. "harbor-view"
    room_type: str  # "standard", "deluxe" or "suite"
    nights: int
    car_type: str  # "economy", "compact", "midsize", "suv" or "luxury"
    rental_days: int
    card_number: str


@dataclass
class Itinerary:
    """What a confirmed trip holds: one reservation id per step and the payment."""

    trip_id: str
    flight_reservation: str
    hotel_reservation: str
    car_reservation: str
    payment_id: str

    def __str__(self) -> str:
        return (
            f"flight {self.flight_reservation}, hotel {self.hotel_reservation}, "
            f"car {self.car_reservation}, payment {self.payment_id}"
        )


def example_trip(trip_id: str = "trip-001", **changes: object) -> TripRequest:
    """The trip the exercises book unless told otherwise: $280 + $945 + $165."""
    trip = TripRequest(
        trip_id=trip_id,
        customer="Ada Lovelace",
        flight="TW101",
        hotel="harbor-view",
        room_type="deluxe",
        nights=3,
        car_type="economy",
        rental_days=3,
        card_number="4242424242424242",
    )
    for name, value in changes.items():
        setattr(trip, name, value)
    return trip


class TripError(ValueError):
    """A trip request that cannot be right, e.g. a mistyped value in shared.py."""


def validate_trip(trip: TripRequest) -> None:
    """Catch values of the wrong kind before Temporal sees them, with a message that
    says which setting to fix (usually in the exercise's shared.py)."""
    expected = {"nights": int, "rental_days": int}
    for name, value in vars(trip).items():
        kind = expected.get(name, str)
        if not isinstance(value, kind) or isinstance(value, bool):
            example = "3" if kind is int else '"4242424242424242"' if name == "card_number" else '"..."'
            raise TripError(
                f"in shared.py, {name} should be {'a whole number' if kind is int else 'text in quotes'} "
                f"(like {example}), but it is {value!r} ({type(value).__name__})."
            )
        if kind is str and not value.strip():
            raise TripError(f"in shared.py, {name} is empty; give it a value.")
