"""The audit finds exactly the orphans: what is held or charged for a trip that was
never confirmed. `python -m workbook audit` reports the same, with a usable exit status."""

from __future__ import annotations

import json
import subprocess

from rich.console import Console

from workbook.audit import Orphan, audit

CARD = "4242424242424242"


def test_empty_world_is_clean(world):
    report = audit()
    assert report.clean
    assert report.to_dict() == {
        "orphans": 0, "reservations": 0, "charges": 0, "charged_cents": 0,
        "confirmed_trips": 0, "details": [], "double_bookings": 0, "double_booking_details": [],
    }  # fmt: skip


def test_held_reservation_of_unconfirmed_trip_is_an_orphan(world):
    seat = world.book_flight("t1", "TW101", key="t1:flight")
    report = audit()
    assert not report.clean
    assert report.orphans == [Orphan("t1", "flight", seat.id, "TW101", 28000)]
    assert report.charges == []


def test_charge_of_unconfirmed_trip_is_an_orphan(world):
    payment = world.charge_card("t1", CARD, 28000, key="t1:charge")
    report = audit()
    assert report.charges == [Orphan("t1", "charge", payment.id, "card payment", 28000)]
    assert report.charged_cents == 28000


def test_confirmed_trip_is_not_an_orphan(world):
    world.book_flight("t1", "TW101", key="t1:flight")
    world.book_hotel("t1", "harbor-view", "deluxe", 3, key="t1:hotel")
    world.charge_card("t1", CARD, 122500, key="t1:charge")
    world.confirm_trip("t1", "Ada Lovelace")
    report = audit()
    assert report.clean
    assert report.confirmed_trips == 1


def test_undone_work_is_not_an_orphan(world):
    world.book_flight("t1", "TW101", key="t1:flight")
    world.charge_card("t1", CARD, 28000, key="t1:charge")
    world.cancel_flight(key="t1:flight")
    world.refund(key="t1:charge")
    assert audit().clean


def test_to_dict_counts(world):
    # Trip 1 failed half-way and was only partly undone; trip 2 was confirmed.
    seat = world.book_flight("t1", "TW101", key="t1:flight")
    world.book_hotel("t1", "harbor-view", "deluxe", 3, key="t1:hotel")
    world.cancel_hotel(key="t1:hotel")
    world.charge_card("t1", CARD, 28000, key="t1:charge-1")
    world.charge_card("t1", CARD, 94500, key="t1:charge-2")
    world.refund(key="t1:charge-2")
    world.book_flight("t2", "TW102", key="t2:flight")
    world.charge_card("t2", CARD, 29500, key="t2:charge")
    world.confirm_trip("t2", "Grace Hopper")

    counts = audit().to_dict()
    details = counts.pop("details")
    assert counts.pop("double_booking_details") == []
    assert counts == {
        "orphans": 2, "reservations": 1, "charges": 1, "charged_cents": 28000,
        "confirmed_trips": 1, "double_bookings": 0,
    }  # fmt: skip
    assert [(d["trip_id"], d["kind"], d["amount_cents"]) for d in details] == [
        ("t1", "flight", 28000),
        ("t1", "charge", 28000),
    ]
    assert details[0]["id"] == seat.id


def test_report_renders_as_a_table(world):
    world.book_flight("t1", "TW101", key="t1:flight")
    world.charge_card("t1", CARD, 28000, key="t1:charge")
    console = Console(record=True, width=120, color_system=None)
    console.print(audit())
    text = console.export_text()
    assert "2 orphan(s)" in text and "TW101" in text and "$280.00" in text


# --- double bookings: a confirmed trip that holds more than it should -------------------------


def book_hotel_three_times(world, trip_id: str) -> list:
    """What a hotel step whose key changes on every retry leaves: three rooms."""
    return [world.book_hotel(trip_id, "harbor-view", "deluxe", 3, key=f"{trip_id}:hotel:{n}") for n in (1, 2, 3)]


def test_a_confirmed_trip_holding_two_rooms_is_double_booked(world):
    rooms = book_hotel_three_times(world, "t1")
    world.charge_card("t1", CARD, 94500, key="t1:charge")
    world.confirm_trip("t1", "Ada Lovelace")
    report = audit()
    assert not report.clean
    assert report.orphans == []  # the trip is confirmed: nothing is orphaned...
    # ...but it holds three rooms: the two older ones are extras, the newest is the itinerary's
    assert report.double_bookings == [Orphan("t1", "hotel", r.id, "harbor-view/deluxe", 94500) for r in rooms[:2]]
    counts = report.to_dict()
    assert counts["double_bookings"] == 2 and counts["orphans"] == 0
    assert [d["id"] for d in counts["double_booking_details"]] == [rooms[0].id, rooms[1].id]


