"""Shared by the benchmark scripts: run a command N times, report the median wall time."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def quiet_env(**extra: str) -> dict:
    """Plain output, a scratch world and progress file: benchmarks never touch yours."""
    scratch = Path(tempfile.mkdtemp(prefix="workbook-bench-"))
    return dict(os.environ, NO_COLOR="1", WORKBOOK_DB=str(scratch / "world.db"),
                WORKBOOK_PROGRESS=str(scratch / "progress.json"), **extra)  # fmt: skip


def time_command(args: list[str], runs: int, env: dict, cwd: Path = REPO_ROOT) -> list[tuple[float, int]]:
    """(seconds, exit status) of each of ``runs`` runs."""
    results = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        results.append((time.perf_counter() - start, done.returncode))
    return results


def report(label: str, results: list[tuple[float, int]]) -> None:
    seconds = [s for s, _ in results]
    codes = sorted({c for _, c in results})
    print(f"{label}: median {statistics.median(seconds):.2f} s over {len(seconds)} runs "
          f"(min {min(seconds):.2f}, max {max(seconds):.2f}; exit status {codes})")  # fmt: skip


PYTHON = sys.executable
