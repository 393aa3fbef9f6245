"""Checks for exercise 04: idempotent steps.

Temporal runs an activity at least once: a step can commit its work and then lose its
reply, and its retry must find that work instead of doing it again. Each check makes
some replies get lost (world.inject(..., "lose_reply")) and judges what is left in the
travel world: how many bookings and charges each trip holds, under which idempotency
keys (world.keys), which key every attempt and every undo used (world.journal), and
whether what the workflow returned names those very bookings. Some attempts and undos
run in a restarted worker (Lab.book(elsewhere=...): a fresh Python process whose clock
runs a day ahead, see elsewhere.py), so a key that is the same only while one worker
process lives is caught by what it books, not by how it reads.

Nothing fails on the source text alone: when a run shows a key that changed, the source
of activities.py is read only to add what the key is made with, and its line.

| README point | scenario (check) | what fails when it is violated |
|---|---|---|
| a retry after a lost reply finds the first attempt's room, not a second one | the hotel loses 2 replies (lost_hotel_replies); the payment loses 2 (lost_payment_replies) | "each retry made a new key, so the hotel was booked 3 times", with the keys of each attempt and what they are made with |
| never a random id, the time or the attempt number | the same, and a retry a day later (restarted_worker) | the keys of each attempt; "made with uuid.uuid4()", "activity.info().attempt", "time.time()"... |
| the key is the same on every attempt, wherever it runs (a worker restarts, a retry runs on another worker) | attempt 2 of the hotel, and the undos of a trip, run in a fresh Python process a day later (restarted_worker) | "the same only within one worker process": the attempts here share a key, the restarted worker's differs (a uuid cached in a dict, a counter, the time at import, os.getpid(), id(), hash()) |
| the undo finds the booking by the same key | a lost-reply room, then a bad card (lost_reply_then_bad_card); every step loses a reply, then the confirmation fails (every_undo_finds_its_booking); the undos in a restarted worker (restarted_worker) | "cancel_hotel ran, but looked for key ..., and the hotel was booked under key ..., so it is still held" |
| the trip id in the key: two trips never share one | two trips of one customer, identical requests (two_trips) | "a key made without the trip id": the world refuses the key, or another trip's undo cancels this trip's booking |
| the step's name in the key: two steps never share one | every booking (two_trips) | "two steps share one key" |
| one room, the one the itinerary names | every completed trip: its Itinerary compared with the world's reservations | "book_hotel returned ..., but the hotel booked for this trip is HT-...": the key instead of the id, a value of its own for a lost reply, another trip's booking |
| a lost reply is an outage: it is retried, never made final | the hotel loses 2 replies (lost_hotel_replies) | "book_hotel lost its reply once and was not retried", with the except clause that made it final; a lost reply caught and answered with a value of its own: "it caught the lost reply" |
| each undo under its own step's key | every step's undo runs (every_undo_finds_its_booking, lost_reply_then_bad_card) | "cancel_car ran, but looked under the hotel's key" |
| (exercise 03) an undo that meets an outage is retried until it works | the hotel's and the bank's undos are down for 3 attempts (lost_reply_then_bad_card, every_undo_finds_its_booking) | "cancel_hotel met an outage on attempt 1 ..., yet it completed on that attempt: it caught the outage" |

Not judged here: the workflow (exercise 03's solution, unchanged in this exercise) is judged
by expect_undone as in exercise 03; a step's own timing plays no part (no desk is held).
"""

from __future__ import annotations

import ast
import asyncio
import re
import reprlib
import time

from workbook import world
from workbook.checks import CheckFailed, CodeError, Outcome, Suite, expect, expect_trip_booked
from workbook.checks.saga import (
    BUSINESS_ERRORS, OUTAGES, UNDO_OF, UNDO_OUTAGE, _activity_bug, _times, expect_undone, undo_meets_outage,
)  # fmt: skip

suite = Suite("04", "Idempotent steps: a retry finds the first attempt's work")

