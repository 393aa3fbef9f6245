"""Checks for exercise 04: idempotent steps.

Temporal runs an activity at least once: a step can commit its work and then lose its
reply, and its retry must find that work instead of doing it again. Each check makes
some replies get lost (world.inject(..., "lose_reply")) and judges what is left in the
travel world: how many bookings and charges each trip holds, under which idempotency
keys (world.keys), and which keys every call used (world.journal). A key that changes
from one attempt to the next, or that is shared between trips or steps, or an undo that
looks under another key than its step booked under, is named with the keys it made.
"""

from __future__ import annotations

import ast
import re
import reprlib

from workbook import world
from workbook.checks import CheckFailed, CodeError, Outcome, Suite, expect, expect_trip_booked
from workbook.checks.saga import BUSINESS_ERRORS, OUTAGES, UNDO_OF, _activity_bug, _times, expect_undone, undo_meets_outage

suite = Suite("04", "Idempotent steps: a retry finds the first attempt's work")

STEP_OF = {"flight": "book_flight", "hotel": "book_hotel", "car": "book_car", "charge": "charge_payment"}
WORLD_UNDO = {"flight": "cancel_flight", "hotel": "cancel_hotel", "car": "cancel_car", "charge": "refund"}
ITINERARY = {"flight": "flight_reservation", "hotel": "hotel_reservation", "car": "car_reservation", "charge": "payment_id"}
ADVICE = (
    "A key must be the same on every attempt: make it from the trip id and the step's name only, "
    "never from uuid4(), the clock or the attempt number."
)
KEY_REUSED = re.compile(
    r"idempotency key (?P<key>'.*?'|\".*?\") was already used for an? (?P<kind>\w+) of trip (?P<trip>'.*?'|\".*?\")"
)

_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60


def _quote(value: str) -> str:
    return _SHORT.repr(value)


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _booked(kind: str, times: int) -> str:
    return f"the card was charged {_times(times)}" if kind == "charge" else f"the {kind} was booked {_times(times)}"


# --- what the learner's key is made of (read from activities.py, nothing is run) ------

CLOCK_CALLS = {"time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns"}


def _unstable(called: str) -> str:
    """What a call named ``called`` (e.g. "uuid.uuid4") gives a key, if it changes from
    one attempt or one process to the next; '' for everything else (uuid5 of a name,
    hashlib, f-strings...)."""
    parts = called.split(".")
    first, last = parts[0], parts[-1]
    if last in ("uuid1", "uuid4"):
        return "a random id"
    if first in ("random", "secrets") or called == "os.urandom" or last in ("token_hex", "token_urlsafe"):
        return "a random value"
    if (last in CLOCK_CALLS and (first == "time" or len(parts) == 1)) or last in ("now", "utcnow", "today"):
        return "the clock"
    if called == "hash":
        return "Python's hash()"
    return ""


