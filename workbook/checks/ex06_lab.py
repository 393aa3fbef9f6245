"""Exercise 06's bookings: cancels that land at a moment the check chooses, on every run,
and undos that fail for good.

Lab.book cancels as soon as an activity is pending and releases held desks when the
workflow is idle; for a cancel that must land *while a held desk is at work*, those two
would race. So these bookings run on a worker of their own (the learner's, built as every
check builds it), and decide the order themselves:

* ``cancel_at`` with ``held``: the customer cancels once that desk has started its work
  (it waits, held); only when the workflow has nothing else to do is the desk released.
  A workflow that stops waiting for its undos, or waits a fixed time instead, shows it
  whatever the machine's speed: the desk stays held for as long as the workflow is busy.
* ``as_it_lands``: the customer cancels just as that desk answers, so the workflow learns
  of the result and of the cancel in one workflow task. The cancel then reaches it as
  asyncio.CancelledError (the SDK raises it although the activity completed), not as the
  ActivityError of a cancelled activity: the README's case for `except (Exception,
  asyncio.CancelledError)`. Left to the machine that is a race; here the learner's worker
  runs as two, one for the activities and one for the workflow (no cache, so no sticky
  queue). The workflow worker stops while the desk is held; the desk then answers and the
  cancel is requested while nothing runs workflow code; a fresh workflow worker meets both
  in one task, after replaying the history as any worker after a restart would.
* ``refused``: undos whose desk refuses for good (activity name: message): the check's
  worker fails them at once with a non-retryable ApplicationError of type Refused, as the
  refund does in activities.py; a workflow sees exactly what it would see from a desk
  that refuses.

Nothing here changes what the workflow does: it runs as written, on the learner's worker.
"""

from __future__ import annotations

import asyncio
import uuid

from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor, Worker

from workbook.audit import audit
from workbook.checks import (
    CheckFailed, CodeError, Lab, Outcome, _code_error, _Endless, _release_when_idle, _went_on,
)  # fmt: skip
from workbook.checks.observe import PLANS, plan_for
from workbook.explain import explain_workflow_error
from workbook.source import learner_frame
from workbook.timeline import root_cause, timeline_of
from workbook.trips import TripRequest

WITHIN = 20.0  # real seconds for a held desk to start, and for its answer to reach history
LOOK_EVERY = 0.02

REFUSALS: dict[str, dict[str, str]] = {}  # workflow id: {activity: the desk's refusal}


class _Refusing(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput):
        info = activity.info()
        refusal = REFUSALS.get(info.workflow_id, {}).get(info.activity_type)
        if refusal:
            raise ApplicationError(refusal, type="Refused", non_retryable=True)
        return await super().execute_activity(input)


class Refusals(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Refusing(next)


async def book(
    lab: Lab,
    trip: TripRequest,
    *,
    held: tuple[str, ...] = (),
    cancel_at: str | None = None,
    as_it_lands: bool = False,
    refused: dict[str, str] | None = None,
    endless_after: int | None = None,
) -> tuple[Outcome, BaseException | None]:
    """Run the learner's workflow for ``trip`` (see the module's docstring); return what it
    left behind and the error its result raised (None when it returned)."""
    task_queue = f"check-{uuid.uuid4()}"
    # The learner's worker as every check runs it (built on a queue of its own, never run).
    config = {**lab.worker(f"{task_queue}-as-built").config(), "task_queue": task_queue}
    if refused:
        config["interceptors"] = [*config["interceptors"], Refusals()]
        REFUSALS[trip.trip_id] = refused
    plan = plan_for(trip.trip_id)
    plan.held = {name: asyncio.Event() for name in held}

    def workflows(**options) -> Worker:
        return Worker(**{**config, "activities": [], **options})

    try:
        async with Worker(**{**config, "workflows": []}):  # the activities, all along
            paused = {"max_cached_workflows": 0} if as_it_lands else {}
            async with workflows(**paused):
                handle = await lab.start_trip(trip, task_queue)
                reached = cancel_at is None or await _until(lambda: _at_desk(plan, cancel_at), handle)
                if not as_it_lands or not reached:
                    if cancel_at and reached:
                        await handle.cancel()
                    return await _finish(lab, trip, handle, plan, held, endless_after)
            # No workflow worker now: the desk answers, the customer cancels, and the
            # workflow hears of neither until a worker polls again.
            plan.release(cancel_at)
            await plan.landed()
            await _until(lambda: _not_pending(handle, cancel_at), handle)
            await handle.cancel()
            async with workflows(**paused):
                return await _finish(lab, trip, handle, plan, held, endless_after)
    finally:
        PLANS.pop(trip.trip_id, None)
        REFUSALS.pop(trip.trip_id, None)


async def _finish(lab: Lab, trip: TripRequest, handle, plan, held, endless_after=None) -> tuple[Outcome, BaseException | None]:
    """Wait for the workflow's end, releasing what is still held once it is idle."""
    result, error, raised, endless = None, "", None, ""
    releasing = asyncio.ensure_future(_release_when_idle(handle, plan)) if plan.held else None
    try:
        result = await lab._result(handle, endless_after)
        if isinstance(result, _Endless):
            result, endless = None, result.activity
    except WorkflowFailureError as failure:
        raised, error = failure, root_cause(failure)
        code_error = _code_error(failure)
        if code_error is not None:
            kind, message, stack = code_error
            where = learner_frame(stack, lab.modules.folder)
            raise CodeError(explain_workflow_error(kind, message, lab.source, where)) from None
    finally:
        if releasing is not None:
            releasing.cancel()
        await plan.landed()
    swallowed = lab._swallowed(plan)
    if swallowed:
        raise CodeError(swallowed)
    timeline = await timeline_of(handle)
    went_on = await _went_on(handle, held, plan) if held else []
    outcome = Outcome(trip, timeline.status, timeline, result, error, audit(trip.trip_id), endless, went_on, plan.raised)
    return outcome, raised


async def _at_desk(plan, activity_name: str) -> bool:
    return activity_name in plan.landing


async def _not_pending(handle, activity_name: str) -> bool:
    pending = (await handle.describe()).raw_description.pending_activities
    return not any(p.activity_type.name == activity_name for p in pending)


async def _until(condition, handle) -> bool:
    """Wait until ``condition()`` holds (True), or the workflow has closed (False)."""
    for _ in range(int(WITHIN / LOOK_EVERY)):
        if await condition():
            return True
        description = (await handle.describe()).raw_description
        if description.workflow_execution_info.HasField("close_time"):
            return False
        await asyncio.sleep(LOOK_EVERY)
    raise CheckFailed(f"the workflow did not get that far within {WITHIN:.0f} seconds: is it waiting for something?")
