"""Checks for exercise 05: critical versus auxiliary steps, and the pivot.

confirm_trip is the pivot. A failure up to and including it undoes everything (as in
03); once it has completed, the trip is booked for good, and the auxiliary steps after it
(the confirmation email, the loyalty points) are never compensated: each gets a bounded
retry, and a failure that outlasts it becomes a notice in the workflow's result.

Every scenario holds one auxiliary step's desk (Lab.book(held=...)) until the workflow has
nothing else to do: the other step, failing or not, always finishes first, and a workflow
that stops waiting at the first failure (asyncio.gather without return_exceptions, a
handle never awaited) returns while the held step is still at work, on every run. The
email is held in one scenario and the points in another, so both orders are met.

What the README teaches, and what proves it:

| README point                                         | scenario (check)                          | what fails when it is violated                        |
| ---------------------------------------------------- | ----------------------------------------- | ----------------------------------------------------- |
| A: a failure up to the pivot undoes everything       | before_pivot: a bad card; confirm_trip    | expect_undone: undos missing, out of order, orphans,  |
|    (confirm_trip inside the try)                     | down for good; undos meet outages         | confirm_trip outside the try, ended Completed         |
| A: auxiliary steps only after the pivot              | before_pivot (nothing sent for an undone  | "ran for trip ..., which was not booked", "ran before |
|                                                      | trip); every scenario (scheduled after)   | confirm_trip had completed"                           |
| A: auxiliary steps have no undo: after the pivot     | email_down, points_down                   | "failed and you cancelled a confirmed trip"           |
|    nothing is undone                                 |                                           |                                                       |
| B1: a bounded retry (maximum_attempts): a service    | email_down, points_down (down for good;   | "retries forever" (0 named as no limit; a timer of    |
|    that stays down cannot keep the workflow open     | stopped after 5 failed attempts)          | the workflow's own is not a bounded retry)            |
| B1: a few attempts (3): a short outage passes        | short_outage: the email fails twice       | "gave up after 2 attempts although ..."               |
| B2: its own try; a failure becomes a notice; don't   | email_down                                | "ended Failed although the trip is confirmed"         |
|     compensate, don't raise                          |                                           | (re-raised, not caught, except too narrow), "has no   |
|                                                      |                                           | notice", "cancelled a confirmed trip"                 |
| B3: the points in a try of their own: one failure    | email_down (points awarded), points_down  | "never ran although the points service was up"        |
|     does not cost the other                          | (email sent)                              |                                                       |
| B2/B3: each step awaited, so its failure is caught   | held desks: email_down and points_down's  | "was still at work when the workflow returned"        |
|                                                      | second trip hold the points, points_down  | (gather without return_exceptions, no await)          |
|                                                      | the email; happy_path the email           |                                                       |
| B2: one notice per failure, none without one         | points_down (both down); happy_path       | "has no notice of it", "nothing failed, yet ..."      |
| A4: the Itinerary returned names the trip's bookings | every scenario (expect_itinerary_matches) | "the workflow returned flight_reservation=..."        |
| C: the trip stays confirmed, zero orphans            | every scenario                            | "was not confirmed", "were undone", orphans           |
| activities.py: an outage reaches Temporal (not       | short_outage, email_down, points_down     | "completed, but ... the activity returned as if it    |
| swallowed in the activity), so it is retried/noticed |                                           | had worked"                                           |
| activities.py: "the key makes a retry award them     | short_outage: the points' reply is lost,  | "the loyalty points were awarded twice"               |
| once" (04's lesson), in every worker process         | their retry runs in a fresh process       |                                                       |

Each scenario judges, in this order, the first cause it finds: a bug in an activity, an
auxiliary step that retries forever, an auxiliary step run before the pivot, a
compensation after the pivot, how the workflow ended (a failure re-raised or not caught),
an auxiliary step skipped or left unfinished, the critical steps, what each auxiliary step
did in the world (gave up on a short outage, swallowed an outage, awarded twice), the
Itinerary, the notices, and last the travel world. A scan of the source never fails an
answer by itself: it only names the line behind a failure the run showed.
"""

