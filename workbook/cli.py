"""`python -m workbook ...` (also the `workbook` command).

Students: run, check, watch, hint, list, reset.  Instructors: verify.  Everyone: audit, server.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from workbook import terminal
from workbook.loader import UnknownExercise, exercise_dir, exercises
from workbook.world import REPO_ROOT

# emoji=False: a message that quotes a key such as 'trip-04:hotel:' stays text, not an emoji.
console = terminal.console(highlight=False, emoji=False)
# Where `check` and `hint` remember how far you got (ignored by git).
PROGRESS_FILE = Path(os.environ.get("WORKBOOK_PROGRESS", REPO_ROOT / ".workbook" / "progress.json"))
COMMANDS = ("audit", "server", "run", "check", "watch", "hint", "list", "reset", "verify")


# --- progress, remembered between runs -------------------------------------------


def load_progress() -> dict:
    try:
        return json.loads(PROGRESS_FILE.read_text())
    except (OSError, ValueError):
        return {}


def save_progress(progress: dict) -> None:
    PROGRESS_FILE.parent.mkdir(parents=True, exist_ok=True)
    PROGRESS_FILE.write_text(json.dumps(progress, indent=2, sort_keys=True))


def remember(number: str, **fields) -> None:
    progress = load_progress()
    progress.setdefault(number, {}).update(fields)
    save_progress(progress)


def title_of(folder: Path) -> str:
    readme = folder / "README.md"
    first = readme.read_text().splitlines()[0] if readme.exists() else folder.name
    return first.lstrip("# ").strip()


# --- audit, server, run -------------------------------------------------------------


def cmd_audit(args) -> int:
    from workbook.audit import audit

    report = audit()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        console.print(report)
    return 0 if report.clean else 1


def cmd_server(args) -> int:
    from workbook.server import serve

    return serve(port=args.port, ui_port=args.ui_port)


async def _run(folder: Path) -> int:
    import logging

    from workbook.loader import loaded
    from workbook.report import running_in
    from workbook.server import connect_or_start

    # Failed activities are part of the story the starter tells; the SDK's warnings
    # about them would only interleave with it.
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    console.print(f"[bold]Running {folder.parent.name} ({folder.name}/)[/]")
    with contextlib.ExitStack() as stack:
        try:
            modules = stack.enter_context(loaded(folder))
        except Exception as err:  # the learner's files do not load: said as `check` says it
            from workbook.explain import explain_exception

            console.print(f"[bold red]Cannot run it:[/] {escape(explain_exception(err, folder.resolve()))}")
            return 1
        if not hasattr(modules, "worker"):  # plain Python, before Temporal
            return modules.starter.main()
        again = f"python -m workbook run {folder.parent.name[:2]}" + (" --practice" if folder.name == "practice" else "")
        # The worker runs in this process: a workflow that cannot go on is ended, not waited for.
        with running_in("run", again, folder):
            async with connect_or_start(announce=console.print) as client:
                async with modules.worker.create_worker(client):
                    return await modules.starter.book(client)


def cmd_run(args) -> int:
    import asyncio

    folder = exercise_dir(args.exercise) / ("practice" if args.practice else "solution")
    return asyncio.run(_run(folder))


# --- check, hint, list, reset ------------------------------------------------------


async def run_checks(folder: Path, number: str):
    """Run exercise ``number``'s checks against ``folder`` on the server its suite
    needs (time-skipping, or a local dev server)."""
    import asyncio

    from workbook.loader import suite_needs

    from workbook.server import start_server

    # The server boots (in threads of its own) while the checks load.
    starting = asyncio.ensure_future(start_server(suite_needs(number)))
    await asyncio.sleep(0)
    from workbook.checks import load_suite, run_suite

    suite = load_suite(number)
    env = await starting
    if env is None:
        return await run_suite(suite, folder, None)
    try:
        return await run_suite(suite, folder, env)
    finally:
        await env.shutdown()


def cmd_check(args) -> int:
    import asyncio

    exercise = exercise_dir(args.exercise)
    number, target = exercise.name[:2], "solution" if args.solution else "practice"
    console.print(f"Checking [bold]{exercise.name}[/] ({target}/) …\n")
    results = asyncio.run(run_checks(exercise / target, number))
    return 0 if report_checks(exercise, target, results) else 1


def report_checks(exercise: Path, target: str, results, watching: bool = False) -> bool:
    """Print each check's verdict and what to do next, in the words of the mode the
    student is in (`check` or `watch`); remember the outcome of practice/.
    True when every check passes."""
    number = exercise.name[:2]
    for result in results:
        if not result.ran:  # one cause, one message: it is printed above
            console.print(f"  [dim]– {result.title} (not run: same cause)[/]")
            continue
        mark = "[green]✓[/]" if result.passed else "[red]✗[/]"
        console.print(f"  {mark} {result.title}")
        if not result.passed:
            console.print(f"      [yellow]{escape(result.detail)}[/]")  # its brackets are text, not markup
    passed = sum(r.passed for r in results)
    console.print()
    if passed == len(results):
        console.print(f"[bold green]All {passed} checks pass.[/] Exercise {number} is done. Well done!")
        following = [f for f in exercises() if f.name > exercise.name]
        if following and target == "practice":
            how = "press [bold]n[/] to start it" if watching else "see its README.md"
            console.print(f"Next: {following[0].name} ({how})")
        elif watching:
            console.print("That was the last exercise: the whole workbook is done.")
    else:
        stuck = "press [bold]h[/] for a hint" if watching else f"[bold]python -m workbook hint {number}[/]"
        console.print(f"{passed} of {len(results)} checks pass. Keep going! Stuck? {stuck}")
    if target == "practice":
        state = "done" if passed == len(results) else "in progress"
        remember(number, state=state, fingerprint=fingerprint(exercise / "practice"))
    return passed == len(results)


def load_hints(exercise: Path) -> list[str]:
    path = exercise / "hints.toml"
    if not path.exists():
        return []
    return [h["text"].strip() for h in tomllib.loads(path.read_text()).get("hint", [])]


def cmd_hint(args) -> int:
    exercise = exercise_dir(args.exercise)
    show_hint(exercise, f"Run [bold]python -m workbook hint {exercise.name[:2]}[/] again.")
    return 0


def show_hint(exercise: Path, again: str) -> None:
    """The next hint of ``exercise``; ``again`` says how to get the one after it."""
    number = exercise.name[:2]
    hints = load_hints(exercise)
    if not hints:
        console.print(f"Exercise {number} has no hints yet: its README.md walks you through it.")
        return
    shown = load_progress().get(number, {}).get("hints_shown", 0)
    index = min(shown, len(hints) - 1)
    console.print(f"[bold]Hint {index + 1} of {len(hints)}[/] for {exercise.name}:\n")
    console.print(hints[index])
    if index + 1 < len(hints):
        console.print(f"\nStill stuck? {again}")
    else:
        console.print("\nThat was the last hint.")
    remember(number, hints_shown=index + 1)


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True)


def fingerprint(folder: Path) -> str:
    """A hash of the files in ``folder`` (as verify counts them), to tell whether they
    changed since the last check."""
    import hashlib

    from workbook.verify import exercise_files

    digest = hashlib.sha256()
    for name in sorted(exercise_files(folder)):
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def practice_changed(exercise: Path) -> bool:
    """Has the student edited practice/ since it was shipped (per git)?"""
    status = _git("status", "--porcelain", "--", str(exercise / "practice"))
    return status.returncode == 0 and bool(status.stdout.strip())


def cmd_list(args) -> int:
    from rich.table import Table

    progress = load_progress()
    table = Table(title="The Saga Workbook")
    for column in ("#", "exercise", "state"):
        table.add_column(column)
    colours = {"done": "green", "in progress": "yellow", "not started": "dim"}
    for exercise in exercises():
        number = exercise.name[:2]
        remembered = progress.get(number, {})
        state = remembered.get("state")
        if state is None:
            state = "in progress" if practice_changed(exercise) else "not started"
        shown = f"[{colours[state]}]{state}[/]"
        checked = remembered.get("fingerprint")
        if checked and checked != fingerprint(exercise / "practice"):
            shown += ", edited since the last check"
        table.add_row(number, title_of(exercise), shown)
    console.print(table)
    console.print("Check one with [bold]python -m workbook check NN[/].")
    return 0


BACKUPS = REPO_ROOT / ".workbook" / "backups"  # ignored by git, like all of .workbook/


def back_up(practice: Path, number: str) -> Path:
    """Copy a practice folder aside before it is reset: .workbook/backups/NN-<time>/."""
    import shutil
    import time

    stamp = time.strftime("%Y%m%d-%H%M%S")
    target, n = BACKUPS / f"{number}-{stamp}", 1
    while target.exists():
        n += 1
        target = BACKUPS / f"{number}-{stamp}-{n}"
    shutil.copytree(practice, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def cmd_reset(args) -> int:
    exercise = exercise_dir(args.exercise)
    practice = exercise / "practice"
    if _git("rev-parse", "--is-inside-work-tree").returncode != 0:
        console.print("reset needs the workbook's git checkout (it restores files from git).")
        return 2
    if not practice_changed(exercise):
        console.print(f"{practice.relative_to(REPO_ROOT)} is already as shipped. Nothing to do.")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            console.print("Refusing to reset without confirmation: add --yes.")
            return 2
        answer = input(f"Put {practice.relative_to(REPO_ROOT)} back as shipped (your files are copied aside first)? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            console.print("Nothing changed.")
            return 1
    backup = back_up(practice, exercise.name[:2])
    restored = _git("checkout", "HEAD", "--", str(practice))
    if restored.returncode != 0:
        console.print(f"[red]git could not restore the files:[/] {restored.stderr.strip()}")
        return 1
    progress = load_progress()
    progress.pop(exercise.name[:2], None)
    save_progress(progress)
    console.print(f"Restored {practice.relative_to(REPO_ROOT)} to its shipped state.")
    console.print(f"Your files are kept in {backup.relative_to(REPO_ROOT)}/ if you want anything back.")
    return 0


def cmd_watch(args) -> int:
    from workbook.watch import watch

    return watch(args.exercise)


# --- verify -------------------------------------------------------------------------


def cmd_verify(args) -> int:
    import asyncio

    from rich.table import Table

    from workbook.verify import drift, judged_tree, readme_problems, todo_count, written_whole

    table = Table(title="workbook verify")
    for column in ("exercise", "proof", "result"):
        table.add_column(column, overflow="fold")
    failures = 0

    def record(exercise: str, proof: str, problems: list[str]) -> None:
        nonlocal failures
        failures += bool(problems)
        verdict = "[green]ok[/]" if not problems else "[red]" + "; ".join(problems) + "[/]"
        table.add_row(exercise, proof, verdict)

    # The exercises as shipped (committed), not whatever someone has typed into practice/.
    with judged_tree(REPO_ROOT) as (root, judged):
        console.print(f"workbook verify {judged}.")
        wanted = {exercise_dir(which).name for which in args.exercises}  # none named: all
        for exercise in sorted(p for p in (root / "exercises").glob("[0-9][0-9]-*") if p.is_dir()):
            if wanted and exercise.name not in wanted:
                continue
            number, name = exercise.name[:2], exercise.name
            solution = asyncio.run(run_checks(exercise / "solution", number))
            record(name, "solution passes every check",
                   [f"{r.title}: {r.detail}" for r in solution if not r.passed])  # fmt: skip
            practice = asyncio.run(run_checks(exercise / "practice", number))
            unsolved = []
            if any(r.name == "loads" for r in practice):
                unsolved.append(f"practice does not load: {practice[0].detail}")
            elif all(r.passed for r in practice):
                unsolved.append("practice already passes every check: is it accidentally solved?")
            record(name, "practice fails as shipped", unsolved)
            problems = drift(exercise / "practice", exercise / "solution")
            if not todo_count(exercise / "practice") and not written_whole(exercise / "practice"):
                problems.append("practice has no TODO")
            record(name, "practice = solution outside TODOs", problems)
            record(name, "README names what exists", readme_problems(exercise, set(COMMANDS)))
        numbers = {name[:2] for name in wanted}
        notebooks = sorted(str(n) for n in (root / "notebooks").glob("[0-9][0-9]-*.ipynb") if not numbers or n.name[:2] in numbers)
        if not args.skip_notebooks and notebooks:
            # The judged tree's own workbook package and notebooks, not the working tree's.
            run = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *notebooks],
                cwd=root, capture_output=True, text=True,
                env=dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))),
            )  # fmt: skip
            tail = run.stdout.strip().splitlines()[-1:] or ["no output"]
            record("notebooks", "every notebook runs", [] if run.returncode == 0 else tail)
    console.print(table)
    if failures:
        console.print(f"[bold red]{failures} proof(s) failed[/] ({judged}).")
        return 1
    console.print("[bold green]Every proof holds.[/]")
    return 0


# --- the command line ---------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m workbook", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True, metavar="command")
    p = sub.add_parser("audit", help="list orphaned reservations and charges")
    p.add_argument("--json", action="store_true", help="machine-readable counts and details")
    p = sub.add_parser("server", help="start the Temporal dev server (Web UI on 8233)")
    p.add_argument("--port", type=int, default=7233)
    p.add_argument("--ui-port", type=int, default=8233)
    p = sub.add_parser("run", help="run an exercise end to end in this terminal")
    p.add_argument("exercise", help="its number, e.g. 03")
    p.add_argument("--practice", action="store_true", help="run practice/ instead of solution/")
    p = sub.add_parser("check", help="check your work on an exercise")
    p.add_argument("exercise", help="its number, e.g. 03")
    p.add_argument("--solution", action="store_true", help="check solution/ instead of practice/")
    p = sub.add_parser("watch", help="re-check your practice/ on every save (recommended)")
    p.add_argument("exercise", nargs="?", help="its number; default: the first not yet done")
    p = sub.add_parser("hint", help="the next hint for an exercise")
    p.add_argument("exercise")
    sub.add_parser("list", help="every exercise and how far you got")
    p = sub.add_parser("reset", help="put an exercise's practice/ back as shipped")
    p.add_argument("exercise")
    p.add_argument("--yes", action="store_true", help="don't ask")
    p = sub.add_parser("verify", help="instructors: prove every exercise sound")
    p.add_argument("exercises", nargs="*", help="only these, e.g. 03 04 (default: all)")
    p.add_argument("--skip-notebooks", action="store_true")
    return top


HANDLERS = {name: globals()[f"cmd_{name}"] for name in COMMANDS}


def main(argv: list[str] | None = None) -> None:
    from workbook.entry import run_and_exit

    args = parser().parse_args(argv)

    def command() -> int:
        try:
            return HANDLERS[args.command](args)
        except UnknownExercise as err:
            console.print(f"[red]{err}[/]")
            return 2

    run_and_exit(command)
