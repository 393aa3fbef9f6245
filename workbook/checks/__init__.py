"""The exercise checks: each proves one outcome on the travel world and in Temporal's
event history, and when it fails it says what it saw and what to try.

One definition serves everyone: `workbook check` prints the verdicts for a student,
`workbook verify` proves every exercise for an instructor, and pytest runs the same
checks in CI. A suite lives in ``workbook/checks/exNN.py`` as ``suite = Suite(...)``.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import importlib
import logging
import os
import tempfile
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Awaitable, Callable

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import Worker

from workbook import sdk_shortcuts, world
from workbook.audit import AuditReport, audit, dollars
from workbook.checks.fast_retries import FastRetries
from workbook.checks.observe import PLANS, Observer, Plan, instrumented, plan_for
from workbook.explain import explain_exception, explain_workflow_error
from workbook.report import activity_bug, task_failure
from workbook.source import learner_frame, program_exits
from workbook.loader import exercise_dir, loaded
from workbook.timeline import Timeline, root_cause, timeline_of
from workbook.trips import TripRequest, example_trip

sdk_shortcuts.install()  # the checker's workers: the same verdicts for less CPU

CHECK_TIMEOUT = 60.0  # real seconds; a healthy check takes well under one
RESULT_TIMEOUT = 20.0  # real seconds to wait for one workflow's result
LOOK_EVERY = 0.5  # real seconds between looks for a workflow that is stuck
BOUNDED_BUDGET = 600  # seconds: a schedule_to_close_timeout up to this bounds the retries


class CheckFailed(AssertionError):
    """What the check saw, in plain words, and what to try. ``mistake``: a name for the
    mistake behind it, for a message whose words differ from check to check (a step, an
    id) while the mistake is one: a later check it fails says "failed the same way"."""

    def __init__(self, *args, mistake: str = ""):
        super().__init__(*args)
        self.mistake = mistake


class CodeError(CheckFailed):
    """A bug in the learner's code (a TypeError, a sandbox violation, sys.exit()...):
    it would break every other check the same way, so the suite stops at it."""


SAME_CAUSE = "not run: same cause as above. Fix that first, then check again."
SAME_WAY = "failed the same way: same cause as above."


def expect(condition: object, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def arrow(names: list[str]) -> str:
    return " → ".join(names) if names else "(nothing)"


@dataclass
class Outcome:
    """Everything one workflow run left behind."""

    trip: TripRequest
    status: str  # Completed, Failed, TimedOut, ...
    timeline: Timeline
    result: object = None
    error: str = ""  # the root cause when it failed
    report: AuditReport = field(default_factory=AuditReport)
    # The activity that was still retrying without end when the check gave up on the
    # workflow and terminated it (see Lab.book's endless_after); "" otherwise.
    endless: str = ""
    # What the workflow started while a held desk was still at work (see Lab.book's held).
    went_on: list[str] = field(default_factory=list)
    # What each attempt of an activity raised on the checks' worker (see observe.Plan.raised).
    raised: dict[str, list[str]] = field(default_factory=dict)

    def tries(self, run) -> int:
        """How many attempts of ``run`` failed with its last error: its attempt count, less
        attempts that failed otherwise (an attempt that timed out on a loaded machine was
        retried, and is no retry of a business error)."""
        seen = self.raised.get(run.name)
        if not seen or not run.error_type or run.error_type not in seen:
            return run.attempts
        return seen.count(run.error_type)

    def describe_orphans(self) -> str:
        parts = [f"{o.kind} {o.id}" for o in self.report.reservations]
        if self.report.charges:
            parts.append(f"{dollars(self.report.charged_cents)} charged")
        return ", ".join(parts)


@dataclass
class Check:
    name: str
    title: str
    run: Callable[["Lab"], Awaitable[None]]


@dataclass
class CheckResult:
    name: str
    title: str
    passed: bool
    detail: str = ""
    ran: bool = True  # False: skipped, because an earlier check hit a bug in the code
    cause: CheckFailed | None = field(default=None, repr=False, compare=False)


@dataclass
class Suite:
    exercise: str  # "03"
    title: str
    uses_temporal: bool = True
    checks: list[Check] = field(default_factory=list)
    # "test": the time-skipping test server; "dev": a local dev server, for what the
    # test server gets wrong (activities run after a workflow was cancelled).
    server: str = "test"
    # The workflow class the learner's workflow.py defines (exercise 13 fulfils an order).
    workflow: str = "BookTripWorkflow"

    def check(self, title: str):
        """Decorator: register ``async def name(lab)`` as a check with a plain title."""

        def register(fn):
            self.checks.append(Check(fn.__name__, title, fn))
            return fn

        return register

    def reuse(self, other: "Suite", *names: str) -> None:
        """Run checks of ``other`` (by name, in this order) as this suite's own: a later
        exercise that must still pass an earlier one's scenarios (08: 03's and 06's)."""
        by_name = {check.name: check for check in other.checks}
        self.checks += [by_name[name] for name in names]