STEP_OF = {"flight": "book_flight", "hotel": "book_hotel", "car": "book_car", "charge": "charge_payment"}
WORLD_STEP = {"flight": "book_flight", "hotel": "book_hotel", "car": "book_car", "charge": "charge_card"}
WORLD_UNDO = {"flight": "cancel_flight", "hotel": "cancel_hotel", "car": "cancel_car", "charge": "refund"}
ITINERARY = {"flight": "flight_reservation", "hotel": "hotel_reservation", "car": "car_reservation", "charge": "payment_id"}
ADVICE = (
    "A key must be the same on every attempt: make it from the trip id and the step's name only, "
    "never from uuid4(), the clock or the attempt number."
)
RESTARTED = "in a restarted worker (a fresh Python process, a day later)"
KEY_REUSED = re.compile(
    r"idempotency key (?P<key>'.*?'|\".*?\") was already used for an? (?P<kind>\w+) of trip (?P<trip>'.*?'|\".*?\")"
)

_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60


def _quote(value: object) -> str:
    return _SHORT.repr(value)


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _booked(kind: str, times: int) -> str:
    return f"the card was charged {_times(times)}" if kind == "charge" else f"the {kind} was booked {_times(times)}"


def _what(kind: str) -> str:
    return "payment" if kind == "charge" else kind


# --- what the learner's key is made of (read from activities.py, only to explain a failure) ---

CLOCK_CALLS = {"time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns"}
PROCESS_LOCAL = "a value kept in one worker process's memory"
# The more telling source first, when a key is made of several.
OWN_ID = "the activity's own id or name"
RANK = ["a random id", "a random value", "the attempt number", "the clock", "Python's hash()", "the process id",
        "id(), an object's address in memory", "the thread's id", OWN_ID, PROCESS_LOCAL]  # fmt: skip
# What an attribute of activity.info() gives a key.
INFO = {"attempt": "the attempt number", "started_time": "the clock", "current_attempt_scheduled_time": "the clock",
        "task_token": "a random id", "activity_id": OWN_ID, "activity_type": OWN_ID}  # fmt: skip


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
    if last in ("getpid", "getppid"):
        return "the process id"
    if called == "id":
        return "id(), an object's address in memory"
    if last in ("get_ident", "get_native_id", "current_thread"):
        return "the thread's id"
    if last in ("count", "Counter", "defaultdict") and first in ("itertools", "collections", last):
        return PROCESS_LOCAL
    return ""


def unstable_key_sources(source: str) -> list[tuple[int, str, str]]:
    """(line, what it is called, what it is) for every call or name that makes an idempotency
    key differ from one attempt (or one process) to the next: uuid4(), the clock, random,
    the attempt number, the built-in hash() of a string (salted per process), the process
    or thread id, id(), a dict, list, counter or cache kept at module level. Only the code
    that feeds a ``key=`` argument counts, following the functions and names it uses.
    Sorted by what tells the most (a uuid before the dict that caches it)."""
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
    kept = {  # module-level containers: what a function stores there lives as long as the process
        name for name, values in module_names.items()
        if any(isinstance(v, (ast.Dict, ast.List, ast.Set)) or (isinstance(v, ast.Call) and ast.unparse(v.func).split(".")[-1]
               in ("dict", "list", "set", "defaultdict", "OrderedDict", "Counter", "count")) for v in values)
    }  # fmt: skip

    def note(line: int, called: str, what: str) -> None:
        if line not in found or RANK.index(what) < RANK.index(found[line][2]):
            found[line] = (line, called, what)

    def follow(expression: ast.AST, names: dict[str, list[ast.AST]]) -> None:
        if id(expression) in seen:
            return
        seen.add(id(expression))
        for node in ast.walk(expression):
            if isinstance(node, ast.Attribute) and node.attr in INFO:
                note(node.lineno, ast.unparse(node), INFO[node.attr])
            elif isinstance(node, ast.Name):
                if node.id in kept and names.get(node.id) is module_names.get(node.id):
                    note(node.lineno, node.id, PROCESS_LOCAL)
                for value in names.get(node.id, []):
                    follow(value, names)
            elif isinstance(node, ast.Call):
                what = _unstable(ast.unparse(node.func))
                if what:
                    note(node.lineno, f"{ast.unparse(node.func)}()", what)
                if isinstance(node.func, ast.Name) and node.func.id in functions:
                    function = functions[node.func.id]
                    cached = [d for d in function.decorator_list if ast.unparse(d).split("(")[0].split(".")[-1] in ("cache", "lru_cache")]
                    if cached:
                        note(cached[0].lineno, f"@{ast.unparse(cached[0])}", PROCESS_LOCAL)
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
    return sorted(found.values(), key=lambda f: (RANK.index(f[2]), f[0]))


