"""How fast `workbook watch` answers a save: the time from writing practice/workflow.py
to the printed verdict line ("k of N checks pass" / "All N checks pass"), over 10 saves
that alternate the shipped practice file and the solution. Target: median <= 1 s.

    python benchmarks/watch_speed.py [saves]

It runs on a throwaway clone of the committed repository, so your practice/ is untouched.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from timing import PYTHON, REPO_ROOT, quiet_env

VERDICT = re.compile(r"(All \d+ checks pass|\d+ of \d+ checks pass)")
saves = int(sys.argv[1]) if len(sys.argv) > 1 else 10

clone = Path(tempfile.mkdtemp(prefix="workbook-watch-bench-")) / "clone"
subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True)
exercise = clone / "exercises" / "03-compensations"
practice_file = exercise / "practice" / "workflow.py"
contents = [(exercise / "solution" / "workflow.py").read_text(), practice_file.read_text()]

watcher = subprocess.Popen(
    [PYTHON, "-m", "workbook", "watch", "03"], cwd=clone, env=quiet_env(TTY_COMPATIBLE="0"),
    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
)  # fmt: skip
verdicts: list[tuple[float, str]] = []  # (when it was printed, the verdict)
arrived = threading.Condition()


def collect() -> None:
    for line in watcher.stdout:
        found = VERDICT.search(line)
        if found:
            with arrived:
                verdicts.append((time.perf_counter(), found.group(1)))
                arrived.notify_all()


def next_verdict(count: int, within: float = 60.0) -> tuple[float, str]:
    with arrived:
        if not arrived.wait_for(lambda: len(verdicts) > count, within):
            sys.exit(f"no verdict within {within:.0f} s: is the watcher stuck?")
        return verdicts[count]


threading.Thread(target=collect, daemon=True).start()
try:
    next_verdict(0)  # the first check, as it starts: not a save
    time.sleep(0.5)
    seconds = []
    for number in range(saves):
        seen = len(verdicts)
        saved_at = time.perf_counter()
        practice_file.write_text(contents[number % 2])
        printed_at, verdict = next_verdict(seen)
        seconds.append(printed_at - saved_at)
        print(f"save {number + 1:2}: {seconds[-1]:.2f} s  {verdict}")
        time.sleep(0.5)  # a student reads the verdict before saving again
    median = statistics.median(seconds)
    print(f"save -> verdict: median {median:.2f} s over {saves} saves "
          f"(min {min(seconds):.2f}, max {max(seconds):.2f}); target <= 1 s: "
          f"{'met' if median <= 1 else 'MISSED'}")  # fmt: skip
finally:
    watcher.stdin.write("q\n")
    watcher.stdin.flush()
    watcher.wait(timeout=30)
