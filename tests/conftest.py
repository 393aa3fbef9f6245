"""Shared fixtures for the workbook's checks.

--workflow-environment chooses the Temporal server the checks run against, as in
Temporal's own samples: "time-skipping" (default, fastest), "local" (a dev server from
the installed `temporal` binary) or an address such as localhost:7233.
--target chooses which exercise folders the exercise checks load: "solution" (what an
instructor proves) or "practice" (what a student is working on).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from workbook import world as travel_world
from workbook.server import quiet_runtime, start_local_dev_server, start_test_server


def pytest_addoption(parser):
    parser.addoption(
        "--workflow-environment",
        default="time-skipping",
        help="time-skipping (default), local, or the address of a running server",
    )
    parser.addoption(
        "--target",
        default="solution",
        choices=("solution", "practice"),
        help="which folder of each exercise the exercise checks load",
    )


# What must run in one pytest-xdist worker: the cells of a notebook share a kernel, in
# order; a module whose fixture starts something costly for all its tests (an app, the
# README samples) runs it once. Everything else is spread test by test, so that one long
# file (a catalogue) does not keep a worker busy while the others wait.
TOGETHER = {"test_api.py", "test_readme_samples.py", "test_solutions.py"}


def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::")[0]
            return path if path.endswith(".ipynb") or Path(path).name in TOGETHER else nodeid

    return Scheduling(config, log)


@pytest.fixture(scope="session")
def target(request) -> str:
    return request.config.getoption("--target")


@pytest_asyncio.fixture(scope="session")
async def env(request):
    """One Temporal environment for the whole run; each test uses its own task queue."""
    choice = request.config.getoption("--workflow-environment")
    if choice == "time-skipping":
        environment = await start_test_server()
    elif choice == "local":
        environment = await start_local_dev_server()
    else:
        client = await Client.connect(choice, runtime=quiet_runtime())
        environment = WorkflowEnvironment.from_client(client)
    yield environment
    await environment.shutdown()


@pytest_asyncio.fixture(scope="session")
async def dev_server():
    """A real dev server (not time-skipping), for tests that need what only it does:
    end-to-end runs of worker.py and starter.py, cancellation, notebooks."""
    environment = await start_local_dev_server()
    yield environment
    await environment.shutdown()


@pytest.fixture
def server(request):
    """The server the checks of this test's exercise (or catalogue answer) run on: the
    session's env, or the dev server when the suite needs one (Suite.server == "dev");
    None for an exercise without Temporal."""
    from workbook.checks import load_suite

    params = request.node.callspec.params
    suite = load_suite(params["exercise"].name[:2] if "exercise" in params else params["answer"].exercise)
    if not suite.uses_temporal:
        return None
    return request.getfixturevalue("dev_server" if suite.server == "dev" else "env")


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A fresh, empty travel world for this test alone (the module, pointed at it)."""
    monkeypatch.setenv(travel_world.DB_ENV_VAR, str(tmp_path / "world.db"))
    travel_world.reset()
    return travel_world


@pytest.fixture
def clone(tmp_path) -> Path:
    """A clone of the committed repository: `python -m workbook` run inside it uses its
    own workbook package, exercises and git history, so a test may edit them freely."""
    target = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(travel_world.REPO_ROOT), str(target)], check=True)
    return target


@pytest.fixture
def python() -> str:
    """The interpreter running the tests, for starting scripts as a student would."""
    return sys.executable


@pytest.fixture
def clean_env(world):
    """Process environment for child scripts: this test's world, plain output, no colour."""
    environment = dict(os.environ, NO_COLOR="1", TTY_COMPATIBLE="0", COLUMNS="120")
    return environment