from __future__ import annotations

import ast
import asyncio
import reprlib
from dataclasses import dataclass

from temporalio.exceptions import ActivityError

from workbook import world
from workbook.checks import (
    STEPS, CheckFailed, CodeError, Outcome, Suite, arrow, expect, expect_itinerary_matches, expect_no_orphans,
)  # fmt: skip
from workbook.checks.saga import BUSINESS_ERRORS, OUTAGES, _activity_bug, _times, expect_undone, undo_meets_outage
from workbook.source import call_lines, catches, handlers_around, parse, unawaited_activity_calls, unawaited_coroutine_calls
from workbook.timeline import ActivityRun

suite = Suite("05", "Critical versus auxiliary steps: nothing is undone after the pivot")

PIVOT = "confirm_trip"


@dataclass(frozen=True)
class Auxiliary:
    name: str  # the activity
    short: str  # what a person calls it
    service: str  # the service behind it
    operation: str  # the travel world's call
    missing: str  # what the customer lacks when it fails for good
    words: tuple[str, ...]  # a notice of it contains one of these


EMAIL = Auxiliary("send_confirmation_email", "the email", "email service", "send_email",
                  "got no confirmation email", ("email", "mail", "confirm"))  # fmt: skip
POINTS = Auxiliary("award_loyalty_points", "the loyalty points award", "points service", "award_points",
                   "is missing their loyalty points", ("point", "loyalty", "award"))  # fmt: skip
AUXILIARY = {aux.name: aux for aux in (EMAIL, POINTS)}

ENDLESS_AFTER = 5  # failed attempts of a retry without a limit: it would never stop
SHORT_OUTAGE = 2  # failed calls in a row: three attempts ride it out (as in exercise 02)
BOUNDED = (
    "give auxiliary steps a bounded retry (maximum_attempts), e.g. "
    "RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)"
)
NOTICE = (
    "catch its failure around that one call and append a notice to itinerary.notices, "
    "then return the itinerary"
)

_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 80


@dataclass
class Faults:
    """What one trip's auxiliary services do: down for good, down for a few calls, or
    committing and then losing their reply once."""

    down: tuple[str, ...] = ()  # auxiliary steps whose service stays down
    short: tuple[str, ...] = ()  # ... down for SHORT_OUTAGE calls, then up
    lost_reply: tuple[str, ...] = ()  # ... whose first reply is lost (the work is done)

    def inject(self, trip_id: str) -> None:
        for name in self.down:
            world.inject(AUXILIARY[name].operation, "fail", scope=trip_id)
        for name in self.short:
            world.inject(AUXILIARY[name].operation, "fail", times=SHORT_OUTAGE, scope=trip_id)
        for name in self.lost_reply:
            world.inject(AUXILIARY[name].operation, "lose_reply", times=1, scope=trip_id)


async def book(lab, faults: Faults, held: str, **options) -> tuple[Outcome, Faults]:
    """Book a trip with these faults, holding the ``held`` auxiliary step's desk."""
    trip = lab.trip()
    faults.inject(trip.trip_id)
    outcome = await lab.book(trip, held=(held,), endless_after=ENDLESS_AFTER if faults.down else None, **options)
    return outcome, faults


# --- what history and the world show ----------------------------------------------------


def _runs(outcome: Outcome, name: str) -> list[ActivityRun]:
    return [r for r in outcome.timeline.runs if r.name == name]


def _pivot(outcome: Outcome) -> ActivityRun | None:
    done = [r for r in _runs(outcome, PIVOT) if r.outcome == "completed"]
    return done[0] if done else None


def _failed(run: ActivityRun) -> bool:
    return run.outcome in ("failed", "timed out")


def _notices(result: object) -> list[str] | None:
    notices = result.get("notices") if isinstance(result, dict) else None
    return [str(n) for n in notices] if isinstance(notices, list) else None