def load_suite(exercise: str | int) -> Suite:
    number = exercise_dir(exercise).name[:2]
    return importlib.import_module(f"workbook.checks.ex{number}").suite


class Lab:
    """What a check works with: the exercise's modules, a client, a fresh world."""

    def __init__(self, modules, client: Client | None, prefix: str = "check", task_queue: str | None = None):
        self.modules = modules
        self.client = client
        self.prefix = prefix  # every trip of this check starts with it (its faults' scope)
        self.task_queue = task_queue  # a worker already runs there; None: start one per booking
        self._trips = 0

    @property
    def source(self) -> str:
        path = self.modules.folder / "workflow.py"
        return path.read_text() if path.exists() else ""

    @property
    def activity_names(self) -> list[str]:
        """The names of the exercise's activities (its activities.py)."""
        module = getattr(self.modules, "activities", None)
        return activity_names(vars(module).values()) if module else []

    def trip(self, **changes) -> TripRequest:
        """The example trip, with a fresh id, and with ``changes`` applied."""
        self._trips += 1
        return example_trip(f"{self.prefix}-{self._trips}-{uuid.uuid4().hex[:6]}", **changes)

    def worker(self, task_queue: str, activities_from=None) -> Worker:
        """The learner's own worker (their registrations, their executor), on a private
        task queue. It runs the workflow as their worker would: a bug in workflow code
        fails its *task*, which Temporal retries forever; _result() notices that and says
        why. Two interceptors that change nothing the workflow does: retries at a
        thousandth of their pace (FastRetries), and the check's eyes (observe.Observer).
        ``activities_from``: a module whose activities replace the registered ones of the
        same name (a fresh import of activities.py, whose module-level state is then this
        worker's own, as a worker process's is: exercise 12's circuit breaker)."""
        create_worker = getattr(self.modules.worker, "create_worker", None)
        if not create_worker:
            raise CodeError("worker.py has no create_worker(client) function: did you rename it?")
        # Built on a throwaway queue and never run: we only read its configuration.
        config = create_worker(self.client, task_queue=f"{task_queue}-as-written").config()
        workflow_class = self.workflow_class
        if workflow_class not in config.get("workflows", []):
            raise CodeError(
                f"{workflow_class.__name__} is not registered on the worker: add it to workflows=[...] "
                "in worker.py's create_worker()."
            )
        registered = activity_names(config.get("activities", []))
        missing = [name for name in activity_names(vars(self.modules.workflow).values()) if name not in registered]
        if missing:
            them = "it" if len(missing) == 1 else "them"
            raise CodeError(
                f"workflow.py uses {', '.join(missing)}, but the worker does not register {them}: "
                f"add {them} to activities=[...] in worker.py's create_worker(). A worker runs "
                "only what it was given."
            )
        if activities_from is not None:
            fresh = {activity_names([value])[0]: value for value in vars(activities_from).values() if activity_names([value])}
            config["activities"] = [fresh.get((activity_names([a]) or [""])[0], a) for a in config["activities"]]
        config.update(
            # Without a build id, Worker() hashes the bytecode of every loaded module
            # (an eighth of a second); these workers are never versioned.
            build_id=config.get("build_id") or "workbook-check",
            task_queue=task_queue,
            interceptors=[*config.get("interceptors", []), FastRetries(), Observer()],
        )
        return Worker(**config)

    @property
    def workflow_class(self):
        """The learner's workflow class: BookTripWorkflow, or the one their Suite names."""
        name = getattr(self.modules, "workflow_name", "BookTripWorkflow")
        found = getattr(self.modules.workflow, name, None)
        if found is None:
            raise CodeError(f"workflow.py defines no class {name}: did you rename it? The worker and the starter use that name.")
        return found

    async def start_trip(self, trip, task_queue: str):
        """Start the learner's BookTripWorkflow for ``trip``; its handle, untyped: a workflow
        that returns the wrong thing (say a dict saying "failed") is shown as what it
        returned, not as a TypeError of ours."""
        started = await self.client.start_workflow(
            self.workflow_class.run,
            trip,
            id=workflow_id(trip),
            task_queue=task_queue,
            execution_timeout=timedelta(minutes=30),
        )
        return self.client.get_workflow_handle(started.id, run_id=started.result_run_id)

    async def book(
        self,
        trip: TripRequest,
        *,
        endless_after: int | None = None,
        cancel_during: str | None = None,
        held: tuple[str, ...] = (),
        elsewhere: dict[str, set[int]] | None = None,
        cancel_when_idle: bool = False,
        released_by: Callable[[], Awaitable[object]] | None = None,
    ) -> Outcome:
        """Run the exercise's workflow for ``trip`` on the learner's worker.

        ``endless_after``: for a check whose service stays down on purpose. An activity
        whose retry policy has no maximum_attempts, and that has failed more than this many
        attempts, would keep the workflow open forever: terminate it then, instead of
        waiting RESULT_TIMEOUT, and return what it left behind (status Terminated, with
        ``Outcome.endless`` naming the activity), so the check can say why.
        ``cancel_during``: request the workflow's cancellation (once) as soon as this
        activity is running, as a customer who changes their mind would.
        ``held``: activities whose desks do not start their work until the workflow has
        nothing else to do (it waits for them, or it has ended): then they are released,
        and the world is judged once each has landed. Whatever the workflow started in
        the meantime (an undo, a timer) is in ``Outcome.went_on``: it did not wait.
        ``cancel_when_idle`` (with ``held``): the first time the workflow has nothing to do
        but wait for its held desks, request its cancellation (once), as a customer who
        changes their mind while those desks are at work; the desks are released only
        once the workflow has dealt with the cancel and is idle again.
        ``elsewhere``: activity name: the attempts of it run in another Python process
        (a fresh import of activities.py), as after a worker restart.
        ``released_by`` (with ``held``): instead of when the workflow is idle, the held desks
        are released when this returns; it is awaited once every held desk has been picked
        up (the workflow waits for them), so the check decides what other trips do while
        this one is halfway (exercise 11)."""
        task_queue = self.task_queue or f"check-{uuid.uuid4()}"
        plan = plan_for(workflow_id(trip))
        plan.held = {name: asyncio.Event() for name in held}
        if elsewhere:
            plan.elsewhere = elsewhere
            plan.runner = await self._runner()
        try:
            async with self.worker(task_queue) if self.task_queue is None else contextlib.nullcontext():
                handle = await self.start_trip(trip, task_queue)
                result, error, endless = None, "", ""
                helpers = [asyncio.ensure_future(_cancel_during(handle, cancel_during))] if cancel_during else []
                if held and released_by is not None:
                    helpers.append(asyncio.ensure_future(_release_after(plan, held, released_by)))
                elif held:
                    helpers.append(asyncio.ensure_future(_release_when_idle(handle, plan, cancel_when_idle)))
                try:
                    result = await self._result(handle, endless_after)
                    if isinstance(result, _Endless):
                        result, endless = None, result.activity
                except WorkflowFailureError as failure:
                    error = root_cause(failure)
                    code_error = _code_error(failure)
                    if code_error is not None:
                        kind, message, stack = code_error
                        where = learner_frame(stack, self.modules.folder)
                        raise CodeError(explain_workflow_error(kind, message, self.source, where)) from None
                finally:
                    for helper in helpers:
                        helper.cancel()
                    await plan.landed()  # a booking nothing waited for lands now: it is part of the outcome
                swallowed = self._swallowed(plan)
                if swallowed:
                    raise CodeError(swallowed)
                timeline = await timeline_of(handle)
                went_on = await _went_on(handle, held, plan) if held else []
        finally:
            PLANS.pop(workflow_id(trip), None)
        return Outcome(trip, timeline.status, timeline, result, error, audit(workflow_id(trip)), endless, went_on,
                       plan.raised)  # fmt: skip

    async def _runner(self):
        """The other process that runs attempts ``elsewhere`` (one per Lab, started once)."""
        from workbook.checks.elsewhere import Runner

        if getattr(self.modules, "_elsewhere", None) is None:
            runner = self.modules._elsewhere = Runner(self.modules.folder)
            self.modules._elsewhere_started = asyncio.ensure_future(runner.start())
        await asyncio.shield(self.modules._elsewhere_started)
        return self.modules._elsewhere

    def _swallowed(self, plan: Plan) -> str:
        """The first bug that the learner's own code caught and went on from (the outcome
        alone would hide it), in words; or ''."""
        if not plan.swallowed:
            return ""
        error = plan.swallowed[0]
        where = learner_frame(error.stack, self.modules.folder)
        if error.activity:  # raised by the SDK's activity call, caught somewhere
            fix = ("give it a start_to_close_timeout=timedelta(...)" if "timeout" in error.message else
                   "the activity, its argument (args=[...] for several), then the options by name")  # fmt: skip
            return (
                f"calling {error.activity} raised {error.error_type} in workflow code "
                f"({where or 'workflow.py'}): {error.message}. Your own code caught it and went on "
                f"as if the activity had failed, so {error.activity} never ran. Fix the call: {fix}."
            )
        raised = f" ({where})" if where else ""
        return (
            f"your `except` ({error.caught_at}) caught a {error.error_type} raised by your own code"
            f"{raised}: {error.message}. That is a bug, not a failed step, and catching it hides it: "
            "the saga went on as if a step had failed. Fix the code that raised it; an except "
            "block of a saga is for activity failures (ActivityError) and cancels."
        )

    async def _result(self, handle, endless_after: int | None = None):
        """The workflow's result. A workflow whose *task* keeps failing (it cannot even
        be started by the worker) never fails by itself: look for that every second.
        With ``endless_after`` (see book), an _Endless when an activity retries forever."""
        waiting = asyncio.ensure_future(handle.result())
        try:
            for _ in range(int(RESULT_TIMEOUT / LOOK_EVERY)):
                done, _ = await asyncio.wait({waiting}, timeout=LOOK_EVERY)
                if done:
                    return waiting.result()
                reason = await task_failure(handle, self.source, self.modules.folder)
                if reason:  # the learner's worker would retry this task forever: end it now
                    await _terminate(handle, "the check stopped it: its workflow task keeps failing")
                    raise CodeError(reason)
                reason = await activity_bug(handle, self.source)
                if reason:
                    await _terminate(handle, "the check stopped it: an activity keeps failing with a bug")
                    raise CodeError(reason)
                endless = endless_after is not None and await _retrying_forever(handle, endless_after)
                if endless:
                    await handle.terminate(reason=f"the check gave up: {endless} retries forever")
                    return _Endless(endless)
            raise CheckFailed(
                f"the workflow did not finish within {RESULT_TIMEOUT:.0f} seconds: is it "
                f"waiting for something that never happens?{await _last_event(handle)}"
            )
        finally:
            waiting.cancel()


