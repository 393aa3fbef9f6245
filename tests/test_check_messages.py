"""What `workbook check` prints for a broken practice/, as a real process: one cause is
said once, and Python's own warnings don't bury the advice."""

from __future__ import annotations

import shutil
import subprocess
import sys

from workbook.checks import load_suite

EXERCISE = "exercises/03-compensations"


def check_with(clone, clean_env, old: str, new: str) -> subprocess.CompletedProcess:
    """`workbook check 03` on a practice/ that holds the solution, edited."""
    workflow = clone / EXERCISE / "practice" / "workflow.py"
    shutil.copy(clone / EXERCISE / "solution" / "workflow.py", workflow)
    assert old in workflow.read_text()
    workflow.write_text(workflow.read_text().replace(old, new))
    env = dict(clean_env, WORKBOOK_PROGRESS=str(clone / "progress.json"), COLUMNS="400")  # no wrapping
    return subprocess.run([sys.executable, "-m", "workbook", "check", "03"], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_a_missing_await_is_named_without_pythons_warnings(clone, clean_env):
    done = check_with(clone, clean_env, "await workflow.execute_activity(undo", "workflow.execute_activity(undo")
    said = done.stdout + done.stderr
    assert done.returncode == 1
    assert "is not awaited" in said
    assert "RuntimeWarning" not in said and "Traceback" not in said


def test_one_cause_is_said_once_and_the_other_checks_are_not_run(clone, clean_env):
    done = check_with(clone, clean_env, "            raise\n", "            import sys; sys.exit(1)\n")
    said = done.stdout + done.stderr
    assert done.returncode == 1
    assert said.count("`sys.exit()` ends the program") == 1
    assert said.count("(not run: same cause)") == len(load_suite("03").checks)
    assert "Traceback" not in said