def _calls(trip_id: str, operation: str) -> list[str]:
    """The keys of the world's committed ``operation`` calls for this trip."""
    return [key for op, key, _ in world.journal() if op == operation and trip_id in key]


async def _running_timer(lab, outcome: Outcome) -> float:
    """The seconds of a workflow timer still running when it ended (asyncio.wait_for,
    workflow.sleep), or 0."""
    running: dict[int, float] = {}
    handle = lab.client.get_workflow_handle(outcome.trip.trip_id)
    async for event in handle.fetch_history_events():
        if event.HasField("timer_started_event_attributes"):
            timeout = event.timer_started_event_attributes.start_to_fire_timeout
            running[event.event_id] = timeout.ToTimedelta().total_seconds()
        for name in ("timer_fired_event_attributes", "timer_canceled_event_attributes"):
            if event.HasField(name):
                running.pop(getattr(event, name).started_event_id, None)
    return max(running.values(), default=0.0)


# --- what the source says, only to name the line behind a failure the run showed ------------


def _lines(lines: list[int]) -> str:
    return f"workflow.py line {', '.join(map(str, lines))}"


def _zero_attempts(source: str) -> list[int]:
    """Lines that set maximum_attempts=0, which Temporal reads as no limit."""
    tree = parse(source)
    return sorted(
        node.value.lineno for node in ast.walk(tree or ast.Module([], []))
        if isinstance(node, ast.keyword) and node.arg == "maximum_attempts"
        and isinstance(node.value, ast.Constant) and node.value.value == 0
    )  # fmt: skip


def _gathers_without_exceptions(source: str) -> list[int]:
    """Lines of asyncio.gather(...) calls without return_exceptions=True."""
    tree = parse(source)
    found = []
    for node in ast.walk(tree or ast.Module([], [])):
        func = getattr(node, "func", None) if isinstance(node, ast.Call) else None
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name == "gather" and not any(
            k.arg == "return_exceptions" and isinstance(k.value, ast.Constant) and k.value.value is True
            for k in node.keywords
        ):
            found.append(node.lineno)
    return sorted(found)


def _notice_assignments(source: str) -> list[int]:
    """Lines that assign to .notices (a new list replaces the notices before it)."""
    tree = parse(source)
    return sorted(
        node.lineno for node in ast.walk(tree or ast.Module([], []))
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign))
        and any(isinstance(t, ast.Attribute) and t.attr == "notices"
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target]))
    )  # fmt: skip


def _excepts_in(lab, function: str) -> list[int]:
    """Lines of the except blocks inside activities.py's ``function``."""
    path = lab.modules.folder / "activities.py"
    tree = parse(path.read_text()) if path.exists() else None
    for node in ast.walk(tree or ast.Module([], [])):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
            return sorted(h.lineno for h in ast.walk(node) if isinstance(h, ast.ExceptHandler))
    return []


# --- the verdict --------------------------------------------------------------------------


