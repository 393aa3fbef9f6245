"""The "before": book a trip the naive way, with no Temporal and no plan for failure.

We book the flight and pay for it, book the hotel and pay for it, then book the car.
The car is sold out, so the script stops there. Nothing cancels the seat or the room and
nothing refunds the card: that cleanup is what the rest of the workbook is about.

Run it from the repository root:  python original/pre_temporal.py
"""

from __future__ import annotations

from rich.console import Console

from models import Booking, Trip  # from this folder: python puts it on sys.path
from workbook import world
from workbook.audit import audit, dollars
from workbook.entry import run_and_exit

console = Console(highlight=False)


def pay_for(trip: Trip, kind: str, reservation: world.Reservation) -> None:
    """Charge the card for one step as soon as it is booked, like many real checkouts.
    Paying as we go is what turns a failed booking into money the customer lost."""
    cents, key = reservation.amount_cents, trip.key(f"{kind}-charge")
    payment = world.charge_card(trip.trip_id, trip.card_number, cents, key=key)
    trip.bookings.append(Booking(kind, reservation.id, reservation.item, cents, payment.id))
    console.print(
        f"  [green]✓[/] {kind:<6} {reservation.item:<20} {reservation.id}   "
        f"charged {dollars(payment.amount_cents)} ({payment.id})"
    )


def main() -> int:
    # A fresh world every run, so you see the same story every time.
    world.reset()
    trip = Trip()
    console.print(f"[bold]Booking {trip.trip_id} for {trip.customer}[/] (no Temporal)")

    # Each step is a call to a different company. Any of them can say no.
    steps = [
        ("flight", lambda: world.book_flight(trip.trip_id, trip.flight, key=trip.key("flight"))),
        ("hotel", lambda: world.book_hotel(
            trip.trip_id, trip.hotel, trip.room_type, trip.nights, key=trip.key("hotel"))),
        ("car", lambda: world.book_car(
            trip.trip_id, trip.car_type, trip.rental_days, key=trip.key("car"))),
    ]  # fmt: skip
    failed = False
    for kind, book in steps:
        try:
            reservation = book()
        except world.BookingError as err:
            # The naive part: we report the error and give up. The seat and the room we
            # already hold, and the money we already took, are simply left behind.
            console.print(f"  [red]✗[/] {kind:<6} {err}")
            held = ", ".join(f"{b.kind} {b.reservation_id}" for b in trip.bookings)
            console.print("[bold red]Booking failed.[/] Giving up, with no cleanup.")
            console.print(f"We still hold, and took money for: {held or 'nothing'}\n")
            failed = True
            break
        pay_for(trip, kind, reservation)
    else:
        world.confirm_trip(trip.trip_id, trip.customer)
        console.print("[bold green]Trip confirmed.[/]\n")

    # The audit reads the world, not this script: what is held or charged for a trip
    # that was never confirmed?
    report = audit()
    console.print(report)
    if not report.clean:
        console.print(
            f"\nThe customer is charged {dollars(report.charged_cents)} for a trip they cannot "
            "take,\nand what it holds stays blocked: nobody else can book it."
        )
    return 1 if failed or not report.clean else 0


if __name__ == "__main__":
    run_and_exit(main)
