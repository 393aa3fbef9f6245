"""Exercise 04, idempotent steps: how students really get the idempotency key wrong, and
ways to get it right that the checks must accept. Each entry edits a copy of the
solution's activities.py (see catalogue.py)."""

from catalogue import right, wrong

KEY = '    return f"{trip.trip_id}:{step}"\n'
IMPORTS = "from contextlib import contextmanager\n"


def key_made(body: str, *imports: str) -> list[tuple[str, str]]:
    """Edits that make key() return ``body`` (a Python expression), with ``imports``."""
    edits = [(KEY, f"    return {body}\n")]
    return edits + [(IMPORTS, IMPORTS + "".join(f"{line}\n" for line in imports))] if imports else edits


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
]  # fmt: skip