def workflow_id(request) -> str:
    """The workflow id of a booking request: a trip's id, or an order's (exercise 13)."""
    return getattr(request, "trip_id", None) or request.order_id


async def _terminate(handle, reason: str) -> None:
    try:
        await handle.terminate(reason=reason)
    except Exception:  # it ended meanwhile
        pass


IDLE_EVERY = 0.03  # real seconds between looks at a workflow whose desks are held


async def _release_after(plan: Plan, held: tuple[str, ...], released_by) -> None:
    """Release the held desks once each has been picked up and ``released_by()`` returned
    (it ran whatever the check wants done meanwhile); see Lab.book."""
    try:
        while not all(name in plan.landing and not plan.landing[name].is_set() for name in held):
            await asyncio.sleep(IDLE_EVERY)
        await released_by()
    finally:
        plan.release()


async def _release_when_idle(handle, plan: Plan, cancel_first: bool = False) -> None:
    """Release the held desks once the workflow has nothing to do but wait for them: no
    workflow task pending, no other activity pending, no timer running. A workflow that
    starts an undo or a timer instead is not idle: its desks stay held until it has
    settled down again, or ended (Lab.book releases them then). Each look reads one
    history (a consistent moment): a describe() and a history read apart could see a
    timer running in one and fired in the other, and release a desk during the undos.

    ``cancel_first``: the first time it is idle (each held desk picked up and at work),
    request its cancellation instead. At each idle moment after that, release the held
    desks the workflow asked to stop (they finish what they were doing), or, if it asked
    none, all of them: a desk nobody asked to stop keeps working until the workflow
    waits for it."""
    held = set(plan.held)
    cancelled = False
    while True:
        state = await _workflow_state(handle)
        if state.closed:
            return
        pending = set(state.activities.values())
        if not (state.task or state.timers or pending - held) and pending:
            at_work = all(name in plan.landing and not plan.landing[name].is_set() for name in pending)
            if not cancel_first:
                plan.release()
                return
            if not cancelled:
                if at_work:  # a cancel must find the held desks at work, not still to be picked up
                    cancelled = True
                    await handle.cancel()  # its workflow task is pending from here on
            else:
                asked = {name for event_id, name in state.activities.items() if event_id in state.asked}
                plan.release(*(asked or pending))
        await asyncio.sleep(IDLE_EVERY)


