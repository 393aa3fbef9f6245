"""Support for the tests you write yourself (exercise 10): a time-skipping test server.

    async with await start_time_skipping() as env:
        ...  # env.client: a client of Temporal's time-skipping test server

is ``WorkflowEnvironment.start_time_skipping()`` from the Temporal SDK, with two
differences that are not the lesson:

* it never downloads anything: it runs the `temporal-test-server` binary that
  requirements.txt installed (the SDK would fetch one from the internet);
* when ``workbook check 10`` runs your tests (against the correct saga, then against
  each broken one), it hands you the checker's own test server instead of starting
  one per test: starting a server costs a few tenths of a second, and your tests run
  about ten times in one check. Leaving the ``async with`` then leaves that server
  running for the next test.

Either way ``env`` is a real time-skipping environment: while a test waits for a
workflow's result, timers and retry back-offs pass at once.
"""

from __future__ import annotations

import os
import threading
from datetime import timedelta

import temporalio.client
from temporalio.testing import WorkflowEnvironment

# Set (to the address of a running time-skipping test server) by the checker while it
# runs your tests; unset when you run them with pytest.
SHARED_SERVER = "WORKBOOK_TEST_SERVER"
# ... and for the thread that runs them, which outlives the environment variable when the
# checker gives up on a run that hangs: that thread's later tests must still borrow the
# checker's server (or fail to reach it once it is gone), never start one that nobody
# would stop (it outlived the test run as an orphan process).
CHECKER_THREAD = threading.local()
# Under the checker, a workflow started without an execution_timeout gets this one (in
# skipped time), so a broken saga that retries an undo forever ends instead of hanging.
CHECK_EXECUTION_TIMEOUT = timedelta(days=1)


async def start_time_skipping() -> WorkflowEnvironment:
    """A time-skipping WorkflowEnvironment: use it as ``async with await ... as env``."""
    from workbook.server import _balanced, quiet_runtime, start_test_server

    target = getattr(CHECKER_THREAD, "server", None) or os.environ.get(SHARED_SERVER)
    if not target:
        return await start_test_server()
    client = await temporalio.client.Client.connect(
        target, runtime=quiet_runtime(), interceptors=[_BoundedWorkflows()]
    )
    return _balanced(_SharedTimeSkipping(client))  # results awaited side by side keep time locked


def _v1_environment() -> type:
    # The SDK's time-skipping environment class (private, pinned by requirements.txt):
    # it wraps the client so that waiting for a result unlocks time skipping.
    from temporalio.testing._workflow import _V1WorkflowEnvironment

    return _V1WorkflowEnvironment


class _SharedTimeSkipping(_v1_environment()):
    """The checker's test server, borrowed: the same time skipping, no shutdown."""

    def __init__(self, client: temporalio.client.Client) -> None:
        super().__init__(client, server=None)

    async def shutdown(self) -> None:
        pass  # the checker's server: it stops it when the check is over


class _BoundedWorkflows(temporalio.client.Interceptor):
    def intercept_client(self, next: temporalio.client.OutboundInterceptor) -> temporalio.client.OutboundInterceptor:
        return _Bounded(next)


class _Bounded(temporalio.client.OutboundInterceptor):
    async def start_workflow(self, input: temporalio.client.StartWorkflowInput):
        if input.execution_timeout is None:
            input.execution_timeout = CHECK_EXECUTION_TIMEOUT
        return await super().start_workflow(input)
