"""Exercise 04, idempotent steps: how students really get the idempotency key wrong, and
ways to get it right that the checks must accept. Each entry edits a copy of the
solution's activities.py (see catalogue.py)."""

from catalogue import right, wrong

KEY = '    return f"{trip.trip_id}:{step}"\n'
IMPORTS = "from contextlib import contextmanager\n"


KEYDEF = "def key(trip: TripRequest, step: str) -> str:\n"
BOOK_HOTEL = """        return world.book_hotel(
            trip.trip_id, trip.hotel, trip.room_type, trip.nights, key=key(trip, "hotel")
        ).id"""
CACHED_UUID = '@functools.lru_cache(maxsize=None)\ndef _key(trip_id: str, step: str) -> str:\n    return f"{trip_id}:{step}:{uuid.uuid4()}"\n\n\n'
CACHED_PLAIN = '@functools.lru_cache(maxsize=None)\ndef _key(trip_id: str, step: str) -> str:\n    return f"{trip_id}:{step}"\n\n\n'


def key_made(body: str, *imports: str) -> list[tuple[str, str]]:
    """Edits that make key() return ``body`` (a Python expression), with ``imports`` (lines
    put after the module's imports: an import, or after an empty line, a module-level
    statement)."""
    edits = [(KEY, f"    return {body}\n")]
    if not imports:
        return edits
    lines = "".join(f"{line}\n" for line in imports)
    return edits + [("from workbook.trips import TripRequest\n", "from workbook.trips import TripRequest\n" + lines)]