# Why what a key is made with differs in a restarted worker, where it is not plain.
WHY = {
    "Python's hash()": ": a string's hash differs from one process to the next (Python salts it); use hashlib, or no hash at all",
    "the process id": ": every process has its own",
    "id(), an object's address in memory": ", which is another in every process",
    PROCESS_LOCAL: ": a restarted worker starts with it empty",
}


def _key_source(lab) -> tuple[int, str, str, bool] | None:
    """What tells the most of what the learner's key is made with: (line, what it is called,
    what it is, read once at import?), or None."""
    path = lab.modules.folder / "activities.py"
    source = path.read_text() if path.exists() else ""
    sources = unstable_key_sources(source)
    if not sources:
        return None
    line, called, what = sources[0]
    return line, called, what, line in _module_level_lines(source) and what != PROCESS_LOCAL


def _made_with(lab) -> str:
    """'made with uuid.uuid4() (activities.py, line 27), a random id', or ''."""
    found = _key_source(lab)
    if found is None:
        return ""
    line, called, what, once = found
    return f"made with {called} (activities.py, line {line}), {what}{', read once when activities.py is imported' if once else ''}"


def _module_level_lines(source: str) -> set[int]:
    """The lines of activities.py's top-level statements other than functions and classes:
    what runs there runs once per process, when the module is imported."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    lines: set[int] = set()
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return lines


def _looks_like_time(token: str) -> bool:
    """A number that reads as now (seconds, milliseconds, microseconds or nanoseconds since
    1970, a day either way), or a date and time written out (20270124, 2027-01-24T10...)."""
    if re.fullmatch(r"(19|20)\d{6}(T?\d{2,6})?", token):
        return True
    if not token.isdigit():
        return False
    now = time.time()
    return any(abs(int(token) / scale - now) < 2 * 86400 for scale in (1, 1e3, 1e6, 1e9))


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
    if all(_looks_like_time(t) for column in differing for t in column):
        return "the clock"
    if any(re.fullmatch(r"[0-9a-f]{6,}", t) and not t.isdigit() for column in differing for t in column):
        return "a random id"
    return ""


def lost_replies_made_final(source: str) -> int:
    """The line of an except clause in activities.py that turns every error, outages and
    lost replies too, into a non-retryable ApplicationError (``except Exception``), or 0."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return 0
    broad = {"Exception", "BaseException", "WorldError", "ServiceUnavailable", "ReplyLost"}
    for node in ast.walk(tree):
        if not isinstance(node, ast.ExceptHandler):
            continue
        caught = [] if node.type is None else node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
        if node.type is not None and not any(ast.unparse(c).split(".")[-1] in broad for c in caught):
            continue
        final = any(isinstance(n, ast.keyword) and n.arg == "non_retryable" for s in node.body for n in ast.walk(s))
        if final:
            return node.lineno
    return 0


# --- the expectations --------------------------------------------------------------------


def _attempt_keys(kind: str, keys: list[str]) -> list[str]:
    """The key each attempt of the step of ``kind`` used, in order, read from the journal:
    every attempt that reached the world left a line there, a lost reply too."""
    mine = set(keys)
    return [key for operation, key, _ in world.journal() if operation == WORLD_STEP[kind] and key in mine]


def _where(attempt: int, restarted: set[int]) -> str:
    return RESTARTED if attempt in restarted else "in this worker"