async def expect_confirmed(outcome: Outcome, lab, faults: Faults) -> None:
    """The trip is booked for good: the critical steps, the pivot, then every auxiliary
    step, each once and waited for; nothing undone; Completed; the Itinerary of the trip's
    bookings, with a notice for each auxiliary step in ``faults.down`` and none otherwise;
    every other auxiliary step went through in the world, once."""
    runs = outcome.timeline.runs
    for run in runs:  # 1. a bug in the code, before anything else
        if _failed(run) and run.error_type not in BUSINESS_ERRORS | OUTAGES:
            raise CodeError(_activity_bug(run, lab))

    if outcome.endless:  # 2. a retry that would never end
        raise CheckFailed(await _endless(outcome, lab))

    pivot = _pivot(outcome)  # 3. auxiliary steps only after the pivot
    for run in runs:
        if run.name in AUXILIARY and (pivot is None or run.scheduled_event < pivot.closed_event):
            raise CheckFailed(
                f"{run.name} ran before {PIVOT} had completed (the steps ran {arrow(outcome.timeline.steps)}): "
                f"if a later step fails, the customer hears about a trip that is then undone. {PIVOT} is "
                "the pivot: call the auxiliary steps after it, once the trip is confirmed."
            )

    undone = [r for r in runs if r.compensation]  # 4. nothing undone after the pivot
    if undone:
        failed = [r for r in runs if r.name in AUXILIARY and r.outcome != "completed"]
        what = AUXILIARY[failed[0].name].short if failed else "an auxiliary step"
        raise CheckFailed(
            f"{what} failed and you cancelled a confirmed trip: {PIVOT} (the pivot) had completed, then "
            f"{arrow([r.name for r in undone])} ran. After the pivot nothing is undone: call the auxiliary "
            f"steps after the try whose except compensates, and for each, {NOTICE}."
        )

    if outcome.status != "Completed":  # 5. how it ended
        if outcome.status == "Failed" and world.is_confirmed(outcome.trip.trip_id):
            raise CheckFailed(
                f"the workflow ended Failed although the trip is confirmed ({outcome.error}): "
                f"{_why_it_escaped(outcome, lab)}. The customer has a booked trip; record the failure "
                f"as a notice instead: {NOTICE}."
            )
        raise CheckFailed(f"the workflow ended {outcome.status}; expected Completed. It failed with: {outcome.error}")

    for aux in AUXILIARY.values():  # 6. every auxiliary step ran, once, and was waited for
        mine = _runs(outcome, aux.name)
        if not mine:
            raise CheckFailed(_never_ran(aux, outcome, lab, faults))
        if len(mine) > 1:
            raise CheckFailed(f"{aux.name} ran {len(mine)} times; expected once (its retries are attempts of one run).")
        if mine[0].outcome in ("running", "cancelled"):
            raise CheckFailed(_unfinished(aux, mine[0], outcome, lab))

    steps = [r.name for r in runs if not r.compensation and r.name not in AUXILIARY]
    expect(steps == STEPS, f"the critical steps ran {arrow(steps)}; expected {arrow(STEPS)}, each once.")

    for aux in AUXILIARY.values():  # 7. what each auxiliary step did in the world
        _expect_world(aux, _runs(outcome, aux.name)[0], outcome, lab, faults)

    notices = _notices(outcome.result)  # 8. the Itinerary, and its notices
    if notices is None:
        raise CheckFailed(
            f"the workflow returned {_SHORT.repr(outcome.result)}: return the Itinerary, whose notices "
            "list the auxiliary steps that failed."
        )
    expect_itinerary_matches(outcome)
    _expect_notices(notices, outcome, lab, faults)

    trip_id = outcome.trip.trip_id  # 9. the travel world
    expect(world.is_confirmed(trip_id), "the workflow completed, but the trip was not confirmed.")
    undone = [f"{r.kind} {r.id}" for r in world.reservations(trip_id) if r.status != "held"]
    undone += [f"payment {p.id}" for p in world.payments(trip_id) if p.status != "charged"]
    expect(not undone, f"the trip is confirmed, but {', '.join(undone)} were undone.")
    expect_no_orphans(outcome)


async def _endless(outcome: Outcome, lab) -> str:
    name = outcome.endless
    aux = AUXILIARY.get(name)
    service = aux.service if aux else "service it calls"
    zeros = _zero_attempts(lab.source)
    why = (
        f"you set maximum_attempts=0 ({_lines(zeros)}), and Temporal reads 0 as no limit at all"
        if zeros else "its retry policy sets no maximum_attempts, which means no limit"
    )  # fmt: skip
    timer = await _running_timer(lab, outcome)
    if timer:
        return (
            f"{name} retries without end while the {service} is down: {why}. Your workflow stops waiting "
            f"after a timer of its own ({timer:g} s: asyncio.wait_for?), but that bounds the wait, not the "
            f"retries: the step itself never gives up, and the check stopped it after {ENDLESS_AFTER} failed "
            f"attempts. {BOUNDED[0].upper()}{BOUNDED[1:]}, so the step's failure reaches your except by itself."
        )
    return (
        f"{name} retries forever while the {service} is down: {why}, so the workflow of a booked trip "
        f"never completes (the check stopped it after {ENDLESS_AFTER} failed attempts): {BOUNDED}. "
        "Once the trip is confirmed, an auxiliary step may give up: its failure becomes a notice."
    )


