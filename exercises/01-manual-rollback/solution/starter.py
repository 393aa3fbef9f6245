"""Exercise 01: book a trip by hand, and roll it back by hand when a step fails.

Plain Python against the travel world, no Temporal yet. Run it:  python starter.py
It books the flight, the hotel and the car, charges the card, and confirms the trip.
When a step fails, book_trip() must undo the steps that went through, newest first.
"""

from __future__ import annotations

from workbook.entry import run_and_exit  # first: a typo in the files below is said in one line

import os

from rich.console import Console

from shared import CRASH_AFTER_HOTEL, TRIP
from workbook import world
from workbook.audit import audit, dollars
from workbook.trips import TripRequest, validate_setting, validate_trip

console = Console(highlight=False)
STEPS = ("flight", "hotel", "car", "payment")
CRASHED = 137  # the exit status a shell reports for a process killed with SIGKILL


def key(trip: TripRequest, step: str) -> str:
    """One idempotency key per step of a trip: the undo finds what its step booked."""
    return f"{trip.trip_id}:{step}"


def book(trip: TripRequest, step: str) -> None:
    """Do one step against the travel world and say how it went."""
    try:
        if step == "flight":
            done = world.book_flight(trip.trip_id, trip.flight, key=key(trip, step))
        elif step == "hotel":
            done = world.book_hotel(
                trip.trip_id, trip.hotel, trip.room_type, trip.nights, key=key(trip, step)
            )
        elif step == "car":
            done = world.book_car(trip.trip_id, trip.car_type, trip.rental_days, key=key(trip, step))
        else:  # the payment: charge the card for everything the trip holds
            total = world.trip_total(trip.trip_id)
            done = world.charge_card(trip.trip_id, trip.card_number, total, key=key(trip, step))
    except world.WorldError as err:
        console.print(f"  [red]✗[/] {step:<8} {err}")
        raise
    item = getattr(done, "item", "card payment")
    console.print(f"  [green]✓[/] {step:<8} {item:<20} {done.id:<9} {dollars(done.amount_cents)}")


def undo(trip: TripRequest, step: str) -> None:
    """Undo one step that went through. The travel world's cancels and refunds are
    safe to repeat, and do nothing when there is nothing to undo."""
    undo_step = {
        "flight": world.cancel_flight,
        "hotel": world.cancel_hotel,
        "car": world.cancel_car,
        "payment": world.refund,
    }[step]
    changed = undo_step(key=key(trip, step))
    verb = "refunded" if step == "payment" else "cancelled"
    console.print(f"  [cyan]↩[/] {step:<8} {verb if changed else 'nothing to undo'}")


def crash() -> None:
    """Die on the spot, like a process that is killed: os._exit skips every except
    block, every finally and every cleanup handler of this program."""
    console.print("[bold red]💥 The process dies here[/] (CRASH_AFTER_HOTEL = True).")
    console.file.flush()
    os._exit(CRASHED)


def book_all(trip: TripRequest, done: list[str]) -> None:
    """The happy path: every step in order, then confirm. Each step that goes through
    is added to ``done``, so that a rollback knows what to undo."""
    for step in STEPS:
        book(trip, step)
        done.append(step)
        if step == "hotel" and CRASH_AFTER_HOTEL:
            crash()
    world.confirm_trip(trip.trip_id, trip.customer)


def book_trip(trip: TripRequest) -> None:
    """Book the whole trip, or, when a step fails, leave nothing behind and re-raise."""
    done: list[str] = []  # the steps that went through, oldest first
    # TODO Part B: when book_all() raises, undo every step in `done`, newest first
    # (call undo(trip, step) for each), then re-raise the error: the trip is not booked.
    try:
        book_all(trip, done)
    except Exception:
        console.print(f"  Rolling back {len(done)} step(s), newest first:")
        for step in reversed(done):
            undo(trip, step)
        raise


def main() -> int:
    # A typo in shared.py gets one clear line, before anything is booked.
    validate_trip(TRIP)
    validate_setting("CRASH_AFTER_HOTEL", CRASH_AFTER_HOTEL, bool)
    world.reset()  # a fresh travel world every run, so you see the same story every time
    console.print(f"[bold]Booking {TRIP.trip_id} for {TRIP.customer}[/] (no Temporal)")
    silent_failure = False
    try:
        book_trip(TRIP)
    except world.WorldError as err:
        console.print(f"[bold red]Trip not booked:[/] {err}")
    else:
        silent_failure = not world.is_confirmed(TRIP.trip_id)
    if world.is_confirmed(TRIP.trip_id):
        console.print("[bold green]Trip booked and confirmed.[/]")
    elif silent_failure:
        console.print(
            "[bold red]Trip not booked, yet book_trip() returned as if all went well:[/] "
            "end its except block with a bare `raise`, so the caller knows."
        )
    # The audit reads the world, not this program: is anything held or charged for a
    # trip that is not confirmed? Exit status 0 only when nothing is.
    report = audit()
    console.print(report)
    return 0 if report.clean and not silent_failure else 1


if __name__ == "__main__":
    run_and_exit(main)