def _new_keys(outcome: Outcome, lab, kind: str, keys: list[str], elsewhere: dict[str, set[int]]) -> str:
    step = STEP_OF[kind]
    restarted = elsewhere.get(step, set())
    run = next((r for r in outcome.timeline.runs if r.name == step), None)
    made = _made_with(lab)
    by_attempt = _attempt_keys(kind, keys)
    here = {key for n, key in enumerate(by_attempt, 1) if n not in restarted}
    there = {key for n, key in enumerate(by_attempt, 1) if n in restarted}
    if restarted and len(here) == 1 and there and not there & here:
        ours = [str(n) for n, key in enumerate(by_attempt, 1) if n not in restarted]
        theirs = [str(n) for n, key in enumerate(by_attempt, 1) if n in restarted]
        later = " (the later one found the first one's booking)" if len(ours) > 1 else ""
        found = _key_source(lab)
        said = f" It is {made}{WHY.get(found[2], '') if found else ''}." if made else ""
        if found and found[2] == "the clock" and not found[3]:
            return (
                f"{step}'s key changes with the clock, so {_booked(kind, len(keys))}: attempt"
                f"{'s' if len(ours) > 1 else ''} {_listed(ours)} ran moments apart in this worker and used "
                f"{_quote(next(iter(here)))}{later}, but attempt {_listed(theirs)} ran {RESTARTED} and "
                f"made {_listed([_quote(k) for k in sorted(there)])}, and booked again.{said} A retry can "
                f"come a second, an hour or a day after the first attempt. {ADVICE}"
            )
        return (
            f"{step}'s key is the same only within one worker process, so {_booked(kind, len(keys))}: "
            f"attempt{'s' if len(ours) > 1 else ''} {_listed(ours)} ran in this worker and used "
            f"{_quote(next(iter(here)))}{later}, but attempt {_listed(theirs)} ran {RESTARTED} and "
            f"made {_listed([_quote(k) for k in sorted(there)])}, and booked again.{said} What one process "
            "makes or remembers (a uuid cached in a dict, a counter, the time at import, os.getpid(), "
            "id(), hash()) is different in the next, and a retry may run after a restart or on another "
            f"worker. {ADVICE}"
        )
    how = f"{step} lost its reply and ran again" if run and run.attempts > 1 else f"{step} ran"
    if restarted and by_attempt:
        under = [f"attempt {n}{', ' + RESTARTED + ',' if n in restarted else ''} under {_quote(key)}" for n, key in enumerate(by_attempt, 1)]
        listing = f": {_listed(under)}"
    else:
        listing = f" under {_listed([_quote(k) for k in keys])}"
    what = _what_changed(keys)
    said = f", {made}" if made else f": they differ in {what}" if what else ""
    return f"each retry made a new key, so {_booked(kind, len(keys))}: {how}{listing}{said}. {ADVICE}"