@dataclass
class _State:
    """A workflow as one read of its history shows it."""

    closed: bool = False
    task: bool = False  # a workflow task scheduled or running
    activities: dict[int, str] = field(default_factory=dict)  # open: scheduled event id: name
    asked: set[int] = field(default_factory=set)  # ... whose cancellation the workflow requested
    timers: set[int] = field(default_factory=set)  # running timers


_TASK_ENDS = ("workflow_task_completed_event_attributes", "workflow_task_failed_event_attributes",
              "workflow_task_timed_out_event_attributes")  # fmt: skip
_ACTIVITY_ENDS = ("activity_task_completed_event_attributes", "activity_task_failed_event_attributes",
                  "activity_task_timed_out_event_attributes", "activity_task_canceled_event_attributes")  # fmt: skip
_WORKFLOW_ENDS = ("workflow_execution_completed_event_attributes", "workflow_execution_failed_event_attributes",
                  "workflow_execution_canceled_event_attributes", "workflow_execution_terminated_event_attributes",
                  "workflow_execution_timed_out_event_attributes", "workflow_execution_continued_as_new_event_attributes")  # fmt: skip


async def _workflow_state(handle) -> _State:
    state = _State()
    async for event in handle.fetch_history_events():
        if event.HasField("workflow_task_scheduled_event_attributes"):
            state.task = True
        elif any(event.HasField(name) for name in _TASK_ENDS):
            state.task = False
        elif event.HasField("activity_task_scheduled_event_attributes"):
            state.activities[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
        elif event.HasField("activity_task_cancel_requested_event_attributes"):
            state.asked.add(event.activity_task_cancel_requested_event_attributes.scheduled_event_id)
        elif event.HasField("timer_started_event_attributes"):
            state.timers.add(event.event_id)
        elif event.HasField("timer_fired_event_attributes"):
            state.timers.discard(event.timer_fired_event_attributes.started_event_id)
        elif event.HasField("timer_canceled_event_attributes"):
            state.timers.discard(event.timer_canceled_event_attributes.started_event_id)
        elif any(event.HasField(name) for name in _WORKFLOW_ENDS):
            state.closed = True
        for name in _ACTIVITY_ENDS:
            if event.HasField(name):
                state.activities.pop(getattr(event, name).scheduled_event_id, None)
    return state


async def _timer_running(handle) -> bool:
    running: set[int] = set()
    async for event in handle.fetch_history_events():
        if event.HasField("timer_started_event_attributes"):
            running.add(event.event_id)
        for name in ("timer_fired_event_attributes", "timer_canceled_event_attributes"):
            if event.HasField(name):
                running.discard(getattr(event, name).started_event_id)
    return bool(running)


async def _went_on(handle, held: tuple[str, ...], plan: Plan) -> list[str]:
    """What the workflow started, in a later workflow task than the one that started a
    held activity, before that activity had returned: undos, other steps, timers."""
    history = await handle.fetch_history()
    first_held_task, names, went_on = None, {}, []
    landed: set[str] = set()
    for event in history.events:
        scheduled = event.activity_task_scheduled_event_attributes if event.HasField(
            "activity_task_scheduled_event_attributes") else None  # fmt: skip
        if scheduled is not None:
            names[event.event_id] = name = scheduled.activity_type.name
            if name in held and first_held_task is None:
                first_held_task = scheduled.workflow_task_completed_event_id
            elif first_held_task is not None and scheduled.workflow_task_completed_event_id > first_held_task:
                if not set(held) <= landed:
                    went_on.append(name)
            continue
        for kind in ("completed", "failed", "timed_out", "canceled"):
            field_name = f"activity_task_{kind}_event_attributes"
            if event.HasField(field_name):
                name = names.get(getattr(event, field_name).scheduled_event_id, "")
                if name in held:
                    landed.add(name)
        if event.HasField("timer_started_event_attributes") and first_held_task is not None:
            if not set(held) <= landed:
                seconds = event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta().total_seconds()
                went_on.append(f"a timer of {seconds:g} s")
    return went_on


async def _last_event(handle) -> str:
    """Where a workflow that never finishes stands: its last event in history, as words."""
    last = None
    async for event in handle.fetch_history_events():
        last = event
    if last is None:
        return ""
    kind = EventType.Name(last.event_type).removeprefix("EVENT_TYPE_").replace("_", " ").lower()
    activity = last.activity_task_scheduled_event_attributes.activity_type.name
    return f" Its history ends with: {kind}{f' ({activity})' if activity else ''}."


async def _cancel_during(handle, activity: str) -> None:
    while True:
        pending = (await handle.describe()).raw_description.pending_activities
        if any(p.activity_type.name == activity for p in pending):
            await handle.cancel()
            return
        await asyncio.sleep(0.05)


async def server_for(suite: Suite):
    """A fresh server of the kind ``suite`` needs (shut it down after), or None."""
    from workbook.server import start_server

    return await start_server(suite.server if suite.uses_temporal else None)


@dataclass
class _Endless:
    activity: str


async def _retrying_forever(handle, attempts: int) -> str:
    """The name of a pending activity that has failed more than ``attempts`` times and
    that nothing but success ends: no maximum_attempts, and no schedule_to_close_timeout
    shorter than the workflow's own (the server sets that one when none is given), or "".
    Or of an activity that the workflow's own code keeps asking for again (a loop around
    the call: each time an activity of its own, its attempts few), which has failed more
    than ``attempts`` times in all, as the checks' worker saw it (observe.Plan.raised)."""
    plan = PLANS.get(handle.id)
    if plan is not None:
        for name, raised in list(plan.raised.items()):
            if len(raised) > attempts and await _asked_again(handle, name):
                return name
    for pending in (await handle.describe()).raw_description.pending_activities:
        budget = pending.expiration_time.ToSeconds() - pending.scheduled_time.ToSeconds()
        bounded = pending.maximum_attempts or (pending.HasField("expiration_time") and 0 < budget <= BOUNDED_BUDGET)
        if not bounded and pending.attempt > attempts and pending.HasField("last_failure"):
            return pending.activity_type.name
    return ""


async def _asked_again(handle, name: str) -> bool:
    """The workflow scheduled activity ``name`` more than once (its code asked again)."""
    scheduled = 0
    async for event in handle.fetch_history_events():
        if (event.HasField("activity_task_scheduled_event_attributes")
                and event.activity_task_scheduled_event_attributes.activity_type.name == name):  # fmt: skip
            scheduled += 1
            if scheduled > 1:
                return True
    return False


def activity_names(objects) -> list[str]:
    """The activity names of the ``@activity.defn`` functions among ``objects``, in order
    (e.g. a worker's activities=[...], or the names a workflow module imported)."""
    names = []
    for obj in objects:
        definition = getattr(obj, "__temporal_activity_definition", None) if callable(obj) else None
        name = getattr(definition, "name", None)
        if name and name not in names:
            names.append(name)
    return names


def _code_error(failure: WorkflowFailureError) -> tuple[str, str, str] | None:
    """(type, message, stack trace) if the workflow failed because of a bug in the
    learner's code: in the workflow itself, or a TODO still raising NotImplementedError
    anywhere. None when it failed the way a saga should: an activity failed and it was
    re-raised (a bug inside an activity is judged from history, with the saga)."""
    chain = []
    cause = failure.cause
    while cause is not None:
        chain.append(cause)
        cause = cause.__cause__

    def stack(error) -> str:
        return error.failure.stack_trace if getattr(error, "failure", None) else ""

    for error in chain:
        if isinstance(error, ApplicationError) and error.type == "NotImplementedError":
            return error.type, error.message, stack(error)
    # A Python error that failed the workflow (a worker with workflow_failure_exception_types,
    # as exercise 08's probes have) rather than an ApplicationError the saga raised on purpose.
    if chain and isinstance(chain[0], ApplicationError) and chain[0].type in _PYTHON_ERRORS and not any(
        isinstance(c, ActivityError) for c in chain
    ):
        return chain[0].type, chain[0].message, stack(chain[0])
    return None


_PYTHON_ERRORS = {name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)}


