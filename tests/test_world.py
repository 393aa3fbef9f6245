"""The travel world keeps the promises every exercise relies on: idempotent bookings,
safe compensations, the right business errors, deterministic faults, a journal, and
correct inventory under concurrent writers."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

CARD = "4242424242424242"


# --- idempotency ----------------------------------------------------------------------


def test_same_key_books_once(world):
    first = world.book_flight("t1", "TW101", key="t1:flight")
    again = world.book_flight("t1", "TW101", key="t1:flight")
    assert again == first
    assert world.available("flight", "TW101") == 39
    assert len(world.reservations()) == 1

    room = world.book_hotel("t1", "harbor-view", "deluxe", 3, key="t1:hotel")
    assert world.book_hotel("t1", "harbor-view", "deluxe", 3, key="t1:hotel") == room
    assert room.amount_cents == 94500
    assert world.available("hotel", "harbor-view/deluxe") == 19

    car = world.book_car("t1", "economy", 3, key="t1:car")
    assert world.book_car("t1", "economy", 3, key="t1:car") == car
    assert world.available("car", "New York/economy") == 19


def test_same_key_charges_once(world):
    first = world.charge_card("t1", CARD, 28000, key="t1:charge")
    again = world.charge_card("t1", CARD, 28000, key="t1:charge")
    assert again == first
    assert [(p.amount_cents, p.status) for p in world.payments()] == [(28000, "charged")]


def test_a_key_cannot_be_reused_for_another_step(world):
    world.book_flight("t1", "TW101", key="t1:step")
    with pytest.raises(ValueError, match="already used"):
        world.book_hotel("t1", "harbor-view", "deluxe", 1, key="t1:step")
    assert world.available("hotel", "harbor-view/deluxe") == 20


# --- compensations ----------------------------------------------------------------------


def test_cancel_is_safe_to_repeat(world):
    world.book_flight("t1", "TW101", key="t1:flight")
    assert world.cancel_flight(key="t1:flight") is True
    assert world.cancel_flight(key="t1:flight") is False
    assert world.available("flight", "TW101") == 40  # released once, not twice
    assert [r.status for r in world.reservations()] == ["cancelled"]


def test_refund_is_safe_to_repeat(world):
    world.charge_card("t1", CARD, 94500, key="t1:charge")
    assert world.refund(key="t1:charge") is True
    assert world.refund(key="t1:charge") is False
    assert [p.status for p in world.payments()] == ["refunded"]


def test_undo_with_nothing_to_undo_is_a_no_op(world):
    assert world.cancel_flight(key="never-booked") is False
    assert world.cancel_hotel(key="never-booked") is False
    assert world.cancel_car(key="never-booked") is False
    assert world.refund(key="never-charged") is False
    assert world.available("flight", "TW101") == 40
    assert world.available("hotel", "harbor-view/deluxe") == 20
    assert world.available("car", "New York/economy") == 20
    assert world.reservations() == [] and world.payments() == []


def test_cancel_of_the_wrong_kind_does_nothing(world):
    world.book_flight("t1", "TW101", key="t1:flight")
    assert world.cancel_hotel(key="t1:flight") is False
    assert [r.status for r in world.reservations()] == ["held"]


# --- business errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda w: w.book_flight("t", "XX999", key="k"), "UnknownItem", "there is no flight XX999"),
        (lambda w: w.book_flight("t", "TW305", key="k"), "NoAvailability", "flight TW305 is sold out"),
        (lambda w: w.book_car("t", "suv", 3, key="k"), "NoAvailability", "no suv car is left in New York"),
        (lambda w: w.book_car("t", "tank", 3, key="k"), "UnknownItem", "nobody rents out a car of type 'tank'"),
        (
            lambda w: w.book_hotel("t", "harbor-view", "penthouse", 2, key="k"),
            "UnknownItem",
            "harbor-view has no penthouse rooms",
        ),
        (lambda w: w.book_hotel("t", "ritz", "deluxe", 2, key="k"), "UnknownItem", "no hotel 'ritz'"),
        (
            lambda w: w.charge_card("t", "424242424242424", 100, key="k"),
            "InvalidCardNumber",
            "it needs 16 digits, it has 15",
        ),
        (
            lambda w: w.charge_card("t", "4242424242424241", 100, key="k"),
            "InvalidCardNumber",
            "fails its check digit",
        ),
        (
            lambda w: w.charge_card("t", "4000000000000002", 100, key="k"),
            "CardDeclined",
            "the bank declined card ending 0002",
        ),
    ],
    ids=[
        "unknown-flight", "sold-out-flight", "suv-sold-out", "unknown-car", "unknown-room-type",
        "unknown-hotel", "card-15-digits", "card-check-digit", "card-declined",
    ],
)  # fmt: skip
def test_business_errors(world, call, error, message):
    with pytest.raises(getattr(world, error)) as raised:
        call(world)
    assert message in str(raised.value)
    # A business answer: not an outage, so retrying is pointless...
    assert isinstance(raised.value, world.BookingError)
    assert not isinstance(raised.value, world.ServiceUnavailable)
    # ...and it leaves nothing behind.
    assert world.reservations() == [] and world.payments() == [] and world.journal() == []


def test_declined_card_is_the_advertised_one(world):
    assert world.DECLINED_CARD == "4000000000000002"
    with pytest.raises(world.CardDeclined):
        world.validate_card(world.DECLINED_CARD)


# --- injected faults --------------------------------------------------------------------


def test_fail_always_fails_and_commits_nothing(world):
    world.inject("book_flight", "fail")
    for _ in range(3):
        with pytest.raises(world.ServiceUnavailable, match="book_flight"):
            world.book_flight("t1", "TW101", key="t1:flight")
    assert world.reservations() == []
    assert world.available("flight", "TW101") == 40
    assert world.journal() == []


def test_fail_times_two_then_succeeds(world):
    world.inject("charge_card", "fail", times=2)
    for _ in range(2):
        with pytest.raises(world.ServiceUnavailable):
            world.charge_card("t1", CARD, 28000, key="t1:charge")
    payment = world.charge_card("t1", CARD, 28000, key="t1:charge")
    assert payment.status == "charged"
    assert world.payments() == [payment]
    assert world.journal() == [("charge_card", "t1:charge", True)]


def test_lost_reply_commits_then_raises_and_retry_returns_the_same(world):
    world.inject("book_hotel", "lose_reply", times=1)
    with pytest.raises(world.ReplyLost):
        world.book_hotel("t1", "harbor-view", "deluxe", 3, key="t1:hotel")
    # The caller never heard back, but the hotel did the work.
    [held] = world.reservations()
    assert (held.kind, held.status, held.amount_cents) == ("hotel", "held", 94500)
    assert world.journal() == [("book_hotel", "t1:hotel", True)]
    # A retry with the same key gets that very room, not a second one.
    assert world.book_hotel("t1", "harbor-view", "deluxe", 3, key="t1:hotel") == held
    assert world.available("hotel", "harbor-view/deluxe") == 19
    assert len(world.reservations()) == 1


def test_lost_reply_is_an_outage_kind(world):
    assert issubclass(world.ReplyLost, world.ServiceUnavailable)


def _outcomes(world, calls: int) -> list[str]:
    story = []
    for n in range(calls):
        try:
            world.book_flight(f"t{n}", "TW101", key=f"t{n}:flight")
            story.append("ok")
        except world.ServiceUnavailable:
            story.append("fail")
    return story


def test_rate_with_seed_is_deterministic(world, tmp_path, monkeypatch):
    stories = []
    for name, seed in (("one", 7), ("two", 7), ("three", 8)):
        monkeypatch.setenv(world.DB_ENV_VAR, str(tmp_path / f"{name}.db"))
        world.reset()
        world.inject("book_flight", "fail", rate=0.5, seed=seed)
        stories.append(_outcomes(world, 20))
    assert stories[0] == stories[1]
    assert {"ok", "fail"} <= set(stories[0])  # really random-looking, not all or nothing
    assert stories[2] != stories[0]  # another seed, another (equally repeatable) story


def test_rate_without_seed_is_refused(world):
    with pytest.raises(ValueError, match="seed"):
        world.inject("book_flight", "fail", rate=0.5)


def test_unknown_operation_or_kind_is_refused(world):
    with pytest.raises(ValueError, match="unknown operation"):
        world.inject("book_train", "fail")
    with pytest.raises(ValueError, match="unknown fault kind"):
        world.inject("book_flight", "explode")


def test_clear_faults(world):
    world.inject("book_flight", "fail")
    world.clear_faults()
    assert world.book_flight("t1", "TW101", key="t1:flight").status == "held"


# --- the journal ------------------------------------------------------------------------


def test_journal_records_committed_calls_in_order(world):
    world.book_flight("t1", "TW101", key="t1:flight")
    world.book_hotel("t1", "harbor-view", "deluxe", 3, key="t1:hotel")
    with pytest.raises(world.NoAvailability):
        world.book_car("t1", "suv", 3, key="t1:car")  # refused: not journaled
    world.charge_card("t1", CARD, 122500, key="t1:charge")
    world.refund(key="t1:charge")
    world.cancel_hotel(key="t1:hotel")
    world.cancel_flight(key="t1:flight")
    world.cancel_flight(key="t1:flight")  # a repeat: committed, but changed nothing
    assert world.journal() == [
        ("book_flight", "t1:flight", True),
        ("book_hotel", "t1:hotel", True),
        ("charge_card", "t1:charge", True),
        ("refund", "t1:charge", True),
        ("cancel_hotel", "t1:hotel", True),
        ("cancel_flight", "t1:flight", True),
        ("cancel_flight", "t1:flight", False),
    ]


def test_auxiliary_calls_are_journaled_and_can_be_made_to_fail(world):
    """send_email and award_points change nothing the audit reads; an outage makes them
    fail (and commits nothing), and each call that went through is in the journal."""
    world.inject("award_points", "fail", times=1)
    with pytest.raises(world.ServiceUnavailable):
        world.award_points("t1", "Ada Lovelace", 1390, key="t1:points")
    world.award_points("t1", "Ada Lovelace", 1390, key="t1:points")
    world.inject("send_email", "fail")
    with pytest.raises(world.ServiceUnavailable):
        world.send_email("t1", "Ada Lovelace")
    assert world.journal() == [("award_points", "t1:points", True)]


# --- concurrency --------------------------------------------------------------------------

BOOKER = """
import json, os, sys, time
from workbook import world
worker, go = sys.argv[1], sys.argv[2]
while not os.path.exists(go):  # start together, so the writers really overlap
    time.sleep(0.001)
