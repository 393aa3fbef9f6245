"""The capstone's benchmark (solutions/benchmark.py), small: the saga against the plain
and the no-op workflows, 20 bookings each, on the session's dev server. Only what does not depend on the
machine's speed is asserted: every trip booked, a clean audit, targets judged right."""

from __future__ import annotations

import argparse

from workbook.loader import loaded
from workbook.world import REPO_ROOT

SOLUTIONS = REPO_ROOT / "solutions"
MODULES = ("shared", "seed", "scenarios", "activities", "workflow", "worker", "codec", "plain_workflow", "benchmark")


async def test_a_small_benchmark_books_every_trip(world, dev_server, capsys):
    """``world`` points the world at this test's file (and puts the variable back after)."""
    with loaded(SOLUTIONS, MODULES) as modules:
        argv = ["--bookings", "20", "--min-ratio", "0", "--min-noop-ratio", "0", "--world", str(world.db_path())]
        code = await modules.benchmark.main(argv, client=dev_server.client)  # no ratio to reach: 20 is noise
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "0 orphans, 20 of 20 trips booked" in printed and "zero orphans" in printed
    for kind in ("no-op", "plain", "saga"):
        assert f"20 {kind} bookings..." in printed
    # Each run's row as soon as it ends, before the next run starts: a benchmark cut short by a
    # time limit still leaves the figures of the runs it finished.
    rows = [printed.index(f"  workflow {kind}, bookings 20, seconds ") for kind in ("no-op", "plain", "saga")]
    assert rows[0] < printed.index("20 plain bookings...") < rows[1] < printed.index("20 saga bookings...") < rows[2]
    assert rows[2] < printed.index("audit: 0 orphans") < printed.index("20 bookings: saga/plain")
    assert "saga/no-op" in printed and "saga/plain" in printed
    assert world.confirmed_trips() and not world.flags()


def test_completions_are_counted_per_window():
    with loaded(SOLUTIONS, MODULES) as modules:
        run = modules.benchmark.Run("saga", 5, 25.0, 0, 0, finished=[0.5, 9.9, 10.0, 24.0, 25.0])
        assert run.windows(10) == [2, 1, 2]  # the last, short window holds the run's end


def test_a_missed_target_is_reported_and_fails():
    with loaded(SOLUTIONS, MODULES) as modules:
        run = modules.benchmark.Run
        runs = [run("no-op", 100, 5.0, 0, 0), run("plain", 100, 10.0, 0, 0), run("saga", 100, 12.0, 0, 0)]
        args = argparse.Namespace(bookings=100, concurrency=100, rounds=1, growth=None, min_ratio=0.9,
                                  min_noop_ratio=0.0, max_seconds=40.0)  # fmt: skip
        assert modules.benchmark.report(runs, args) == (False, True)  # 0.83x the plain, in 12 s
        args.max_seconds = 11.0
        assert modules.benchmark.report(runs, args) == (False, False)
        args.min_ratio, args.min_noop_ratio = 0.8, 0.8  # 0.83x the plain, but 0.42x the no-op
        assert modules.benchmark.report(runs, args) == (False, False)
        args.min_noop_ratio = 0.4
        assert modules.benchmark.report(runs, args) == (True, False)


def test_runs_of_one_kind_judge_no_ratio(capsys):
    """--kinds saga: the saga's figures, and no ratio to a yardstick that did not run."""
    with loaded(SOLUTIONS, MODULES) as modules:
        runs = [modules.benchmark.Run("saga", 5000, 500.0, 300, 900)]
        args = argparse.Namespace(bookings=1000, concurrency=1000, rounds=1, growth="5000", min_ratio=0.9,
                                  min_noop_ratio=0.8, max_seconds=40.0)  # fmt: skip
        assert modules.benchmark.report(runs, args) == (True, True)  # nothing judged, nothing missed
        assert modules.benchmark.ratios(runs, 5000) == "5000 bookings: no ratio (it takes a saga run and a yardstick run)"
    assert "saga/plain" not in capsys.readouterr().out
