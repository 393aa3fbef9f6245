"""Checks for exercise 09: durability and replay.

- A change: the email step, added after the first trips were booked. New trips send it,
  after confirm_trip (the pivot), and it must have *run* (completed, seen by the mail
  service), not only been scheduled; a new run's own history must replay; an email that
  cannot be sent leaves the trip standing; a failed trip gets no email, and is undone.
- Replay: the shipped history (recorded by exercise 08's workflow, before the email)
  must replay against the learner's workflow (Part B), and the learner's replay test must
  pass on it and fail on an unpatched copy of it, counted as pytest counts it (Part C;
  see ex09_replay).
- A crash (last: a Part B or C mistake is judged without it): the learner's own worker.py
  runs as a real process, and is killed with SIGKILL while book_hotel is slow; a new
  worker.py finishes the trip. The world and the history must show each booking made
  once, the killed attempt retried, the Itinerary naming the world's bookings, and zero
  orphans.

README point -> scenario -> what fails when the point is violated:

| README point | scenario | what fails |
|---|---|---|
| new runs take the new step (patched is True) | booked_with_email: a trip, nothing wrong | no send_confirmation_email in history (`if not patched`) |
| the email goes after confirm_trip | booked_with_email | steps in history out of order, or the email twice |
| the email is sent, not only scheduled | booked_with_email | email not completed in history / not in the world's journal (an unawaited task or start_activity) |
| a new run replays too (the patch, not replay state) | booked_with_email: its history fetched and replayed | NondeterminismError (`is_replaying()`, anything that differs on replay) |
| the email is auxiliary: the trip stands without it | email_down: send_email down for good | trip Failed / undone (uncaught, `except ApplicationError`, in the saga), or endless (no maximum_attempts) |
| only a booked trip is emailed; a failed one is undone | undone_without_email: confirm_trip refused | email in history; undos / flag wrong (saga.expect_undone) |
| old runs keep their path (patched, not deprecate_patch) | old_history_replays: the shipped history replayed | TMPRL1100, with the cause read from which calls the code makes |
| the replay test replays the shipped history, lets the error raise | replay_test: run on the workflow, then on a copy with patched() -> True | passes on the unpatched copy (never replays, swallowed, raise_on_replay_failure=False, not awaited) |
| the test is run as pytest runs it | replay_test: pytest's collection (test*, Test* classes) and marks | skip / skipif / xfail mark, pytest.skip()/xfail() inside: "protects nothing"; no collectable test |
| a dead worker is noticed in seconds (heartbeat_timeout) | crash: book_hotel's scheduled event read before the kill | no or long heartbeat_timeout, named at once |
| no step runs twice, no booking is lost, zero orphans | crash: kill -9 during book_hotel, a new worker.py | a step twice in history, a booking made twice in the world, wrong Itinerary, orphans |
| the retry reuses the key, so a crash after the booking books once (a key the same in every process) | booked_with_email: book_hotel's reply lost, its retry in a fresh Python process (the crash kills before the desk books) | "the same only within one worker process": two rooms |

They run on a local dev server (Suite.server = "dev"): a real worker process must reach
the server, and time must pass for real (a heartbeat timeout notices the dead worker).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta

from temporalio.api.enums.v1 import PendingActivityState

from workbook import world
from workbook.audit import audit
from workbook.checks import (
    STEPS, CheckFailed, CodeError, Outcome, Suite, arrow, expect, expect_itinerary_matches, expect_no_orphans,
    expect_status,
)  # fmt: skip
from workbook.checks.ex04 import _new_keys
from workbook.checks.ex09_replay import (
    HISTORY_NAME, TEST_FILE, NoTests, calls, explain_test_error, replay_failure, run_test_file,
    short_reason, unpatched_module, why_it_detects_nothing,
)  # fmt: skip
from workbook.checks.saga import expect_undone, undo_meets_outage
from workbook.explain import explain_exception
from workbook.loader import exercise_dir
from workbook.timeline import timeline_of

suite = Suite("09", "Durability and replay", server="dev")

EMAIL = "send_confirmation_email"
SLOW = 30.0  # seconds book_hotel would take: far longer than the check waits for it
WORKER_UP_WITHIN = 30.0  # seconds for worker.py to say it polls (a loaded machine)
HOTEL_STARTS_WITHIN = 20.0
# The worker as the student starts it (python worker.py), on this check's own task queue:
# shared.TASK_QUEUE is set before worker.py reads it.
# worker.py as the learner runs it, on the check's task queue, its retries at the checks'
# pace. A spare (a second argument) loads what every worker needs, then waits for a line on
# stdin before it runs worker.py: it starts while the first worker works, and polls only
# once that one is dead, in a fraction of the two seconds a Python process takes to start.
LAUNCH = (
    "import runpy, sys, shared, temporalio.client, temporalio.worker, workbook.world; "
    "from workbook.checks import fast_retries; fast_retries.into_every_worker(); "
    "shared.TASK_QUEUE = sys.argv[1]; sys.argv[2:] and sys.stdin.readline(); "
    "runpy.run_path('worker.py', run_name='__main__')"
)


def shipped_history() -> str:
    """The history as the exercise ships it (not the learner's copy, which they may edit)."""
    return (exercise_dir("09") / "solution" / "history" / HISTORY_NAME).read_text()


# --- a new trip takes the new step ---------------------------------------------------------


@suite.check("A new trip is booked, and the confirmation email goes out after confirm_trip")
async def booked_with_email(lab):
    # The hotel books the room and its reply is lost; the retry runs in a fresh Python
    # process, as on the new worker after a kill -9 that came once the room was booked.
    # The crash below kills the worker before the desk books, so only this shows a key
    # that is the same within one worker process only (Part A, step 7).
    trip = lab.trip()
    world.inject("book_hotel", "lose_reply", times=1, scope=trip.trip_id)
    outcome = await lab.book(trip, elsewhere=HOTEL_RETRIED_ELSEWHERE)
    trip_id = outcome.trip.trip_id
    expect_status(outcome, "Completed", f"It failed with: {outcome.error}")
    _hotel_booked_once(outcome, lab)
    steps = outcome.timeline.steps
    if EMAIL not in steps:
        raise CheckFailed(
            f"a new trip ran {arrow(steps)}: no confirmation email. A run that starts with the new "
            "code must take the new step: `workflow.patched(...)` is True for it, so send the email "
            "`if workflow.patched(EMAIL_PATCH):` (not `if not ...`)."
        )
    expect(
        steps == [*STEPS, EMAIL],
        f"the steps ran {arrow(steps)}; expected {arrow([*STEPS, EMAIL])}, each once: the email tells "
        "the customer the trip is booked, so it goes after confirm_trip (the pivot), never before.",
    )
    email = next(r for r in outcome.timeline.runs if r.name == EMAIL)
    sent = [key for operation, key, _ in world.journal() if operation == "send_email" and key.startswith(f"{trip_id}:")]
    expect(
        email.outcome == "completed" and sent,
        f"send_confirmation_email was scheduled, but the workflow completed before it ran (it is "
        f"{email.outcome} in the history, and the mail service never saw it): the email was never sent. "
        "`await` the email's activity (await self.send_email(trip)) before the workflow returns; "
        "a task or an activity handle that nothing awaits dies with the run.",
    )
    expect(world.is_confirmed(trip_id), "the workflow completed, but the trip was not confirmed.")
    expect_itinerary_matches(outcome)
    expect_no_orphans(outcome)
    # A run that took the new step must replay too: a worker rebuilds it after a crash.
    history = await lab.client.get_workflow_handle(trip_id).fetch_history()
    failure = await replay_failure(lab.modules.workflow.BookTripWorkflow, history)
    if failure is not None:
        hint = (" Your workflow asks workflow.unsafe.is_replaying(): that is True on every replay, "
                "of new runs too, so the replay skips the email the run sent.") if calls(lab.source, "is_replaying") else ""  # fmt: skip
        raise CheckFailed(
            "a trip booked with the email does not replay against your workflow: a worker that rebuilds "
            "it (after a crash, a restart, or when its cache is full) would fail its next workflow task "
            "again and again. On replay your workflow must ask for the same steps the run made: choose "
            "the path with `workflow.patched(EMAIL_PATCH)`, which is True when a run that took the "
            f"patch replays, never with something that differs on replay.{hint} ({short_reason(failure)})"
        )


HOTEL_RETRIED_ELSEWHERE = {"book_hotel": {2}}


def _hotel_booked_once(outcome: Outcome, lab) -> None:
    """The hotel's retry in another process found the room its lost reply had booked."""
    keys = [key for kind, _, key, _ in world.keys(outcome.trip.trip_id) if kind == "hotel"]
    if len(keys) > 1:
        raise CheckFailed(
            "book_hotel booked the room, lost its reply, and was retried in a fresh worker process, as "
            "on the new worker after a kill -9 that came once the room was booked: "
            + _new_keys(outcome, lab, "hotel", keys, HOTEL_RETRIED_ELSEWHERE)
        )


@suite.check("An email that cannot be sent: the trip still stands, confirmed, and nothing is undone")
async def email_down(lab):
    trip = lab.trip()
    world.inject("send_email", "fail", message="send_email: the mail service is down (injected)")  # for good
    outcome = await lab.book(trip, endless_after=5)
    if outcome.endless == EMAIL:
        raise CheckFailed(
            "with the mail service down, send_confirmation_email retried without end (its retry policy "
            "has no maximum_attempts), so the trip's workflow stayed open: the email is auxiliary, give "
            "it a few attempts (EMAIL's maximum_attempts) and let the trip end without it."
        )
    tried = [r for r in outcome.timeline.runs if r.name == EMAIL]
    if outcome.status != "Completed":
        undone = outcome.timeline.compensations
        narrow = (" Your `except ApplicationError` does not catch it: an activity that failed reaches "
                  "the workflow as an ActivityError (the ApplicationError is its cause).") if "except ApplicationError" in lab.source else ""  # fmt: skip
        raise CheckFailed(
            f"the mail service was down, and the trip {outcome.status.lower()}"
            + (f", and its bookings were undone ({arrow(undone)})" if undone else "")
            + f": {outcome.error or 'see its history'}. The email comes after the pivot (confirm_trip): "
            "the trip is booked whether or not the email lands. Catch the email's ActivityError, log "
            f"it, and let the workflow return the Itinerary.{narrow}"
        )
    expect(tried, "the mail service was down, and the workflow never asked for send_confirmation_email.")
    expect(
        not outcome.timeline.compensations,
        f"the email could not be sent, and the workflow undid the trip ({arrow(outcome.timeline.compensations)}) "
        "although it completed: an email is never a reason to undo a confirmed trip.",
    )
    expect(world.is_confirmed(trip.trip_id), "the workflow completed, but the trip was not confirmed.")
    expect_itinerary_matches(outcome)
    expect_no_orphans(outcome)


@suite.check("A trip that cannot be confirmed is undone, and no email goes out")
async def undone_without_email(lab):
    trip = lab.trip()
    world.inject("confirm_trip", "refuse", message="confirm_trip: the trip can no longer be confirmed")
    undo_meets_outage("cancel_hotel")
    outcome = await lab.book(trip)
    expect(
        EMAIL not in outcome.timeline.activities,
        f"the customer was emailed about trip {trip.trip_id}, which could not be confirmed: send the "
        "email after confirm_trip, outside the saga, where only a booked trip gets to.",
    )
    expect_undone(outcome, lab)


# --- replay -------------------------------------------------------------------------------------


@suite.check("The history recorded before the email still replays against your workflow")
async def old_history_replays(lab):
    failure = await replay_failure(lab.modules.workflow.BookTripWorkflow, shipped_history())
    if failure is None:
        return
    source = lab.source
    reason = short_reason(failure)
    if "TMPRL1100" not in reason:
        raise CheckFailed(f"the shipped history (history/{HISTORY_NAME}) could not be replayed: {reason}")
    if calls(source, "deprecate_patch") and not calls(source, "patched"):
        advice = (
            "workflow.deprecate_patch() does not branch: it only marks code whose old runs are all "
            "gone. While runs recorded without the email remain, guard it with "
            "`if workflow.patched(EMAIL_PATCH):`."
        )
    elif calls(source, "patched"):
        advice = (
            "your workflow calls workflow.patched(), yet takes another path than the old run did. "
            "On replay of a run recorded without the patch, patched() is False: run the new step only "
            "when it returns True (not `if not ...`), and leave every other step as it was."
        )
    else:
        advice = (
            "The old run went from confirm_trip straight to its end, and your workflow asks for "
            "send_confirmation_email there. Send the email only `if workflow.patched(EMAIL_PATCH):`, "
            "which is False when a run recorded without it replays, and True for new runs."
        )
    raise CheckFailed(
        f"a trip booked before the email does not replay against your workflow: a worker running it "
        f"would fail that trip's next workflow task again and again. {advice} ({reason})"
    )


@suite.check("Your replay test passes on your workflow, and fails on it with the email unpatched")
async def replay_test(lab):
    folder = lab.modules.folder
    if not (folder / TEST_FILE).exists():
        raise CheckFailed(f"there is no {TEST_FILE} in {folder.name}/: Part C asks you to write it.")
    try:
        mine = await run_test_file(folder)
    except NoTests:
        raise CheckFailed(f"{TEST_FILE} has no test that pytest would collect: a function named test_... "
                          "(at module level, or a method of a class named Test...).") from None  # fmt: skip
    except Exception as err:  # the file does not even load
        raise CheckFailed(f"{TEST_FILE} does not load: {explain_exception(err, folder.resolve())}") from None
    if mine.failure is not None:
        why = explain_test_error(mine.failure, folder)
        if "TMPRL1100" in why:
            raise CheckFailed(
                "your replay test fails on your workflow, rightly: it does not replay the history "
                f"recorded before the email yet. Do Part B first (workflow.patched). ({why})"
            )
        raise CheckFailed(f"your replay test fails on your own workflow: {why}")
    with unpatched_module(folder) as unpatched:
        theirs = await run_test_file(folder, unpatched)
    if theirs.failure is None:
        if theirs.unprotected:  # pytest would show this run green, whatever the replay says
            raise CheckFailed(
                f"your replay test protects nothing: {'; '.join(theirs.unprotected)}. Against your workflow "
                "with the email unpatched, which cannot replay the shipped history, `python -m pytest "
                f"{TEST_FILE}` stays green. Remove the mark (or the pytest.skip/xfail call), so that a "
                "replay that fails fails the test."
            )
        raise CheckFailed(why_it_detects_nothing((folder / TEST_FILE).read_text()))


# --- a crash ----------------------------------------------------------------------------------


class _WorkerProcess:
    """The learner's worker.py, as a process of its own that we can kill."""

    def __init__(self, lab, task_queue: str, spare: bool = False):
        env = dict(
            os.environ,
            TEMPORAL_ADDRESS=lab.client.service_client.config.target_host,
            TEMPORAL_NAMESPACE=lab.client.namespace,
            NO_COLOR="1",
        )
        self.folder = lab.modules.folder
        self.popen = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, task_queue, *(["spare"] if spare else [])], cwd=self.folder, env=env,
            stdin=subprocess.PIPE if spare else subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )  # fmt: skip

    def go(self) -> None:
        """A spare starts its worker now."""
        try:
            self.popen.stdin.write("go\n")
            self.popen.stdin.close()
        except BrokenPipeError:  # it died while waiting: polling() says why
            pass

    async def polling(self) -> None:
        """Wait until it says it polls; a worker that dies first is a bug in the code."""
        try:
            line = await asyncio.wait_for(asyncio.to_thread(self.popen.stdout.readline), WORKER_UP_WITHIN)
        except asyncio.TimeoutError:
            raise CheckFailed(f"python worker.py said nothing within {WORKER_UP_WITHIN:.0f} seconds.") from None
        if "polling" not in line:
            rest = await asyncio.to_thread(self.popen.stdout.read)
            said = (line + rest).strip().splitlines()
            raise CodeError(f"python worker.py did not start: {said[-1] if said else 'it exited at once'}")

    def kill(self) -> None:
        """kill -9: no goodbye to the server, no cleanup, the activity cut short."""
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        for stream in (self.popen.stdin, self.popen.stdout):
            if stream and not stream.closed:
                stream.close()


