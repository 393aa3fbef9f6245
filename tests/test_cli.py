"""The `workbook` command as students and instructors use it: real processes, real
exit codes. Commands that change files run in a throwaway clone of the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workbook.checks import load_suite
from workbook.world import REPO_ROOT

EXERCISE = REPO_ROOT / "exercises" / "03-compensations"


@pytest.fixture
def cli_env(tmp_path, world):
    return dict(
        os.environ, NO_COLOR="1", TTY_COMPATIBLE="0", COLUMNS="200",
        WORKBOOK_PROGRESS=str(tmp_path / "progress.json"),
    )  # fmt: skip


def workbook(*args: str, cwd: Path = REPO_ROOT, env: dict, stdin=subprocess.DEVNULL):
    return subprocess.run([sys.executable, "-m", "workbook", *args], cwd=cwd, env=env,
                          stdin=stdin, capture_output=True, text=True, timeout=300)  # fmt: skip


def test_console_script_is_installed():
    assert (Path(sys.executable).parent / "workbook").exists()


def test_check_solution_passes(cli_env):
    done = workbook("check", "03", "--solution", env=cli_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"All {len(load_suite('03').checks)} checks pass" in done.stdout


def test_check_practice_fails_and_says_what_it_saw(cli_env):
    done = workbook("check", "3", cwd=EXERCISE / "practice", env=cli_env)  # from inside the folder
    assert done.returncode == 1
    assert f"2 of {len(load_suite('03').checks)} checks pass" in done.stdout
    assert "no compensation ran after charge_payment failed" in done.stdout
    assert "python -m workbook hint 03" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_check_unknown_exercise_lists_the_real_ones(cli_env):
    done = workbook("check", "42", env=cli_env)
    assert done.returncode == 2
    assert "03-compensations" in done.stdout


def test_hints_come_one_at_a_time(cli_env):
    first = workbook("hint", "03", env=cli_env)
    second = workbook("hint", "03", env=cli_env)
    assert "Hint 1 of" in first.stdout and "Hint 2 of" in second.stdout
    assert first.stdout != second.stdout


def row(listing: str, number: str) -> str:
    return next(line for line in listing.splitlines() if line.strip("│ ").startswith(number))


def test_list_remembers_what_check_found(clone, cli_env):
    before = workbook("list", cwd=clone, env=cli_env)
    assert "Exercise 03: Compensations" in row(before.stdout, "03")
    assert "not started" in row(before.stdout, "03")
    workbook("check", "03", cwd=clone, env=cli_env)
    assert "in progress" in row(workbook("list", cwd=clone, env=cli_env).stdout, "03")


def test_reset_restores_practice_and_nothing_else(clone, cli_env):
    practice = clone / "exercises" / "03-compensations" / "practice" / "workflow.py"
    solution = clone / "exercises" / "03-compensations" / "solution" / "workflow.py"
    shipped = practice.read_text()
    practice.write_text(shipped + "\n# my work in progress\n")
    solution.write_text(solution.read_text() + "\n# an instructor's edit\n")

    refused = workbook("reset", "03", cwd=clone, env=cli_env)  # no terminal to ask: refuse
    assert refused.returncode == 2 and practice.read_text() != shipped

    done = workbook("reset", "03", "--yes", cwd=clone, env=cli_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert practice.read_text() == shipped
    assert solution.read_text().endswith("# an instructor's edit\n")


def test_verify_passes_on_a_shipped_exercise(clone, cli_env):
    # One exercise proves the command; tests/test_exercises.py proves every exercise.
    done = workbook("verify", "02", "--skip-notebooks", cwd=clone, env=cli_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Every proof holds" in done.stdout


def commit_all(repo: Path) -> None:
    """verify judges what is committed: commit an edit to make it count."""
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com",
                    "commit", "-qam", "an edit to judge"], check=True)  # fmt: skip


def test_verify_catches_a_broken_solution(clone, cli_env):
    workflow = clone / "exercises" / "03-compensations" / "solution" / "workflow.py"
    workflow.write_text(workflow.read_text().replace("reversed(compensations)", "compensations"))
    commit_all(clone)
    done = workbook("verify", "03", "--skip-notebooks", cwd=clone, env=cli_env)
    assert done.returncode == 1
    assert "solution passes every check" in done.stdout
    assert "newest step first" in done.stdout


def test_verify_catches_an_accidentally_solved_practice(clone, cli_env):
    exercise = clone / "exercises" / "03-compensations"
    shutil.copy(exercise / "solution" / "workflow.py", exercise / "practice" / "workflow.py")
    commit_all(clone)
    done = workbook("verify", "03", "--skip-notebooks", cwd=clone, env=cli_env)
    assert done.returncode == 1
    assert "practice already passes every check" in done.stdout


def test_top_readme_names_only_what_exists():
    from workbook.cli import COMMANDS
    from workbook.verify import readme_problems

    assert readme_problems(REPO_ROOT, set(COMMANDS)) == []


def test_readme_test_command_is_what_ci_runs():
    readme = (REPO_ROOT / "README.md").read_text()
    command = "python3 -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt && pytest"
    assert command in readme
    assert command in (REPO_ROOT / ".ci" / "run").read_text()


def test_the_test_command_passes_with_a_solved_practice_folder(clone, cli_env):
    """A student who has solved an exercise in practice/ (not committed) still gets a green
    suite: what is judged "as shipped" is HEAD, as `workbook verify` judges it."""
    exercise = clone / "exercises" / "03-compensations"
    shutil.copy(exercise / "solution" / "workflow.py", exercise / "practice" / "workflow.py")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n0", "-p", "no:randomly", "tests/test_exercises.py", "-k", "03 and (unsolved or todos)"],
        cwd=clone, env=cli_env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    assert "2 passed" in done.stdout


def test_the_terminal_loop_activates_the_venv_in_every_terminal():
    """The README's three-terminal loop starts with activating .venv: a new terminal has no
    virtual environment, and `python worker.py` would stop at `import temporalio`."""
    readme = (REPO_ROOT / "README.md").read_text()
    loop = readme[readme.index("The usual loop, in three terminals") :].split("```")[1]
    assert loop.splitlines()[1].startswith(". .venv/bin/activate") and "every terminal" in loop.splitlines()[1]


def test_a_terminal_without_the_venv_is_told_in_one_line_to_activate_it():
    """`python -m workbook` from the root of a terminal whose Python lacks the installed
    packages (the interpreter the venv was made from, outside the venv)
    says what to do in one line, not an import traceback."""
    bare = Path(sys.base_prefix) / "bin" / "python3"
    done = subprocess.run([str(bare), "-E", "-s", "-m", "workbook", "list"], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home())})  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.count("\n") <= 1 and "Traceback" not in done.stderr, done.stderr
    assert "not installed" in done.stderr and ". .venv/bin/activate" in done.stderr