def _why_it_escaped(outcome: Outcome, lab) -> str:
    """Why an auxiliary step's failure ended the workflow: not caught, or re-raised."""
    failed = [r.name for r in outcome.timeline.runs if r.name in AUXILIARY and r.outcome != "completed"]
    name = failed[0] if failed else "an auxiliary step"
    handlers = handlers_around(lab.source, name) if failed else None
    if handlers == []:
        return f"{name} is called outside any try, so its failure ends the workflow"
    if handlers and not any(catches(h, vars(lab.modules.workflow), ActivityError) for h in handlers):
        return (
            f"your `except {ast.unparse(handlers[0].type)}` around {name} does not catch its failure: "
            "activity failures arrive as `ActivityError`"
        )
    return f"{name}'s failure was re-raised"


def _never_ran(aux: Auxiliary, outcome: Outcome, lab, faults: Faults) -> str:
    runs = outcome.timeline.runs
    failed = [r.name for r in runs if r.name in AUXILIARY and r.outcome != "completed"]
    up = "" if aux.name in faults.down else f" although the {aux.service} was up"
    if failed:
        return (
            f"{aux.name} never ran{up}: {failed[0]}'s failure skipped it. Give each auxiliary step its "
            "own try/except, so one failure does not cost the others."
        )
    helpers = unawaited_coroutine_calls(lab.source)
    if helpers:
        line, name = helpers[0]
        return (
            f"{aux.name} never ran: {name}(...) is called without `await` (workflow.py, line {line}), so "
            f"its body never runs. Write `await {'self.' if f'self.{name}(' in lab.source else ''}{name}(...)`."
        )
    lines = sorted(set(unawaited_activity_calls(lab.source)) & set(call_lines(lab.source, aux.name)))
    if lines:
        return (
            f"{aux.name} never ran: its call on {_lines(lines)} makes a coroutine that nobody awaits, so "
            f"the activity never starts. Write `await workflow.execute_activity({aux.name}, trip, **AUX)`."
        )
    return (
        f"{aux.name} never ran: the steps ran {arrow(outcome.timeline.steps)}; expected "
        f"{arrow(STEPS + list(AUXILIARY))}. Call {aux.name} after {PIVOT}, once the trip is confirmed."
    )


def _unfinished(aux: Auxiliary, run: ActivityRun, outcome: Outcome, lab) -> str:
    """An auxiliary step still at work (or cancelled) when the workflow returned."""
    lead = (f"{aux.name} was cancelled by the workflow before it finished" if run.outcome == "cancelled"
            else f"{aux.name} was still at work when the workflow returned")  # fmt: skip
    failed = [r for r in outcome.timeline.runs if r.name in AUXILIARY and r is not run and _failed(r)]
    gathers = _gathers_without_exceptions(lab.source)
    lines = sorted(set(unawaited_activity_calls(lab.source)) & set(call_lines(lab.source, aux.name)))
    if failed and gathers:
        cause = (
            f": when {failed[0].name} failed, asyncio.gather ({_lines(gathers)}) raised at once and stopped "
            f"waiting for {aux.name}. Pass return_exceptions=True and look at each result, or await each "
            "step in a try of its own"
        )
    elif failed:
        cause = f": the workflow stopped waiting for it when {failed[0].name} failed. Await each auxiliary step"
    elif lines:
        cause = f": its call on {_lines(lines)} is not awaited. `await` each auxiliary step"
    else:
        cause = ". `await` each auxiliary step"
    return (
        f"{lead}{cause}, so that its failure can be caught and recorded: had it failed, no notice would say so."
    )