async def _hotel_running_on(handle, pid: int) -> None:
    """Wait until book_hotel runs on the worker with process id ``pid`` (its identity is
    'pid@host') and has heartbeated: then it has taken its slowness from the world (a kill
    before that would leave the retry slow too); fail if the workflow ends first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HOTEL_STARTS_WITHIN
    while loop.time() < deadline:
        description = (await handle.describe()).raw_description
        for pending in description.pending_activities:
            if (
                pending.activity_type.name == "book_hotel"
                and pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
                and pending.last_worker_identity.startswith(f"{pid}@")
                and pending.HasField("last_heartbeat_time")
            ):
                return
        if description.workflow_execution_info.HasField("close_time"):
            break
        await asyncio.sleep(0.05)
    timeline = await timeline_of(handle)
    raise CheckFailed(
        f"book_hotel never started on the worker while the check waited (the workflow is "
        f"{timeline.status}; it ran {arrow(timeline.activities)})."
    )


@suite.check("A worker killed with kill -9 during book_hotel: a new worker finishes the trip, each booking made once")
async def crash(lab):
    trip = lab.trip()
    world.inject("book_hotel", "slow", times=1, seconds=SLOW)  # the first attempt only
    task_queue = f"{lab.prefix}-crash"
    workers = [_WorkerProcess(lab, task_queue), _WorkerProcess(lab, task_queue, spare=True)]
    try:
        await workers[0].polling()
        handle = await lab.client.start_workflow(
            lab.modules.workflow.BookTripWorkflow.run, trip, id=trip.trip_id, task_queue=task_queue,
            execution_timeout=timedelta(minutes=5),
        )  # fmt: skip
        handle = lab.client.get_workflow_handle(handle.id, run_id=handle.result_run_id)  # untyped result
        await _hotel_running_on(handle, workers[0].popen.pid)
        await _expect_heartbeat_timeout(handle)
        workers[0].kill()
        workers[1].go()  # a new worker, which has run nothing of this trip
        await workers[1].polling()
        result = None
        try:
            result = await lab._result(handle)
        except Exception as err:  # WorkflowFailureError: judged from history below
            if isinstance(err, CheckFailed):
                raise
        timeline = await timeline_of(handle)
    finally:
        for worker in workers:
            worker.stop()
    outcome = Outcome(trip, timeline.status, timeline, result, report=audit(trip.trip_id))
    expect_status(outcome, "Completed", f"After the crash the trip must still be booked ({timeline.failure}).")
    hotel = [r for r in timeline.runs if r.name == "book_hotel"]
    expect(
        len(hotel) == 1 and hotel[0].attempts >= 2 and hotel[0].outcome == "completed",
        "the history should show book_hotel once, completed on its second attempt (the first was "
        f"cut short by the kill); it shows {arrow([f'{r.name} ({r.attempts} attempts, {r.outcome})' for r in hotel])}.",
    )
    twice = [name for name, count in Counter(timeline.steps).items() if count > 1]
    expect(not twice, f"after the restart {arrow(twice)} ran again: a new worker replays the history, "
           "and must not run a step that already completed.")  # fmt: skip
    made = Counter(operation for operation, key, changed in world.journal() if key.startswith(trip.trip_id) and changed)
    again = [op for op in ("book_flight", "book_hotel", "book_car", "charge_card") if made[op] != 1]
    expect(not again, f"the travel world saw {', '.join(f'{op} {made[op]} time(s)' for op in again)} for "
           "one trip: each booking must be made exactly once, crash or not.")  # fmt: skip
    expect_itinerary_matches(outcome)  # the ids the new worker read from history, not new ones
    expect_no_orphans(outcome)


HEARTBEAT_AT_MOST = 10.0  # seconds: a dead worker's attempt must be noticed well before 60 s


async def _expect_heartbeat_timeout(handle) -> None:
    """book_hotel, as the workflow scheduled it, has a heartbeat timeout short enough for
    Temporal to notice a dead worker soon: read from its ActivityTaskScheduled event, so
    that an answer without one fails now, not after the 60 s start_to_close_timeout."""
    async for event in handle.fetch_history_events():
        if event.HasField("activity_task_scheduled_event_attributes"):
            scheduled = event.activity_task_scheduled_event_attributes
            if scheduled.activity_type.name != "book_hotel":
                continue
            seconds = scheduled.heartbeat_timeout.ToTimedelta().total_seconds()
            if 0 < seconds <= HEARTBEAT_AT_MOST:
                return
            given = f"a heartbeat_timeout of {seconds:.0f} seconds" if seconds else "no heartbeat_timeout"
            limit = scheduled.start_to_close_timeout.ToTimedelta().total_seconds()
            raise CheckFailed(
                f"book_hotel was scheduled with {given}: when its worker dies (kill -9), Temporal "
                f"notices only when the attempt's start_to_close_timeout ({limit:.0f} s) runs out, so "
                "the trip stands still that long. Keep STEP's heartbeat_timeout=timedelta(seconds=2): "
                "the slow desk heartbeats, and 2 s without one counts the attempt as failed."
            )