async def run_suite(
    suite: Suite,
    folder: Path,
    server: WorkflowEnvironment | Client | None,
    only: set[str] | None = None,
    first_failure: bool = False,
) -> list[CheckResult]:
    """Run the checks of ``suite`` (all, or those named in ``only``) against ``folder``,
    on a fresh travel world. ``server``: a WorkflowEnvironment, a Client, or None for an
    exercise without Temporal.
    ``first_failure``: stop at the first check that fails (what a student reads first)."""
    client = server.client if isinstance(server, WorkflowEnvironment) else server
    saved_db = os.environ.get(world.DB_ENV_VAR)
    # Activity failures are the point of most checks: the SDK's warnings about them
    # would only bury the verdicts. So would Python's "coroutine ... was never awaited"
    # warnings: the check names the line that lacks its `await` instead.
    logging.getLogger("temporalio").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)
    checks = [c for c in suite.checks if only is None or c.name in only]
    results: list[CheckResult] = []
    with tempfile.TemporaryDirectory(prefix="workbook-check-") as scratch:
        try:
            exits = _exits(folder) if suite.uses_temporal else ""
            if exits:
                raise CodeError(exits)
            with instrumented(folder), loaded(folder) as modules:
                modules.workflow_name = suite.workflow
                if suite.uses_temporal:
                    results = await _run_side_by_side(checks, modules, client, Path(scratch), first_failure)
                else:
                    results = await _run_one_by_one(checks, modules, Path(scratch), first_failure)
        except BaseException as err:  # the folder does not even import (or exits as it does)
            if isinstance(err, asyncio.CancelledError):
                raise
            detail = str(err) if isinstance(err, CodeError) else explain_exception(err, Path(folder).resolve())
            results = [CheckResult("loads", "The exercise's files load", False, detail)]
            results += _not_run(checks)
        finally:
            if saved_db is None:
                os.environ.pop(world.DB_ENV_VAR, None)
            else:
                os.environ[world.DB_ENV_VAR] = saved_db
    return results


