"""Checks for exercise 01: a rollback by hand, and why a crash defeats it.

No Temporal: the checks call the learner's ``book_trip`` in this process, and run
``starter.py`` as a process of its own for the crash. The travel world's journal (every
committed call, in order) shows which undos ran, and in which order.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from workbook import world
from workbook.audit import audit
from workbook.checks import CheckFailed, CodeError, Suite, arrow, expect
from workbook.explain import explain_exception
from workbook.source import catches

suite = Suite("01", "Manual rollback: undo by hand, newest first, and what a crash does", uses_temporal=False)

UNDOS = ("cancel_flight", "cancel_hotel", "cancel_car", "refund")
SWITCH = re.compile(r"^CRASH_AFTER_HOTEL\s*=\s*\w+", re.MULTILINE)
CRASH_TIMEOUT = 45  # real seconds for starter.py to run (it takes well under one)


def book_trip(lab, trip) -> BaseException | None:
    """Run the learner's book_trip(trip) here, quietly, with the failure switch off (a
    crash would end the checks themselves). Returns what it raised, or None."""
    starter = getattr(lab.modules, "starter", None)
    function = getattr(starter, "book_trip", None)
    expect(function, "starter.py has no book_trip(trip) function: did you rename it?")
    saved = getattr(starter, "CRASH_AFTER_HOTEL", None)
    starter.CRASH_AFTER_HOTEL = False
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            function(trip)
    except Exception as err:
        return err
    except BaseException as err:  # sys.exit(), KeyboardInterrupt: asyncio lets these end the checks
        raise CodeError(explain_exception(err, lab.modules.folder)) from None
    finally:
        starter.CRASH_AFTER_HOTEL = saved
    return None


def not_caught(lab, raised: BaseException | None) -> str:
    """If book_trip's except clause is too narrow to catch ``raised``, say so."""
    tree = ast.parse((lab.modules.folder / "starter.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "book_trip":
            handlers = [h for t in ast.walk(node) if isinstance(t, ast.Try) for h in t.handlers]
            if not handlers or raised is None:
                return ""
            if any(catches(handler, vars(lab.modules.starter), type(raised)) for handler in handlers):
                return ""
            caught = ast.unparse(handlers[0].type)
            return (
                f" Your `except {caught}` does not catch {type(raised).__name__} ({raised}): a "
                "rollback must run whatever failed. Catch `Exception`."
            )
    return ""


def undos_of(trip) -> list[str]:
    """The undos that changed something for ``trip``, in the order they committed."""
    prefix = f"{trip.trip_id}:"
    return [op for op, key, changed in world.journal() if op in UNDOS and key.startswith(prefix) and changed]


def expect_all_undone(ran: list[str], expected: list[str], trip) -> None:
    missing = [name for name in expected if name not in ran]
    expect(
        not missing,
        f"the undos ran {arrow(ran)}; expected {arrow(expected)}: {arrow(missing)} never ran, "
        f"so {held(trip) or 'work'} stayed behind. Undo every step in `done`, not only some.",
    )
    expect(ran == expected, f"the undos ran {arrow(ran)}; expected {arrow(expected)}.")
    leftover = held(trip)
    expect(not leftover, f"after the rollback, the audit still finds {leftover} for the trip.")


def held(trip) -> str:
    """What the audit finds for ``trip``: e.g. "flight FL-0001, hotel HT-0002"."""
    orphans = [o for o in audit().orphans if o.trip_id == trip.trip_id]
    return ", ".join(f"{o.kind} {o.id}" for o in orphans)


@suite.check("A sold-out car: the hotel, then the flight, are undone; zero orphans")
async def rollback_clears(lab):
    trip = lab.trip(car_type="suv")
    raised = book_trip(lab, trip)
    ran = undos_of(trip)
    expect(
        ran,
        f"nothing was undone after the car failed: {held(trip)} are still held.{not_caught(lab, raised)} "
        "In book_trip(), wrap book_all(trip, done) in try/except and undo each step in `done` (Part B).",
    )
    expected = ["cancel_hotel", "cancel_flight"]
    expect(
        ran != list(reversed(expected)),
        f"the undos ran {arrow(ran)}; expected {arrow(expected)}: undo the newest step first "
        "(for step in reversed(done)).",
    )
    expect_all_undone(ran, expected, trip)


@suite.check("After the rollback, book_trip re-raises the car's error (NoAvailability)")
async def reraises(lab):
    trip = lab.trip(car_type="suv")
    raised = book_trip(lab, trip)
    expect(
        raised is not None,
        "book_trip() returned normally although the car could not be booked: after the "
        "rollback, re-raise the error (`raise`), so its caller knows the trip was not booked.",
    )
    expect(
        isinstance(raised, world.NoAvailability),
        f"book_trip() raised {type(raised).__name__}: {raised}; expected the car's own error "
        "(NoAvailability). Re-raise the error you caught with a bare `raise`.",
    )


@suite.check("A confirmation that fails undoes all four steps: refund → car → hotel → flight")
async def undoes_everything(lab):
    world.inject("confirm_trip", "fail")  # the last call fails after every step went through
    trip = lab.trip()
    raised = book_trip(lab, trip)
    ran = undos_of(trip)
    expected = ["refund", "cancel_car", "cancel_hotel", "cancel_flight"]
    expect(
        ran,
        f"confirming the trip failed and nothing was undone: {held(trip)} are still held or "
        f"charged.{not_caught(lab, raised) or ' Undo every step in `done` when book_all() raises (Part B).'}",
    )
    if sorted(ran) == sorted(expected) and ran != expected:
        raise CheckFailed(
            f"the undos ran {arrow(ran)}; expected {arrow(expected)}: undo the newest step "
            "first (for step in reversed(done))."
        )
    expect_all_undone(ran, expected, trip)


@suite.check("An economy car: everything is booked and charged once, confirmed, nothing undone")
async def books_the_trip(lab):
    trip = lab.trip()
    raised = book_trip(lab, trip)
    expect(raised is None, f"book_trip() raised {type(raised).__name__}: {raised}")
    ran = undos_of(trip)
    expect(not ran, f"nothing failed, yet {arrow(ran)} ran: undo only when a step fails (in except).")
    expect(world.is_confirmed(trip.trip_id), "the trip was not confirmed.")
    charges = world.payments(trip.trip_id)
    expect(
        len(charges) == 1 and charges[0].amount_cents == world.trip_total(trip.trip_id),
        f"expected one charge for the trip's total; found {len(charges)}.",
    )


@suite.check("The lesson: a crash right after the hotel skips the rollback, the flight and hotel stay held")
async def crash_defeats_rollback(lab):
    with tempfile.TemporaryDirectory(prefix="workbook-crash-") as scratch:
        copy = Path(scratch) / lab.modules.folder.name
        shutil.copytree(lab.modules.folder, copy, ignore=shutil.ignore_patterns("__pycache__"))
        shared = copy / "shared.py"
        text, count = SWITCH.subn("CRASH_AFTER_HOTEL = True", shared.read_text())
        expect(count == 1, "shared.py has no `CRASH_AFTER_HOTEL = ...` line: put the failure switch back.")
        shared.write_text(text)  # flip the switch, as you would
        env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "PYTHONDONTWRITEBYTECODE": "1"}
        run = await asyncio.to_thread(
            subprocess.run, [sys.executable, "starter.py"], cwd=copy, env=env,
            capture_output=True, text=True, timeout=CRASH_TIMEOUT,
        )  # fmt: skip
    said = (run.stdout + run.stderr).strip().splitlines()[-1:] or ["(nothing)"]
    expect(
        run.returncode not in (0, 1),
        f"with CRASH_AFTER_HOTEL = True, starter.py ended normally (exit status {run.returncode}) "
        f"instead of dying after the hotel; its last words: {said[0]}",
    )
    trip_id = lab.modules.shared.TRIP.trip_id
    orphans = sorted(o.kind for o in audit().orphans if o.trip_id == trip_id)
    expect(
        orphans == ["flight", "hotel"],
        f"after the crash, expected the audit to find the flight and hotel of {trip_id} still "
        f"held; it found {', '.join(orphans) or 'nothing'}. (Last words: {said[0]})",
    )