def expect_keys_hold(
    outcome: Outcome, lab, elsewhere: dict[str, set[int]] | None = None, outages: dict[str, int] | None = None
) -> None:
    """The keys of one trip's steps found the work of earlier attempts: no bug in the
    activities, no key shared with another trip or step, one booking of each kind, and
    no undo that looked under a key its step never used. ``elsewhere``: the attempts that
    ran in a restarted worker (as given to Lab.book); ``outages``: undo: how many of its
    first attempts its service was down for (undo_meets_outage)."""
    elsewhere = elsewhere or {}
    for run in outcome.timeline.runs:
        reused = KEY_REUSED.search(run.error)
        if reused:
            raise CheckFailed(_key_reused(run.name, reused, outcome.trip.trip_id))
        if run.outcome in ("failed", "timed out") and run.error_type not in BUSINESS_ERRORS | OUTAGES:
            raise CodeError(_activity_bug(run, lab))

    rows = world.keys(outcome.trip.trip_id)
    for kind in STEP_OF:
        keys = [key for k, _, key, _ in rows if k == kind]
        if len(keys) > 1:
            raise CheckFailed(_new_keys(outcome, lab, kind, keys, elsewhere))

    if world.is_confirmed(outcome.trip.trip_id):
        return
    every_key = {key for _, _, key, _ in world.keys()}
    for kind, _, key, status in rows:
        if status not in ("held", "charged"):
            continue
        undo = UNDO_OF[STEP_OF[kind]]
        if not any(r.name == undo and r.outcome == "completed" for r in outcome.timeline.runs):
            continue  # never ran, or never finished: expect_undone says why
        journal = world.journal()
        looked = [k for op, k, _ in journal if op == WORLD_UNDO[kind] and k not in every_key]
        mine = [k for k in looked if outcome.trip.trip_id in k] or looked
        made = _made_with(lab)
        state = f"{'made' if kind == 'charge' else 'booked'} under key {_quote(key)}"
        others = {k: other for other, _, k, _ in rows if other != kind}
        wrong = next((k for op, k, _ in journal if op == WORLD_UNDO[kind] and k in others), None)
        if wrong is not None:
            raise CheckFailed(
                f"{undo} ran, but looked under the {_what(others[wrong])}'s key {_quote(wrong)}, and the "
                f"{_what(kind)} was {state}, so it is still {status}: each undo must use the key of its "
                f"own step ({STEP_OF[kind]}), key(trip, ...) with that step's name."
            )
        run = next(r for r in outcome.timeline.runs if r.name == undo and r.outcome == "completed")
        met = _outage_met(WORLD_UNDO[kind], outages[undo]) if (outages or {}).get(undo) else 0
        if met and run.attempts <= met:
            raise CheckFailed(
                f"{undo} met an outage on attempt {run.attempts} (its service was down), yet it completed "
                f"on that attempt: it caught the outage (world.ServiceUnavailable) and returned as if it had "
                f"undone the {_what(kind)}, which is still {status} under key {_quote(key)}. Let the error "
                "raise: Temporal retries the undo until the service answers, and it finds the booking by its key."
            )
        if elsewhere.get(undo) and mine:
            found = _key_source(lab)
            said = f" It is {made}{WHY.get(found[2], '') if found else ''}." if made else ""
            raise CheckFailed(
                f"{undo} ran {RESTARTED} and looked for key {_quote(mine[-1])}, but the {_what(kind)} was "
                f"{state} in this worker, so it is still {status}: the key is the same only within one "
                f"worker process.{said} An undo often runs long after its step, after a restart or on "
                f"another worker, and must make the very key its step made. {ADVICE}"
            )
        where = f"looked for key {_quote(mine[-1])}" if mine else "did not find it"
        said = f" The key is {made}, which is not the same in the undo as in its step." if made else ""
        raise CheckFailed(
            f"{undo} ran, but {where}, and the {_what(kind)} was {state}, so it is still "
            f"{status}: the undo must use the same key as its step ({STEP_OF[kind]}), to find "
            f"the booking even when the step's reply was lost.{said}"
        )


def _outage_met(operation: str, times: int) -> int:
    """How many calls to ``operation`` met the outage of ``times`` failures that this check
    injected (in its fault scope): 0 when no call reached it (an undo whose key found nothing)."""
    from workbook.world.store import _connect

    with _connect() as conn:
        row = conn.execute(
            "SELECT remaining FROM faults WHERE operation = ? AND scope = ? AND kind = 'fail'",
            (operation, world.FAULT_SCOPE.get()),
        ).fetchone()
    return times - row[0] if row and row[0] is not None else 0


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


def expect_lost_reply_retried(outcome: Outcome, lab, step: str, attempts: int) -> None:
    """``step`` lost its reply ``attempts - 1`` times: it must have been tried again, so
    that its retry (under the same key) found the work and returned it."""
    run = next((r for r in outcome.timeline.runs if r.name == step), None)
    if run is None or run.attempts >= attempts:
        return
    if run.outcome == "completed":
        kind = next(k for k, s in STEP_OF.items() if s == step)
        result = outcome.result if isinstance(outcome.result, dict) else {}
        returned = f" and returned {_quote(result.get(ITINERARY[kind]))}" if ITINERARY[kind] in result else ""
        raise CheckFailed(
            f"{step} lost its reply, yet it completed on attempt {run.attempts}{returned}: it caught the lost "
            f"reply (world.ReplyLost, a world.ServiceUnavailable) and went on without the world's answer. "
            "Let it raise: Temporal runs the step again, and the retry, under the same key, finds the "
            "booking and returns its id."
        )
    allowed = run.max_attempts == 0 or run.attempts < run.max_attempts
    if run.outcome == "failed" and run.error_type in OUTAGES and allowed:
        path = lab.modules.folder / "activities.py"
        line = lost_replies_made_final(path.read_text()) if path.exists() else 0
        where = f" (the except clause on activities.py line {line} catches it)" if line else ""
        raise CheckFailed(
            f"{step} lost its reply {_times(run.attempts)} and was not retried: it failed with "
            f"{run.error!r}, a {run.error_type or 'timeout'}, made non-retryable{where}. A lost reply is an "
            "outage, not a business error: let it pass (only world.BookingError is final), so that "
            "Temporal runs the step again and the retry finds the booking by its key."
        )
    expect(
        False,
        f"{step} ran {_times(run.attempts)}, but its replies were lost {attempts - 1} "
        "times: did the worker run it with a retry policy of at least 3 attempts (workflow.py's STEP)?",
    )