def _not_run(checks: list[Check]) -> list[CheckResult]:
    return [CheckResult(c.name, c.title, False, SAME_CAUSE, ran=False) for c in checks]


async def _run_one_by_one(checks, modules, scratch: Path, first_failure: bool) -> list[CheckResult]:
    """Checks that drive the learner's code in this process (exercise 01), each on a
    world of its own, one after another; a bug in the code stops them."""
    results: list[CheckResult] = []
    for index, check in enumerate(checks):
        os.environ[world.DB_ENV_VAR] = str(scratch / f"{check.name}.db")
        world.reset()
        results.append(await _run_one(check, Lab(modules, None)))
        if isinstance(results[-1].cause, CodeError):
            return results + _not_run(checks[index + 1 :])
        if first_failure and not results[-1].passed:
            break
    return results


async def _run_side_by_side(checks, modules, client, scratch: Path, first_failure: bool) -> list[CheckResult]:
    """Temporal checks share one world and run concurrently: each books its own trips,
    and its injected faults are scoped to them. A bug in the code that the first check
    meets is reported once: the other checks it stopped are marked not run."""
    os.environ[world.DB_ENV_VAR] = str(scratch / "world.db")
    world.reset()

    task_queue = f"check-{uuid.uuid4()}"

    async def run(check: Check) -> CheckResult:
        prefix = f"{check.name}-{uuid.uuid4().hex[:4]}"
        world.FAULT_SCOPE.set(prefix)  # this task's context only
        return await _run_one(check, Lab(modules, client, prefix, task_queue))

    if not checks:
        return []
    try:  # one worker for every check: building one costs a sandbox validation
        worker = Lab(modules, client).worker(task_queue)
    except CheckFailed as failed:
        return [CheckResult(checks[0].name, checks[0].title, False, str(failed), cause=failed), *_not_run(checks[1:])]
    async with worker:
        if first_failure:  # only the first failure is wanted: the checks after it need not run
            results = []
            for check in checks:
                results.append(await asyncio.ensure_future(run(check)))  # a task: its own fault scope
                if not results[-1].passed:
                    break
        else:
            results = list(await asyncio.gather(*(run(check) for check in checks)))
    if isinstance(results[0].cause, CodeError):  # a bug in the code: one cause, one message
        return results[:1] + [
            _not_run([check])[0] if isinstance(result.cause, CodeError) else result
            for check, result in zip(checks[1:], results[1:])
        ]
    said: set[str] = set()  # one cause, one message: a check that fails the same way says so
    for result in results:
        if not result.passed:
            key = getattr(result.cause, "mistake", "") or (str(result.cause) if result.cause else result.detail)
            if key in said or result.detail in said:
                result.detail = SAME_WAY
            said.add(key)
    return results


