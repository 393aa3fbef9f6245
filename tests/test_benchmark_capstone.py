"""The capstone's benchmark (solutions/benchmark.py), small: the saga against the plain
workflow, 20 bookings each, on the session's dev server. Only what does not depend on the
machine's speed is asserted: every trip booked, a clean audit, targets judged right."""

from __future__ import annotations

import argparse

from workbook.loader import loaded
from workbook.world import REPO_ROOT

SOLUTIONS = REPO_ROOT / "solutions"
MODULES = ("shared", "seed", "scenarios", "activities", "workflow", "worker", "plain_workflow", "benchmark")


async def test_a_small_benchmark_books_every_trip(world, dev_server, capsys):
    """``world`` points the world at this test's file (and puts the variable back after)."""
    with loaded(SOLUTIONS, MODULES) as modules:
        argv = ["--bookings", "20", "--min-ratio", "0", "--world", str(world.db_path())]
        code = await modules.benchmark.main(argv, client=dev_server.client)  # no ratio to reach: 20 is noise
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "0 orphans, 20 of 20 trips booked" in printed and "zero orphans" in printed
    assert world.confirmed_trips() and not world.flags()


def test_a_missed_target_is_reported_and_fails():
    with loaded(SOLUTIONS, MODULES) as modules:
        plain = modules.benchmark.Runs("plain", seconds=[10.0], bookings=100)
        saga = modules.benchmark.Runs("saga", seconds=[12.0], bookings=100)
        args = argparse.Namespace(bookings=100, concurrency=100, rounds=1, min_ratio=0.9, max_seconds=40.0)
        assert modules.benchmark.report(plain, saga, args) == (False, True)  # 0.83x, in 12 s
        args.max_seconds = 11.0
        assert modules.benchmark.report(plain, saga, args) == (False, False)
