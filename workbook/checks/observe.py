"""What the checks' worker does besides running the learner's code as written.

Installed on every check's worker (Lab.worker), beside FastRetries:

* **Held desks.** A check may hold an activity of one trip (``Plan.held``): it does not
  start its work until the check releases it. So the check, not the machine's load,
  decides which booking lands first and which one is still in flight when another
  fails; see Lab.book(held=...). A held desk does not heartbeat, so a cancel does not
  reach it: like a desk already at work, it finishes its booking once released, and
  only a workflow that waits for it (WAIT_CANCELLATION_COMPLETED, gather) sees it land.
* **Errors the workflow swallowed.** An activity call that raises in workflow code (wrong
  arguments, no timeout) is a bug; when the learner's own ``except`` catches it, history
  shows only its consequence (an undo that never ran). Every such error is recorded
  with the workflow's stack, so the check can name it and its line.
* **Attempts elsewhere.** A check may have some attempts of an activity run in another
  Python process (``Plan.elsewhere``), as after a worker restart: see elsewhere.py.

Nothing here changes what a workflow does: the learner's workflow runs as it would on
their own worker.
"""

from __future__ import annotations

import asyncio
import traceback
from dataclasses import dataclass, field

from temporalio import activity, workflow
from temporalio.worker import (
    ActivityInboundInterceptor, ExecuteActivityInput, Interceptor, StartActivityInput, WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput, WorkflowOutboundInterceptor,
)  # fmt: skip

@dataclass
class Swallowed:
    """An exception that an activity call raised in workflow code."""

    activity: str
    error_type: str
    message: str
    stack: str


@dataclass
class Plan:
    """What a check asked for one workflow (by its id)."""

    held: dict[str, asyncio.Event] = field(default_factory=dict)  # activity: released
    # The held activities that have started and not yet returned (they must land before
    # the world is judged), with the event each sets when it has.
    landing: dict[str, asyncio.Event] = field(default_factory=dict)
    swallowed: list[Swallowed] = field(default_factory=list)
    elsewhere: dict[str, set[int]] = field(default_factory=dict)  # activity: attempts run in another process
    runner: object = None  # an elsewhere.Runner, when ``elsewhere`` is set

    def release(self, *names: str) -> None:
        for name in names or list(self.held):
            if name in self.held:
                self.held[name].set()

    async def landed(self) -> None:
        """Release everything held, and wait until every held activity has returned."""
        self.release()
        waiting = [event.wait() for event in self.landing.values()]
        if waiting:
            await asyncio.gather(*waiting)


PLANS: dict[str, Plan] = {}


def plan_for(workflow_id: str) -> Plan:
    return PLANS.setdefault(workflow_id, Plan())


# --- workflows: the errors activity calls raise ------------------------------------------------


class _Outbound(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle:
        try:
            return super().start_activity(input)
        except Exception as err:
            # Replay would record it twice; the first time is the one the learner's code met.
            if not workflow.unsafe.is_replaying():
                PLANS.setdefault(workflow.info().workflow_id, Plan()).swallowed.append(
                    Swallowed(input.activity, type(err).__name__, str(err), "".join(traceback.format_stack()))
                )
            raise


class _Inbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_Outbound(outbound))


# --- activities: held desks, attempts elsewhere --------------------------------------------------


class _Activity(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput):
        info = activity.info()
        plan = PLANS.get(info.workflow_id)
        if plan is None:
            return await super().execute_activity(input)
        name = info.activity_type
        released = plan.held.get(name)
        landing = None
        if released is not None:
            landing = plan.landing.setdefault(name, asyncio.Event())
            landing.clear()
        try:
            if released is not None:
                await released.wait()
            if info.attempt in plan.elsewhere.get(name, ()):
                return await plan.runner.run(info, input.args)
            return await super().execute_activity(input)
        finally:
            if landing is not None:
                landing.set()


class Observer(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Activity(next)

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _Inbound
