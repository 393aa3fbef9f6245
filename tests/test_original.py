"""The "before" script really leaves a seat, a room and $1,225 of charges behind."""

from __future__ import annotations

import subprocess

import pytest

from workbook.audit import audit
from workbook.world import REPO_ROOT

ORIGINAL = REPO_ROOT / "original"


@pytest.mark.parametrize(
    ("cwd", "script"),
    [(REPO_ROOT, "original/pre_temporal.py"), (ORIGINAL, "pre_temporal.py")],
    ids=["from-repo-root", "from-inside-original"],
)
def test_original_orphans_a_flight_a_hotel_and_the_charges(world, clean_env, python, cwd, script):
    world.book_flight("old", "TW101", key="old:flight")  # the script must start afresh

    result = subprocess.run(
        [python, script], cwd=cwd, env=clean_env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr  # it failed the way it means to, not by crashing

    held = [(r.kind, r.item, r.amount_cents, r.status) for r in world.reservations()]
    assert held == [
        ("flight", "TW101", 28000, "held"),
        ("hotel", "harbor-view/deluxe", 94500, "held"),
    ]  # and no car: it was sold out
    charges = world.payments()
    assert sorted(p.amount_cents for p in charges) == [28000, 94500]
    assert {p.status for p in charges} == {"charged"}
    assert {p.trip_id for p in charges} == {r.trip_id for r in world.reservations()}
    assert not world.confirmed_trips()
    assert world.available("flight", "TW101") == 39
    assert world.available("hotel", "harbor-view/deluxe") == 19
    assert world.available("car", "New York/suv") == 0

    report = audit()
    assert len(report.reservations) == 2
    assert len(report.charges) == 2
    assert report.charged_cents == 122500
    assert sorted(o.kind for o in report.orphans) == ["charge", "charge", "flight", "hotel"]