def unstable_key_sources(source: str) -> list[tuple[int, str, str]]:
    """(line, call, what it is) for every call that makes an idempotency key differ from
    one attempt (or one process) to the next: uuid4(), the clock, random, the attempt
    number, the built-in hash() of a string (salted per process). Only the code that
    feeds a ``key=`` argument counts, following the functions and names it uses."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    functions = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    found: dict[int, tuple[int, str, str]] = {}
    seen: set[int] = set()

    def assigned(statements) -> dict[str, list[ast.AST]]:
        names: dict[str, list[ast.AST]] = {}
        for node in (n for s in statements for n in ast.walk(s)):
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and node.value is not None:
                targets = [node.target]
            else:
                continue
            for target in targets:
                if isinstance(target, ast.Name):
                    names.setdefault(target.id, []).append(node.value)
        return names

    module_names = assigned([s for s in tree.body if isinstance(s, (ast.Assign, ast.AnnAssign))])

    def follow(expression: ast.AST, names: dict[str, list[ast.AST]]) -> None:
        if id(expression) in seen:
            return
        seen.add(id(expression))
        for node in ast.walk(expression):
            if isinstance(node, ast.Attribute) and node.attr == "attempt":
                found.setdefault(node.lineno, (node.lineno, ast.unparse(node), "the attempt number"))
            elif isinstance(node, ast.Name) and node.id in names:
                for value in names[node.id]:
                    follow(value, names)
            elif isinstance(node, ast.Call):
                what = _unstable(ast.unparse(node.func))
                if what:
                    found.setdefault(node.lineno, (node.lineno, f"{ast.unparse(node.func)}()", what))
                if isinstance(node.func, ast.Name) and node.func.id in functions:
                    function = functions[node.func.id]
                    inner = {**module_names, **assigned(function.body)}
                    for statement in ast.walk(function):
                        if isinstance(statement, ast.Return) and statement.value is not None:
                            follow(statement.value, inner)

    scopes = [(f, {**module_names, **assigned(f.body)}) for f in functions.values()]
    scopes += [(s, module_names) for s in tree.body if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for scope, names in scopes:
        for node in ast.walk(scope):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "key":
                        follow(keyword.value, names)
    return [found[line] for line in sorted(found)]


def _key_sources(lab) -> list[tuple[int, str, str]]:
    path = lab.modules.folder / "activities.py"
    return unstable_key_sources(path.read_text()) if path.exists() else []


def _made_with(lab) -> str:
    """'made with uuid.uuid4() (activities.py, line 27), a random id', or ''."""
    sources = _key_sources(lab)
    return f"made with {sources[0][1]} (activities.py, line {sources[0][0]}), {sources[0][2]}" if sources else ""


def _what_changed(keys: list[str]) -> str:
    """What differs between keys made by the attempts of one step, when it is plain."""
    tokens = [re.findall(r"[0-9A-Za-z]+", key) for key in keys]
    if len({len(t) for t in tokens}) != 1:
        return ""
    differing = [column for column in zip(*tokens) if len(set(column)) > 1]
    if not differing:
        return ""
    if all(all(t.isdigit() for t in column) and [int(t) for t in column] == list(range(1, len(column) + 1)) for column in differing):
        return "the attempt number"
    if any(re.fullmatch(r"[0-9a-f]{6,}", t) and not t.isdigit() for column in differing for t in column):
        return "a random id"
    if all(re.fullmatch(r"[0-9T]+", t) for column in differing for t in column):
        return "the clock"
    return ""


# --- the expectations --------------------------------------------------------------------


def expect_keys_hold(outcome: Outcome, lab) -> None:
    """The keys of one trip's steps found the work of earlier attempts: no bug in the
    activities, no key shared with another trip or step, one booking of each kind, and
    no undo that looked under a key its step never used."""
    for run in outcome.timeline.runs:
        reused = KEY_REUSED.search(run.error)
        if reused:
            raise CheckFailed(_key_reused(run.name, reused, outcome.trip.trip_id))
        if run.outcome in ("failed", "timed out") and run.error_type not in BUSINESS_ERRORS | OUTAGES:
            raise CodeError(_activity_bug(run, lab))

    rows = world.keys(outcome.trip.trip_id)
    for kind, step in STEP_OF.items():
        keys = [key for k, _, key, _ in rows if k == kind]
        if len(keys) > 1:
            attempts = next((r.attempts for r in outcome.timeline.runs if r.name == step), 0)
            how = f"{step} lost its reply and ran again" if attempts > 1 else f"{step} ran"
            what = _what_changed(keys)
            made = f", {_made_with(lab)}" if _made_with(lab) else f": they differ in {what}" if what else ""
            raise CheckFailed(
                f"each retry made a new key, so {_booked(kind, len(keys))}: {how} under "
                f"{_listed([_quote(k) for k in keys])}{made}. {ADVICE}"
            )

    if world.is_confirmed(outcome.trip.trip_id):
        return
    every_key = {key for _, _, key, _ in world.keys()}
    for kind, _, key, status in rows:
        if status not in ("held", "charged"):
            continue
        undo = UNDO_OF[STEP_OF[kind]]
        if not any(r.name == undo and r.outcome == "completed" for r in outcome.timeline.runs):
            continue  # never ran, or never finished: expect_undone says why
        looked = [k for op, k, _ in world.journal() if op == WORLD_UNDO[kind] and k not in every_key]
        mine = [k for k in looked if outcome.trip.trip_id in k] or looked
        where = f"looked for key {_quote(mine[-1])}" if mine else "did not find it"
        made = f" The key is {_made_with(lab)}, which is not the same in the undo as in its step." if _made_with(lab) else ""
        raise CheckFailed(
            f"{undo} ran, but {where}, and the {'charge' if kind == 'charge' else kind} was "
            f"{'made' if kind == 'charge' else 'booked'} under key {_quote(key)}, so it is still "
            f"{status}: the undo must use the same key as its step ({STEP_OF[kind]}), to find "
            f"the booking even when the step's reply was lost.{made}"
        )


def _key_reused(activity: str, reused: re.Match, trip_id: str) -> str:
    key, other = ast.literal_eval(reused["key"]), ast.literal_eval(reused["trip"])
    kind = "charge" if reused["kind"] == "payment" else reused["kind"]
    if other == trip_id:
        return (
            f"{activity} made the key {_quote(key)}, which this trip's {kind} already used, so the "
            "travel world refused it: two steps share one key. Put the step's name in every key: "
            "make it from the trip id and the step's name, e.g. f\"{trip.trip_id}:hotel\"."
        )
    return (
        f"{activity} made the key {_quote(key)}, which trip {other!r} already used for its {kind}, "
        "so the travel world refused it: a key made without the trip id is the same for two "
        "trips (of one customer, too). Put the trip id in every key: make it from the trip id "
        "and the step's name."
    )


def expect_names_its_bookings(outcome: Outcome) -> None:
    """The itinerary names the one booking of each kind, and the one charge, that the
    trip holds: the lost-reply booking, which the retry found."""
    result = outcome.result if isinstance(outcome.result, dict) else {}
    for kind, k_id, _, status in world.keys(outcome.trip.trip_id):
        named = result.get(ITINERARY[kind])
        expect(
            named == k_id,
            f"the trip holds {kind} {k_id} ({status}), but its itinerary names {named!r}: the "
            "itinerary must name what the world booked, the first attempt's work that the retry found.",
        )


def expect_held_once(outcome: Outcome, kind: str) -> None:
    held = [(i, s) for k, i, _, s in world.keys(outcome.trip.trip_id) if k == kind and s in ("held", "charged")]
    expect(len(held) == 1, f"trip {outcome.trip.trip_id} holds {len(held)} {kind}(s); expected exactly one.")


def expect_retried(outcome: Outcome, step: str, attempts: int) -> None:
    run = next((r for r in outcome.timeline.runs if r.name == step), None)
    expect(
        run is not None and run.attempts >= attempts,
        f"{step} ran {run.attempts if run else 0} time(s), but its replies were lost {attempts - 1} "
        "times: did the worker run it with a retry policy of at least 3 attempts (workflow.py's STEP)?",
    )


# --- the checks ----------------------------------------------------------------------------


@suite.check("Two trips of one customer are each booked once, under keys of their own")
async def two_trips(lab):
    for trip in (lab.trip(), lab.trip()):
        outcome = await lab.book(trip)
        expect_keys_hold(outcome, lab)
        expect_trip_booked(outcome)
        expect_names_its_bookings(outcome)


@suite.check("The hotel books, then loses its reply twice (the failure switch): one room, the one the itinerary names")
async def lost_hotel_replies(lab):
    world.inject("book_hotel", "lose_reply", times=2)
    outcome = await lab.book(lab.trip())
    expect_keys_hold(outcome, lab)
    expect_trip_booked(outcome)
    expect_retried(outcome, "book_hotel", 3)
    expect_held_once(outcome, "hotel")
    expect_held_once(outcome, "charge")
    expect_names_its_bookings(outcome)


@suite.check("A lost-reply room is cancelled when a later step fails (a bad card), by the same key")
async def lost_reply_then_bad_card(lab):
    world.inject("book_hotel", "lose_reply", times=2)
    undo_meets_outage("cancel_hotel")
    outcome = await lab.book(lab.trip(card_number="424242424242424"))
    expect_keys_hold(outcome, lab)
    expect_undone(outcome, lab)
    rooms = [status for kind, _, _, status in world.keys(outcome.trip.trip_id) if kind == "hotel"]
    expect(rooms == ["cancelled"], f"the trip's hotel rooms are {rooms}; expected one, cancelled.")


@suite.check("A payment that loses its reply twice charges the card once")
async def lost_payment_replies(lab):
    world.inject("charge_card", "lose_reply", times=2)
    outcome = await lab.book(lab.trip())
    expect_keys_hold(outcome, lab)
    expect_trip_booked(outcome)
    expect_retried(outcome, "charge_payment", 3)
    expect_held_once(outcome, "charge")
    expect_names_its_bookings(outcome)


@suite.check("Every step loses its first reply, then the confirmation fails: every undo finds its booking by its key")
async def every_undo_finds_its_booking(lab):
    for operation in ("book_flight", "book_hotel", "book_car", "charge_card"):
        world.inject(operation, "lose_reply", times=1)
    world.inject("confirm_trip", "fail")  # an outage that outlasts the step's retries
    undo_meets_outage("refund_payment")
    outcome = await lab.book(lab.trip())
    expect_keys_hold(outcome, lab)
    expect_undone(outcome, lab)


@suite.check("Keys are made only from what every attempt sees the same: no clock, random id, attempt number or hash()")
async def stable_key_sources(lab):
    found = _key_sources(lab)
    if found:
        _, _, what = found[0]
        later = {
            "Python's hash()": "a string's hash differs from one process to the next (Python salts it), so a "
            "worker restarted between two attempts would make a new key and book again. Use hashlib, or no hash at all.",
            "the attempt number": "it is 1, 2, 3... on each attempt, so a retry makes a new key and books again.",
        }.get(what, "it differs from one attempt to the next (a retry a second later, or on another worker), "
                    "so a retry makes a new key and books again.")  # fmt: skip
        raise CheckFailed(
            f"the idempotency key is {_made_with(lab)}: {later} {ADVICE}"
        )