def _expect_world(aux: Auxiliary, run: ActivityRun, outcome: Outcome, lab, faults: Faults) -> None:
    trip_id = outcome.trip.trip_id
    calls = _calls(trip_id, aux.operation)
    if aux.name in faults.down:
        if run.outcome == "completed":  # its service never answered: it cannot have worked
            raise CheckFailed(_swallowed_outage(aux, lab, f"while the {aux.service} was down for good"))
        return
    if _failed(run):
        if aux.name in faults.lost_reply and not (aux.name in faults.short):
            why = "its first reply was lost (the work was done), and a retry would have found it"
        elif aux.name in faults.short:
            why = f"the {aux.service} was down for only {SHORT_OUTAGE} calls in a row"
        else:
            why = f"the {aux.service} was up"
        if run.max_attempts and run.attempts < run.max_attempts and not 0 < run.budget <= 600:  # stopped early: made final
            excepts = _excepts_in(lab, aux.name)
            where = f" (activities.py, line {', '.join(map(str, excepts))})" if excepts else ""
            raise CheckFailed(
                f"{aux.name} gave up after {run.attempts} attempt{'s' if run.attempts != 1 else ''} of the "
                f"{run.max_attempts} its retry policy allows, although {why}: the activity made the outage final"
                f"{where}, raising it as non-retryable. Only a business answer is final; let an outage reach "
                "Temporal as it is, so the retry policy can ride it out."
            )
        limit = f"its retry policy allows {run.max_attempts}" if run.max_attempts else "it was not retried"
        raise CheckFailed(
            f"{aux.name} gave up after {run.attempts} attempt{'s' if run.attempts != 1 else ''} although {why} "
            f"({limit}): give auxiliary steps a few attempts (maximum_attempts=3), so a short outage does not "
            f"cost the customer {aux.short.replace('the ', 'their ', 1)}."
        )
    if not calls:
        if aux.name in faults.short and run.attempts <= SHORT_OUTAGE:
            raise CheckFailed(_swallowed_outage(aux, lab, f"on attempt {run.attempts}, while the {aux.service} was down"))
        raise CheckFailed(
            f"{aux.name} completed, but the travel world has no {aux.operation} whose key names the trip: does "
            f"the activity call world.{aux.operation}(...), and with a key made from the trip id and the step's "
            "name (key(trip, \"points\")), so that a retry finds the first award?"
        )
    keys = sorted(set(calls))
    if len(keys) > 1:
        raise CheckFailed(
            f"{'the loyalty points were awarded' if aux is POINTS else aux.name + ' went through'} "
            f"{_times(len(keys))}, under the keys {', '.join(map(repr, keys))}: the first attempt's reply was "
            "lost, and its retry, in a fresh worker process (as after a restart), made a new key. A key must be "
            "the same on every attempt and in every process: make it from the trip id and the step's name "
            "(key(trip, \"points\")), never from a uuid made at import, a counter, the clock or the attempt number."
        )


def _swallowed_outage(aux: Auxiliary, lab, when: str) -> str:
    excepts = _excepts_in(lab, aux.name)
    where = f" (activities.py, line {', '.join(map(str, excepts))})" if excepts else ""
    return (
        f"{aux.name} completed {when}, and nothing reached the travel world: the activity caught the "
        f"outage{where} and returned as if {aux.short} had gone through. Let the service's error out of the "
        "activity: Temporal then retries it, and if it still fails, your workflow records a notice."
    )