def expect_itinerary_is_the_world(outcome: Outcome) -> None:
    """What the workflow returned names the one booking of each kind, and the one charge,
    that the trip holds in the travel world: the lost-reply booking, which the retry found."""
    result = outcome.result if isinstance(outcome.result, dict) else None
    if result is None:
        return  # expect_trip_booked says what it returned
    trip_id = outcome.trip.trip_id
    rows = world.keys(trip_id)
    owners = {r.id: r.trip_id for r in world.reservations()} | {p.id: p.trip_id for p in world.payments()}
    undone = {r.name for r in outcome.timeline.runs if r.compensation}
    for kind, name in ITINERARY.items():
        mine = [(i, key, status) for k, i, key, status in rows if k == kind]
        held = [i for i, _, status in mine if status in ("held", "charged")]
        returned = result.get(name)
        if len(held) == 1 and returned == held[0]:
            continue
        step, what = STEP_OF[kind], _what(kind)
        lead = f"the workflow returned {name}={_quote(returned)}"
        really = f"the {what} the world {'charged' if kind == 'charge' else 'booked'} for this trip is {held[0]}" if held else ""
        if any(returned == key for _, key, _ in mine):
            raise CheckFailed(
                f"{lead}, the idempotency key, but {really or 'that is no booking'}: {step} must return "
                f"the booking's id (world.{WORLD_STEP[kind]}(...).id), not the key it was made under."
            )
        cancelled = next(((i, key) for i, key, status in mine if i == returned and status not in ("held", "charged")), None)
        if cancelled and UNDO_OF[step] not in undone:
            shared = trip_id not in cancelled[1]
            raise CheckFailed(
                f"{lead}, this trip's {what}, but it was {'refunded' if kind == 'charge' else 'cancelled'} "
                f"although this trip undid nothing: another trip's {UNDO_OF[step]} used the same key "
                f"{_quote(cancelled[1])} and found it: "
                + ("a key made without the trip id is the same for two trips (of one customer, too): "
                   "put the trip id in every key, make it from the trip id and the step's name."
                   if shared else "give every step of every trip its own key: the trip id and the step's name.")
            )  # fmt: skip
        if returned in owners and owners[returned] != trip_id:
            raise CheckFailed(
                f"{lead}, which is trip {owners[returned]!r}'s {what}, not this trip's"
                f"{' (' + really + ')' if really else ''}: two trips share a key. Put the trip id in every key."
            )
        if held and returned not in owners:
            raise CheckFailed(
                f"{lead}, but {really} (under key {_quote(next(k for i, k, _ in mine if i == held[0]))}): "
                f"{step} must return the id the world gives (world.{WORLD_STEP[kind]}(...).id). If it "
                "catches a lost reply and returns a value of its own, the booking it made goes unnamed: "
                "let the error raise, so that Temporal retries and the retry finds the booking by its key."
            )


def expect_booked(outcome: Outcome, lab, lost: dict[str, int] | None = None) -> None:
    """Completed with every step once, each lost-reply step retried, and the Itinerary
    naming what the world holds for the trip."""
    for step, attempts in (lost or {}).items():
        expect_lost_reply_retried(outcome, lab, step, attempts)
    if outcome.status == "Completed":
        expect_itinerary_is_the_world(outcome)
    expect_trip_booked(outcome)