def _exits(folder: Path) -> str:
    """A call that ends the program, in workflow or activity code, would end the checks
    themselves (it escapes the worker): name it before anything runs."""
    for name in ("workflow.py", "activities.py"):
        path = Path(folder) / name
        found = program_exits(path.read_text()) if path.exists() else []
        if found:
            line, what = found[0]
            return (
                f"`{what}` ends the program ({name}, line {line}); in a saga it would skip "
                "every compensation. Re-raise the error instead (`raise`)."
            )
    return ""


async def _run_one(check: Check, lab: Lab) -> CheckResult:
    try:
        await asyncio.wait_for(check.run(lab), CHECK_TIMEOUT)
    except CheckFailed as failed:
        return CheckResult(check.name, check.title, False, str(failed), cause=failed)
    except asyncio.TimeoutError:
        detail = f"the check did not finish in {CHECK_TIMEOUT:.0f} seconds: is something waiting forever?"
        return CheckResult(check.name, check.title, False, detail)
    except (Exception, SystemExit, KeyboardInterrupt, GeneratorExit) as err:
        # Learner code run in this process (exercise 01) may raise anything at all.
        failed = CodeError(explain_exception(err, lab.modules.folder))
        return CheckResult(check.name, check.title, False, str(failed), cause=failed)
    return CheckResult(check.name, check.title, True)