def test_a_second_charge_not_refunded_is_a_double_booking(world):
    world.book_flight("t1", "TW101", key="t1:flight")
    first = world.charge_card("t1", CARD, 28000, key="t1:charge:a")
    world.charge_card("t1", CARD, 28000, key="t1:charge:b")
    world.confirm_trip("t1", "Ada Lovelace")
    assert audit().double_bookings == [Orphan("t1", "charge", first.id, "card payment", 28000)]
    world.refund(key="t1:charge:a")  # refunded: no longer held against the trip
    assert audit().clean


def test_cancelled_extras_and_one_of_each_kind_are_not_double_bookings(world):
    rooms = book_hotel_three_times(world, "t1")
    for n in (1, 2):
        world.cancel_hotel(key=f"t1:hotel:{n}")
    world.book_flight("t1", "TW101", key="t1:flight")
    world.book_car("t1", "economy", 3, key="t1:car")
    world.confirm_trip("t1", "Ada Lovelace")
    book_hotel_three_times(world, "t2")  # not confirmed: orphans, not double bookings
    report = audit()
    assert report.double_bookings == []
    assert [o.trip_id for o in report.orphans] == ["t2"] * 3
    assert rooms[2].status == "held"


def test_double_bookings_render_in_the_table_and_the_text(world):
    book_hotel_three_times(world, "t1")
    world.confirm_trip("t1", "Ada Lovelace")
    world.book_flight("t2", "TW101", key="t2:flight")
    console = Console(record=True, width=120, color_system=None)
    console.print(audit())
    table = console.export_text()
    assert "Audit: 1 orphan(s), 2 double booking(s)" in table
    assert table.count("extra hotel") == 2 and "Booked again for confirmed trips: $1,890.00" in table
    assert str(audit()).splitlines()[0] == "Audit: 1 orphan(s), 2 double booking(s)"
    assert "extra hotel" in audit()._repr_html_()


def test_audit_of_one_trip_sees_only_its_double_bookings(world):
    book_hotel_three_times(world, "t1")
    world.confirm_trip("t1", "Ada Lovelace")
    book_hotel_three_times(world, "t2")
    world.confirm_trip("t2", "Grace Hopper")
    assert {o.trip_id for o in audit("t1").double_bookings} == {"t1"}
    assert len(audit().double_bookings) == 4


# --- the command line -----------------------------------------------------------------------


def run_audit_cli(python, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [python, "-m", "workbook", "audit", "--json"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_cli_json_on_a_clean_world(world, clean_env, python):
    result = run_audit_cli(python, clean_env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == audit().to_dict()


def test_cli_json_with_orphans(world, clean_env, python):
    world.book_flight("t1", "TW101", key="t1:flight")
    world.charge_card("t1", CARD, 28000, key="t1:charge")
    result = run_audit_cli(python, clean_env)
    assert result.returncode == 1, result.stderr
    reported = json.loads(result.stdout)
    assert reported == audit().to_dict()
    assert reported["orphans"] == 2 and reported["charged_cents"] == 28000


def test_cli_json_and_exit_status_with_a_double_booking(world, clean_env, python):
    book_hotel_three_times(world, "t1")
    world.confirm_trip("t1", "Ada Lovelace")
    result = run_audit_cli(python, clean_env)
    assert result.returncode == 1, result.stderr
    reported = json.loads(result.stdout)
    assert reported == audit().to_dict()
    assert reported["orphans"] == 0 and reported["double_bookings"] == 2


def test_cli_table_exit_status_follows_the_orphans(world, clean_env, python):
    command = [python, "-m", "workbook", "audit"]
    clean = subprocess.run(command, env=clean_env, capture_output=True, text=True, timeout=60)
    assert clean.returncode == 0, clean.stderr
    world.book_flight("t1", "TW101", key="t1:flight")
    dirty = subprocess.run(command, env=clean_env, capture_output=True, text=True, timeout=60)
    assert dirty.returncode == 1, dirty.stderr