def expect_held_once(outcome: Outcome, kind: str) -> None:
    held = [(i, s) for k, i, _, s in world.keys(outcome.trip.trip_id) if k == kind and s in ("held", "charged")]
    expect(len(held) == 1, f"trip {outcome.trip.trip_id} holds {len(held)} {kind}(s); expected exactly one.")


# --- the checks ----------------------------------------------------------------------------


@suite.check("Two trips of one customer are each booked once, under keys of their own")
async def two_trips(lab):
    for trip in (lab.trip(), lab.trip()):
        outcome = await lab.book(trip)
        expect_keys_hold(outcome, lab)
        expect_booked(outcome, lab)


@suite.check("The hotel books, then loses its reply twice (the failure switch): one room, the one the itinerary names")
async def lost_hotel_replies(lab):
    world.inject("book_hotel", "lose_reply", times=2)
    outcome = await lab.book(lab.trip())
    expect_keys_hold(outcome, lab)
    expect_booked(outcome, lab, {"book_hotel": 3})
    expect_held_once(outcome, "hotel")
    expect_held_once(outcome, "charge")


@suite.check("A lost-reply room is cancelled when a later step fails (a bad card), by the same key")
async def lost_reply_then_bad_card(lab):
    world.inject("book_hotel", "lose_reply", times=2)
    undo_meets_outage("cancel_hotel")
    outcome = await lab.book(lab.trip(card_number="424242424242424"))
    expect_keys_hold(outcome, lab, outages={"cancel_hotel": UNDO_OUTAGE})
    expect_undone(outcome, lab)
    rooms = [status for kind, _, _, status in world.keys(outcome.trip.trip_id) if kind == "hotel"]
    expect(rooms == ["cancelled"], f"the trip's hotel rooms are {rooms}; expected one, cancelled.")


@suite.check("A payment that loses its reply twice charges the card once")
async def lost_payment_replies(lab):
    world.inject("charge_card", "lose_reply", times=2)
    outcome = await lab.book(lab.trip())
    expect_keys_hold(outcome, lab)
    expect_booked(outcome, lab, {"charge_payment": 3})
    expect_held_once(outcome, "charge")


@suite.check("Every step loses its first reply, then the confirmation fails: every undo finds its booking by its key")
async def every_undo_finds_its_booking(lab):
    for operation in ("book_flight", "book_hotel", "book_car", "charge_card"):
        world.inject(operation, "lose_reply", times=1)
    world.inject("confirm_trip", "fail")  # an outage that outlasts the step's retries
    undo_meets_outage("refund_payment")
    outcome = await lab.book(lab.trip())
    expect_keys_hold(outcome, lab, outages={"refund_payment": UNDO_OUTAGE})
    expect_undone(outcome, lab)


# The hotel's second attempt runs in a restarted worker; so do the undos of a trip whose
# hotel never answers (every attempt in this worker), as after a restart mid-saga.
RETRY_ELSEWHERE = {"book_hotel": {2}}
UNDOS_ELSEWHERE = {"cancel_hotel": {1, 2, 3}, "cancel_flight": {1, 2, 3}}


@suite.check("A worker restarts: the hotel's retry and a failed trip's undos run in a fresh process, a day later, and find the first attempt's room by its key")
async def restarted_worker(lab):
    retried, undone = lab.trip(), lab.trip()
    world.inject("book_hotel", "lose_reply", times=2, scope=retried.trip_id)  # attempts 1 and 2 here and there, 3 here
    world.inject("book_hotel", "lose_reply", times=3, scope=undone.trip_id)  # the step gives up: undo it
    booked, failed = await asyncio.gather(
        lab.book(retried, elsewhere=RETRY_ELSEWHERE), lab.book(undone, elsewhere=UNDOS_ELSEWHERE)
    )
    expect_keys_hold(booked, lab, RETRY_ELSEWHERE)
    expect_booked(booked, lab, {"book_hotel": 3})
    expect_keys_hold(failed, lab, UNDOS_ELSEWHERE)
    expect_undone(failed, lab, lost_reply=True)