# --- expectations shared by the suites --------------------------------------------


def expect_status(outcome: Outcome, status: str, why: str = "") -> None:
    expect(
        outcome.status == status,
        f"the workflow ended {outcome.status}; expected {status}." + (f" {why}" if why else ""),
    )


def expect_no_orphans(outcome: Outcome) -> None:
    expect(
        not outcome.report.orphans,
        f"the audit found orphans: {outcome.describe_orphans()} are still held or charged "
        f"for trip {outcome.trip.trip_id}, which is not confirmed.",
    )
    extras = outcome.report.double_bookings
    expect(
        not extras,
        f"the audit found double bookings: trip {outcome.trip.trip_id} is confirmed, yet it also "
        f"holds {', '.join(f'{o.kind} {o.id}' for o in extras)} besides what its itinerary names.",
    )


# The steps of a whole booking, in the order every exercise runs them.
STEPS = ["book_flight", "book_hotel", "book_car", "charge_payment", "confirm_trip"]


def expect_trip_booked(outcome: Outcome) -> None:
    """Completed, every step once and in order, nothing undone, confirmed, no orphans."""
    expect_status(outcome, "Completed", f"It failed with: {outcome.error}")
    steps = outcome.timeline.steps
    expect(steps == STEPS, f"the steps ran {arrow(steps)}; expected {arrow(STEPS)}, each once.")
    expect(
        not outcome.timeline.compensations,
        f"nothing failed, yet {arrow(outcome.timeline.compensations)} ran: undo only when a "
        "step fails, in the except block.",
    )
    expect(world.is_confirmed(outcome.trip.trip_id), "the workflow completed, but the trip was not confirmed.")
    expect_itinerary_matches(outcome)
    expect_no_orphans(outcome)


ITINERARY_FIELDS = {"flight_reservation": "flight", "hotel_reservation": "hotel",
                    "car_reservation": "car", "payment_id": "charge"}  # fmt: skip


def expect_itinerary_matches(outcome: Outcome) -> None:
    """What the workflow returned names what the trip really holds: each field the id of
    the trip's one reservation of that kind (or its one charge) in the travel world."""
    result = outcome.result
    if not isinstance(result, dict):
        raise CheckFailed(
            f"the workflow returned {_short(result)}; expected the Itinerary with the trip's "
            "reservation ids and payment id."
        )
    trip_id = outcome.trip.trip_id
    held = {r.kind: r.id for r in world.reservations(trip_id) if r.status in world.HOLDING}
    held.update({"charge": p.id for p in world.payments(trip_id) if p.status == "charged"})
    kind_of = {value: kind for kind, value in held.items()}
    for name, kind in ITINERARY_FIELDS.items():
        returned = result.get(name)
        if returned == held.get(kind):
            continue
        owner = kind_of.get(returned)
        really = f"; {_short(returned)} is its {'payment' if owner == 'charge' else owner}" if owner else ""
        raise CheckFailed(
            f"the workflow returned {name}={_short(returned)}, but trip {trip_id}'s "
            f"{'payment' if kind == 'charge' else kind} is {held.get(kind, 'not in the world')}{really}: "
            "the Itinerary must name each booking in its own field. Look at the order in which "
            "you hand the steps' results to Itinerary(...)."
        )


def _short(value: object) -> str:
    import reprlib

    shortened = reprlib.Repr()
    shortened.maxstring = shortened.maxother = 60
    return shortened.repr(value)


def format_results(results: list[CheckResult]) -> str:
    return "\n".join(
        f"{'PASS' if r.passed else 'FAIL'} {r.title}" + ("" if r.passed else f"\n     {r.detail}")
        for r in results
    )