def _expect_notices(notices: list[str], outcome: Outcome, lab, faults: Faults) -> None:
    if not faults.down:
        if notices:
            raise CheckFailed(
                f"nothing failed, yet the result has notices: {_SHORT.repr(notices)}. Append a notice only "
                "in the except, when an auxiliary step has failed for good."
            )
        return
    others = [w for name, aux in AUXILIARY.items() if name not in faults.down for w in aux.words]
    in_own_words = len(notices) >= len(faults.down) and not any(w in n.lower() for n in notices for w in others)
    for name in faults.down:
        aux = AUXILIARY[name]
        if any(w in n.lower() for n in notices for w in aux.words) or in_own_words:
            continue
        said = f" (its notices: {_SHORT.repr(notices)})" if notices else ""
        lines = sorted(set(unawaited_activity_calls(lab.source)) & set(call_lines(lab.source, name)))
        if lines:
            fix = (f"its call on {_lines(lines)} is not awaited, so its failure never reaches your except: "
                   "`await` each auxiliary step, and append a notice when it fails.")  # fmt: skip
        elif notices and len(notices) < len(faults.down):
            assigned = _notice_assignments(lab.source)
            fix = (
                f"{len(faults.down)} steps failed, but there is {len(notices)} notice: each failure needs its own. "
                "Append it (itinerary.notices.append(...))"
                + (f"; {_lines(assigned)} assigns itinerary.notices, which replaces the notices before it." if assigned else ".")
            )
        else:
            fix = "When you catch its failure, append a notice to the itinerary you return (itinerary.notices)."
        raise CheckFailed(
            f"{name} failed for good while the {aux.service} was down, but the workflow's result has no notice "
            f"of it{said}: nobody will know the customer {aux.missing}. {fix}"
        )


# --- the scenarios ----------------------------------------------------------------------------


@suite.check("With every service up: the trip is confirmed, then the email is sent and the points awarded; no notice")
async def happy_path(lab):
    outcome, faults = await book(lab, Faults(), held=EMAIL.name)
    await expect_confirmed(outcome, lab, faults)


@suite.check(
    "A short outage: the email fails twice and goes out on a later attempt; the points' reply is lost once, "
    "and their retry in a fresh worker process awards them once"
)
async def email_blip(lab):
    faults = Faults(short=(EMAIL.name,), lost_reply=(POINTS.name,))
    outcome, _ = await book(lab, faults, held=EMAIL.name, elsewhere={POINTS.name: {2}})
    await expect_confirmed(outcome, lab, faults)


@suite.check("With the email service down: the trip stays confirmed, nothing is undone, Completed with a notice")
async def email_down(lab):
    outcome, faults = await book(lab, Faults(down=(EMAIL.name,)), held=POINTS.name)
    await expect_confirmed(outcome, lab, faults)


@suite.check("With the points service down, and with both down: confirmed, Completed, one notice per failure")
async def points_down(lab):
    booked = await asyncio.gather(
        book(lab, Faults(down=(POINTS.name,)), held=EMAIL.name),
        book(lab, Faults(down=(EMAIL.name, POINTS.name)), held=POINTS.name),
    )
    for outcome, faults in booked:
        await expect_confirmed(outcome, lab, faults)


def expect_no_auxiliary(outcome: Outcome) -> None:
    """A trip that was not booked gets no confirmation email and no points."""
    ran = [r for r in outcome.timeline.runs if r.name in AUXILIARY]
    if ran:
        failed = [r.name for r in outcome.timeline.runs if not r.compensation and r.outcome != "completed"]
        raise CheckFailed(
            f"{ran[0].name} ran for trip {outcome.trip.trip_id}, which was not booked"
            f"{f' ({failed[0]} failed)' if failed else ''}: the customer hears about a trip that is undone. "
            f"Call the auxiliary steps only after {PIVOT}, the pivot, has completed."
        )


@suite.check("A failure before the pivot still undoes everything and sends nothing: a bad card, a confirmation that fails")
async def before_pivot(lab):
    bad_card, unconfirmed = lab.trip(card_number="424242424242424"), lab.trip()
    undo_meets_outage("cancel_car", scope=bad_card.trip_id)
    world.inject("confirm_trip", "fail", scope=unconfirmed.trip_id)  # outlasts the step's retries
    undo_meets_outage("refund_payment", scope=unconfirmed.trip_id)
    for outcome in await asyncio.gather(lab.book(bad_card), lab.book(unconfirmed)):
        expect_no_auxiliary(outcome)
        expect_undone(outcome, lab)