ANSWERS = [
    wrong("04", "a uuid4 in the key", "activities.py", key_made('f"{trip.trip_id}:{step}:{uuid.uuid4()}"', "import uuid"), "each retry made a new key, so the hotel was booked 3 times"),
    wrong("04", "the time in the key", "activities.py", key_made('f"{trip.trip_id}:{step}:{time.time()}"', "import time"), "made with time.time()"),
    wrong("04", "the time to the second in the key", "activities.py", key_made('f"{trip.trip_id}:{step}:{int(time.time())}"', "import time"), "made with time.time()"),
    wrong("04", "the minute in the key", "activities.py", key_made("f\"{trip.trip_id}:{step}:{datetime.now():%Y%m%d%H%M}\"", "from datetime import datetime"), "made with datetime.now()"),
    wrong("04", "the attempt number in the key", "activities.py", key_made('f"{trip.trip_id}:{step}:{activity.info().attempt}"'), "each retry made a new key, so the hotel was booked 3 times"),
    wrong("04", "the step's name only", "activities.py", key_made("step"), "a key made without the trip id"),
    wrong("04", "the customer's name and the step", "activities.py", key_made('f"{trip.customer}:{step}"'), "a key made without the trip id"),
    wrong("04", "the trip id only", "activities.py", key_made("trip.trip_id"), "two steps share one key"),
    wrong("04", "copy-paste: the car booked under the hotel's key", "activities.py", [('trip.car_type, trip.rental_days, key=key(trip, "car")', 'trip.car_type, trip.rental_days, key=key(trip, "hotel")')], "two steps share one key"),
    wrong("04", "a random key in one undo", "activities.py", [('    world.cancel_hotel(key=key(trip, "hotel"))', "    world.cancel_hotel(key=str(uuid.uuid4()))"), (IMPORTS, IMPORTS + "import uuid\n")], "the undo must use the same key as its step"),
    wrong("04", "the undo keyed by its own name", "activities.py", [('    world.cancel_car(key=key(trip, "car"))', '    world.cancel_car(key=key(trip, "cancel_car"))')], "cancel_car ran, but looked for key"),
    wrong("04", "the refund under another key than the charge", "activities.py", [('    world.refund(key=key(trip, "payment"))', '    world.refund(key=key(trip, "refund"))')], "refund_payment ran, but looked for key"),
    wrong("04", "a uuid for the charge only", "activities.py", [('amount, key=key(trip, "payment")', "amount, key=str(uuid.uuid4())"), (IMPORTS, IMPORTS + "import uuid\n")], "each retry made a new key, so the card was charged 3 times"),
    wrong("04", "the activity id (stable on retries, not in the undo)", "activities.py", key_made('f"{trip.trip_id}:{step}:{activity.info().activity_id}"'), "the undo must use the same key as its step"),
    wrong("04", "Python's hash() of the trip and step", "activities.py", key_made("str(hash((trip.trip_id, step)))"), "a string's hash differs from one process to the next"),
    right("04", "the workflow id and the step", "activities.py", key_made('f"{activity.info().workflow_id}:{step}"')),
    right("04", "the workflow run id and the step", "activities.py", key_made('f"{activity.info().workflow_run_id}:{step}"')),
    right("04", "a sha256 of the trip id and the step", "activities.py", key_made('hashlib.sha256(f"{trip.trip_id}|{step}".encode()).hexdigest()', "import hashlib")),
    right("04", "a uuid5 named by the trip id and the step", "activities.py", key_made('str(uuid.uuid5(uuid.NAMESPACE_URL, f"{trip.trip_id}/{step}"))', "import uuid")),
    right("04", "the step first, then the trip id", "activities.py", key_made('f"{step}@{trip.trip_id}"')),
    # Stable in one worker process only: the attempts in one worker agree, a restarted worker's do not.
    wrong("04", "a uuid cached per trip and step in a module dict", "activities.py", key_made('_KEYS.setdefault((trip.trip_id, step), f"{trip.trip_id}:{step}:{uuid.uuid4().hex}")', "import uuid", "", "_KEYS: dict = {}"), "the same only within one worker process"),
    wrong("04", "a uuid made by an lru_cache'd helper", "activities.py", [*key_made("_key(trip.trip_id, step)", "import functools", "import uuid"), (KEYDEF, CACHED_UUID + KEYDEF)], "the same only within one worker process"),
    wrong("04", "a counter kept per trip and step", "activities.py", key_made('f"{trip.trip_id}:{step}:{_NUMBERS.setdefault((trip.trip_id, step), len(_NUMBERS))}"', "", "_NUMBERS: dict = {}"), "a restarted worker starts with it empty"),
    wrong("04", "the time the worker started", "activities.py", key_made('f"{trip.trip_id}:{step}:{STARTED}"', "import time", "", "STARTED = int(time.time() * 1000)"), "read once when activities.py is imported"),
    wrong("04", "the process id", "activities.py", key_made('f"{trip.trip_id}:{step}:{os.getpid()}"', "import os"), "os.getpid()"),
    wrong("04", "id() of the step's name", "activities.py", key_made('f"{trip.trip_id}:{step}:{id(step)}"'), "made with id()"),
    wrong("04", "the thread's id", "activities.py", key_made('f"{trip.trip_id}:{step}:{threading.get_ident()}"', "import threading"), "made with threading.get_ident()"),
    wrong("04", "today's date in the key", "activities.py", key_made('f"{trip.trip_id}:{step}:{date.today()}"', "from datetime import date"), "made with date.today()"),
    wrong("04", "the minute, as time.time() // 60", "activities.py", key_made('f"{trip.trip_id}:{step}:{int(time.time() // 60)}"', "import time"), "made with time.time()"),
    wrong("04", "a random number in the key", "activities.py", key_made('f"{trip.trip_id}:{step}:{random.randint(0, 10**9)}"', "import random"), "made with random.randint()"),
    # Shared between trips, or between a step and its undo.
    wrong("04", "the request's details but not the trip id", "activities.py", key_made('f"{trip.customer}:{trip.flight}:{trip.hotel}:{trip.car_type}:{step}"'), "without the trip id"),
    wrong("04", "the activity's name (book_hotel, cancel_hotel)", "activities.py", key_made('f"{trip.trip_id}:{activity.info().activity_type}"'), "made with activity.info().activity_type"),
    wrong("04", "copy-paste: cancel_car under the hotel's key", "activities.py", [('    world.cancel_car(key=key(trip, "car"))', '    world.cancel_car(key=key(trip, "hotel"))')], "looked under the hotel's key"),
    wrong("04", "the amount in the charge's key", "activities.py", [('amount, key=key(trip, "payment")', 'amount, key=key(trip, f"payment-{amount}")')], "refund_payment ran, but looked for key"),
    wrong("04", "only the hotel's keys fixed", "activities.py", [*key_made('f"{trip.trip_id}:{step}:{uuid.uuid4().hex[:8]}"', "import uuid"), ('trip.nights, key=key(trip, "hotel")', 'trip.nights, key=f"{trip.trip_id}:hotel"'), ('world.cancel_hotel(key=key(trip, "hotel"))', 'world.cancel_hotel(key=f"{trip.trip_id}:hotel")')], "made with uuid.uuid4()"),
    # What the activities return, and the errors they let through.
    wrong("04", "the key returned as the booking's id", "activities.py", [('trip.nights, key=key(trip, "hotel")\n        ).id', 'trip.nights, key=key(trip, "hotel")\n        ) and key(trip, "hotel")')], "the idempotency key"),
    wrong("04", "a lost reply answered with a made-up id", "activities.py", [(BOOK_HOTEL, "        try:\n    " + BOOK_HOTEL.replace("\n", "\n    ") + '\n        except world.ServiceUnavailable:\n            return "pending"')], "caught the lost reply"),
    wrong("04", "every error made final, lost replies too", "activities.py", [("    except world.BookingError as err:", "    except Exception as err:")], "was not retried"),
    wrong("04", "an undo that swallows its outage", "activities.py", [('    world.cancel_hotel(key=key(trip, "hotel"))', '    try:\n        world.cancel_hotel(key=key(trip, "hotel"))\n    except world.ServiceUnavailable:\n        pass')], "caught the outage"),
    wrong("04", "lru_cache on key(trip, step): a TripRequest is unhashable", "activities.py", [(KEYDEF, "@functools.lru_cache(maxsize=None)\n" + KEYDEF), (IMPORTS, IMPORTS + "import functools\n")], "unhashable type"),
    wrong("04", "a random salt made once, at import", "activities.py", key_made('f"{trip.trip_id}:{step}:{SALT}"', "import secrets", "", "SALT = secrets.token_hex(4)"), "read once when activities.py is imported"),
    wrong("04", "no key for the undo: the trip id alone", "activities.py", [('    world.cancel_hotel(key=key(trip, "hotel"))', "    world.cancel_hotel(key=trip.trip_id)")], "cancel_hotel ran, but looked for key"),
    right("04", "the trip id lower-cased, then the step", "activities.py", key_made('f"{trip.trip_id.lower()}:{step}"')),
    right("04", "the trip id and step, joined by a slash", "activities.py", key_made('f"{trip.trip_id}/{step}"')),
    right("04", "the trip id, the customer and the step", "activities.py", key_made('f"{trip.trip_id}:{trip.customer}:{step}"')),
    right("04", "a dict that caches the plain key", "activities.py", key_made('_KEYS.setdefault((trip.trip_id, step), f"{trip.trip_id}:{step}")', "", "_KEYS: dict = {}")),
    right("04", "an lru_cache'd helper of the trip id and step", "activities.py", [*key_made("_key(trip.trip_id, step)", "import functools"), (KEYDEF, CACHED_PLAIN + KEYDEF)]),
    right("04", "a versioned key joined with dashes", "activities.py", key_made('"-".join([trip.trip_id, step, "v1"])')),
]  # fmt: skip