booked = sold_out = 0
for n in range(25):
    try:
        world.book_flight(f"trip-{worker}-{n}", "TW999", key=f"trip-{worker}-{n}:flight")
        booked += 1
    except world.NoAvailability:
        sold_out += 1
print(json.dumps({"booked": booked, "sold_out": sold_out}))
"""


def test_processes_booking_at_once_never_oversell(world, clean_env, python, tmp_path):
    world.load_inventory(flights=[("TW999", "SFO", "JFK", "2026-12-24", 10000, 60)])
    go = tmp_path / "go"
    processes = [
        subprocess.Popen(
            [python, "-c", BOOKER, str(worker), str(go)],
            env=clean_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(4)
    ]
    go.touch()
    results = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        results.append(json.loads(out))
    assert sum(r["booked"] for r in results) == 60
    assert sum(r["sold_out"] for r in results) == 40
    held = [r for r in world.reservations() if r.item == "TW999"]
    assert len(held) == 60 and {r.status for r in held} == {"held"}
    assert len({r.trip_id for r in held}) == 60  # no trip got two seats
    assert world.available("flight", "TW999") == 0


def test_threads_repeating_one_key_book_once(world):
    results, errors = [], []
    start = threading.Barrier(8)

    def book():
        start.wait()
        try:
            results.append(world.book_flight("t1", "TW101", key="t1:flight"))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=book) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(results) == 8 and len(set(results)) == 1
    assert len(world.reservations()) == 1
    assert world.available("flight", "TW101") == 39


def test_a_thread_waits_its_turn_to_write_while_another_thread_writes(world, monkeypatch):
    """The threads of one process take turns at the world's writer lock, not in SQLite's
    busy handler (which sleeps up to 100 ms between tries while the file may sit unlocked:
    under 32 threads a call waited seconds). Here SQLite is told not to wait at all, so
    a second thread that met the file locked would fail 'database is locked'."""
    from workbook.world import store

    opened = store._open

    def impatient(path):
        conn = opened(path)
        conn.execute("PRAGMA busy_timeout = 0")
        return conn

    class Watched:  # the writer lock, telling when another thread asks for it
        def __init__(self):
            self.lock, self.asked, self.mine = threading.RLock(), threading.Event(), threading.get_ident()

        def acquire(self, *args, **kwargs):
            if threading.get_ident() != self.mine:
                self.asked.set()
            return self.lock.acquire(*args, **kwargs)

        def release(self):
            self.lock.release()

    monkeypatch.setattr(store, "_open", impatient)  # for the second thread's own connection
    monkeypatch.setattr(store, "_writer", Watched(), raising=False)
    outcome = []

    def book():
        try:
            outcome.append(world.book_flight("t2", "TW101", key="t2:flight").id)
        except Exception as error:  # pragma: no cover - reported below
            outcome.append(repr(error))

    second = threading.Thread(target=book)
    with store._transaction() as conn:  # this thread is writing
        conn.execute("UPDATE flights SET seats = seats - 1 WHERE flight = 'TW101'")
        second.start()
        assert store._writer.asked.wait(10), f"the second thread did not wait its turn: {outcome}"
    second.join(30)
    assert outcome == ["FL-0001"]
    assert world.available("flight", "TW101") == 38


def test_world_path_follows_the_environment(world, tmp_path):
    assert world.db_path() == tmp_path / "world.db"
    assert sys.modules["workbook.world"] is world


def test_a_scoped_fault_meets_only_calls_in_its_scope(world):
    """Checks that run side by side each scope their faults to their own trips."""
    world.inject("book_car", "fail", scope="alpha-")
    with pytest.raises(world.ServiceUnavailable):
        world.book_car("alpha-1", "economy", 3, key="alpha-1:car")
    assert world.book_car("beta-1", "economy", 3, key="beta-1:car").status == "held"
    token = world.FAULT_SCOPE.set("beta-")  # the default scope of inject() in this context
    try:
        world.inject("book_car", "fail", times=1)
    finally:
        world.FAULT_SCOPE.reset(token)
    with pytest.raises(world.ServiceUnavailable):  # the most specific scope wins, once
        world.book_car("beta-2", "economy", 3, key="beta-2:car")
    assert world.book_car("beta-2", "economy", 3, key="beta-2:car").status == "held"


def test_a_scoped_fault_meets_its_trip_whatever_keys_the_code_makes(world):
    """A key without the trip id (a uuid, the step first) still meets its trip's faults:
    a booking by the trip id it is made for, an undo by the trip of the booking it finds."""
    world.inject("book_hotel", "lose_reply", scope="alpha-", times=1)
    with pytest.raises(world.ReplyLost):
        world.book_hotel("alpha-1", "harbor-view", "deluxe", 3, key="3f2a9c1b")
    assert world.book_hotel("alpha-1", "harbor-view", "deluxe", 3, key="3f2a9c1b").status == "held"
    world.inject("cancel_hotel", "fail", scope="alpha-", times=1)
    assert world.cancel_hotel(key="no-such-booking") is False  # no trip to scope it to
    with pytest.raises(world.ServiceUnavailable):
        world.cancel_hotel(key="3f2a9c1b")
    assert world.cancel_hotel(key="3f2a9c1b") is True
    world.book_hotel("beta-1", "harbor-view", "deluxe", 3, key="hotel@beta-1")  # not in scope


def test_keys_lists_what_each_booking_was_made_under(world):
    world.book_flight("t1", "TW101", key="t1:flight")
    world.charge_card("t1", CARD, 28000, key="t1:payment")
    world.book_flight("t2", "TW101", key="t2:flight")
    world.cancel_flight(key="t1:flight")
    assert [(kind, key, status) for kind, _, key, status in world.keys("t1")] == [
        ("flight", "t1:flight", "cancelled"), ("charge", "t1:payment", "charged"),
    ]  # fmt: skip
    assert len(world.keys()) == 3


def test_a_slow_fault_says_how_long_each_call_takes(world):
    world.inject("book_car", "slow", scope="T-1")
    world.inject("book_car", "slow", scope="T-2", seconds=0.5, times=1)
    assert world.slowness("book_car", "T-1", key="T-1:car") == world.SLOW_SECONDS
    assert world.slowness("book_car", "T-2", key="T-2:car") == 0.5
    assert world.slowness("book_car", "T-2", key="T-2:car") == 0.0  # times=1: the next call is quick
    assert world.slowness("book_car", "T-3", key="T-3:car") == 0.0


def test_a_held_call_waits_until_it_is_released(world):
    """A "hold" fault keeps the call in slowness() until release(), whatever the time."""
    world.inject("book_car", "hold", scope="trip-h", seconds=30)
    waited = []
    held = threading.Thread(target=lambda: waited.append(world.slowness("book_car", "trip-h", key="trip-h:car")))
    held.start()
    held.join(timeout=0.5)
    assert held.is_alive(), "the held call went on before it was released"
    assert world.slowness("book_car", "trip-other", key="trip-other:car") == 0.0  # other trips are not held
    world.release("book_car", "trip-h")
    held.join(timeout=5)
    assert not held.is_alive() and waited == [0.0]


# --- cost as the world grows ----------------------------------------------------------


def _steps(read) -> int:
    """How many SQLite virtual-machine steps ``read`` takes on this thread's kept connection
    to the world (a count, not a time: the same on any machine at any load)."""
    from workbook.world.store import _connect

    counted = [0]

    def count() -> int:
        counted[0] += 1
        return 0  # go on

    with _connect() as conn:  # the connection the world's next call on this thread uses
        conn.set_progress_handler(count, 1)
    try:
        read()
    finally:
        with _connect() as conn:
            conn.set_progress_handler(None, 1)
    return counted[0]


def test_one_trip_is_read_at_the_same_cost_however_many_trips_the_world_holds(world):
    """What the capstone reads before every charge (trip_total) and the audit of one trip
    (reservations, payments) go straight to the trip's rows: without an index by trip, each
    read scanned every booking of every trip, and 5,000 bookings cost 25 times 1,000."""
    world.load_inventory(flights=[("TW900", "SFO", "JFK", "2026-12-18", 10000, 1000)])

    def book(trip: str) -> None:
        world.book_flight(trip, "TW900", key=f"{trip}:flight")
        world.charge_card(trip, CARD, 10000, key=f"{trip}:charge")

    def reads() -> int:
        return _steps(lambda: (world.trip_total("t-0"), world.reservations("t-0"), world.payments("t-0")))

    book("t-0")
    alone = reads()
    for n in range(1, 301):
        book(f"t-{n}")
    assert world.trip_total("t-0") == 10000 and len(world.reservations("t-0")) == len(world.payments("t-0")) == 1
    assert reads() - alone < 50  # a scan of 300 more trips' rows takes thousands of steps more
