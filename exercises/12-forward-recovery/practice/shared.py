"""Settings the worker and the starter share: the task queue, the trip to book, what a
booked trip records, the car rental's circuit breaker, and the failure switches."""

from dataclasses import dataclass

from workbook.trips import Itinerary, example_trip

TASK_QUEUE = "saga-12-forward-recovery"
WORKFLOW_ID = "trip-12"

# The car rental's circuit breaker (Part C): after this many failures in a row, the
# breaker opens, and for the cooldown every trip goes straight to the partner without
# calling the car rental. Then one trial call decides: it works, the breaker closes; it
# fails, the breaker opens for another cooldown.
CAR_DESK_FAILURES = 3
CAR_DESK_COOLDOWN_SECONDS = 30


@dataclass
class BookedTrip(Itinerary):
    """The Itinerary of the earlier exercises, and what this one adds: which desk booked
    the car ("primary" or "partner"), and the ticket the airline issued."""

    car_desk: str = ""
    tickets: str = ""

    def __str__(self) -> str:
        return f"{super().__str__()}\n  car booked by the {self.car_desk} desk, tickets {self.tickets or 'not issued'}"


# ==== FAILURE SWITCHES (Part D) ================================================
# The car rental desk is down: every call to it fails. The saga books the car at the
# partner desk instead, and after three failures the breaker stops calling the car rental.
CAR_RENTAL_DOWN = False
# The airline's ticket desk is down for its first three calls. The trip is confirmed by
# then: the saga keeps trying until the tickets are issued, and refunds nothing.
TICKET_DESK_DOWN = False
# ===============================================================================

TRIP = example_trip(WORKFLOW_ID)
