"""What the capstone's workflow, activities, worker and clients share: the request and the
result (plain dataclasses, so the workflow can use them inside Temporal's sandbox) and where
the capstone keeps its travel world."""

from __future__ import annotations

from dataclasses import dataclass, field

TASK_QUEUE = "travel-bookings"
WORLD_FILE = ".workbook/solutions.db"  # beside the exercises' world, never mixed with it
FORCE_PAYMENT_FAIL = "FORCE-PAYMENT-FAIL"  # in a confirmation code: the card is refused


@dataclass
class BookingRequest:
    """One customer's trip, as a travel site would send it."""

    trip_id: str
    customer: str
    origin: str  # airport codes, e.g. "SFO"
    destination: str
    day: str  # the flight's date, "2027-01-20"
    cabin: str = "economy"  # economy, business or first
    room_type: str = "standard"  # standard, deluxe or suite
    nights: int = 3
    car_type: str = "economy"  # economy, compact, midsize, suv or luxury
    rental_days: int = 3
    card_number: str = "4242424242424242"
    confirmation_code: str = ""  # FORCE_PAYMENT_FAIL in it forces a refused payment
    attempts: int = 3  # how many tries a step gets before the trip is undone
    # The customer accepts a car from the partner desk (a fifth dearer) when the car rental
    # cannot book one (exercise 12); `client.py --no-partner` books as the reference does.
    partner_car_ok: bool = True


@dataclass
class BookingResult:
    trip_id: str
    flight: str
    hotel: str
    car: str
    payment: str
    notices: list[str] = field(default_factory=list)  # auxiliary steps that failed
