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
        "confirmed_trips": 0, "details": [],
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
    assert counts == {
        "orphans": 2, "reservations": 1, "charges": 1, "charged_cents": 28000,
        "confirmed_trips": 1,
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


def test_cli_table_exit_status_follows_the_orphans(world, clean_env, python):
    command = [python, "-m", "workbook", "audit"]
    clean = subprocess.run(command, env=clean_env, capture_output=True, text=True, timeout=60)
    assert clean.returncode == 0, clean.stderr
    world.book_flight("t1", "TW101", key="t1:flight")
    dirty = subprocess.run(command, env=clean_env, capture_output=True, text=True, timeout=60)
    assert dirty.returncode == 1, dirty.stderr
