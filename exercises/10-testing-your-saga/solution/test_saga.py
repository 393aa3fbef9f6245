"""Your tests of the trip saga (workflow.py), run with: pytest -n 0 test_saga.py

Each test runs the real BookTripWorkflow on Temporal's time-skipping test server, with
every activity replaced by a mock: it records that it was called and answers at once,
or fails the way you tell it to. So a test decides what goes wrong, touches no travel
world, and waits for no retry back-off, and its assertions read the order of the calls.
"""

import uuid
from contextlib import asynccontextmanager

import pytest
import pytest_asyncio
from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from workbook.testing import start_time_skipping
from workbook.timeline import timeline_of
from workbook.trips import TripRequest, example_trip
from workflow import BookTripWorkflow

# Every test here is a coroutine: run each on an asyncio event loop (pytest-asyncio).
pytestmark = pytest.mark.asyncio

STEPS = ["book_flight", "book_hotel", "book_car", "charge_payment", "confirm_trip"]
AUXILIARY = ["send_confirmation_email", "award_loyalty_points"]
UNDOS = ["cancel_flight", "cancel_hotel", "cancel_car", "refund_payment"]
# What each mock answers when it succeeds (the others return None).
ANSWERS = {
    "book_flight": "FL-1", "book_hotel": "HT-1", "book_car": "CR-1", "charge_payment": "PAY-1",
    "award_loyalty_points": 12,
}


# Part A: the environment, the mocks, and a worker of mocks on a fresh task queue.
@pytest_asyncio.fixture
async def env():
    # TODO Part A: start the time-skipping environment, yield it to the test, leave it after.
    async with await start_time_skipping() as env:
        yield env


def mocked_activities(calls: list[str], failing: dict) -> list:
    """A mock for every activity the workflow calls. Each is registered under the real
    activity's name, so the workflow's execute_activity(book_car, ...) reaches it."""
    # TODO Part A: one mock per name in STEPS + AUXILIARY + UNDOS, each made with
    # @activity.defn(name=name): it appends its name to calls, then raises failing[name]()
    # if the test asked it to fail, else returns ANSWERS.get(name).
    def mock(name: str):
        @activity.defn(name=name)
        async def run(trip: TripRequest):
            calls.append(name)  # in the order the workflow called them
            if name in failing:
                raise failing[name]()
            return ANSWERS.get(name)

        return run

    return [mock(name) for name in STEPS + AUXILIARY + UNDOS]


@asynccontextmanager
async def saga(env, calls: list[str], failing: dict | None = None):
    """Start the real workflow on a worker of mocks; yield its handle. Each run gets a
    task queue of its own, so no other worker (another test's, or your worker.py
    against a real server) can pick up its tasks and run the real activities."""
    # TODO Part A: a fresh task queue, a Worker(env.client, ...) with BookTripWorkflow and
    # the mocks on it, and inside it, start BookTripWorkflow.run with example_trip(...).
    task_queue = f"test-saga-{uuid.uuid4()}"
    mocks = mocked_activities(calls, failing or {})
    async with Worker(env.client, task_queue=task_queue, workflows=[BookTripWorkflow], activities=mocks):
        trip = example_trip(f"trip-{uuid.uuid4()}")
        yield await env.client.start_workflow(BookTripWorkflow.run, trip, id=trip.trip_id, task_queue=task_queue)


# Part B: the happy path.
async def test_trip_is_booked(env):
    # TODO Part B: every step once, in order, nothing undone; the workflow completes and
    # returns the itinerary of what the mocks answered.
    calls = []
    async with saga(env, calls) as handle:
        itinerary = await handle.result()
    assert calls == STEPS + AUXILIARY
    assert (itinerary.flight_reservation, itinerary.payment_id, itinerary.notices) == ("FL-1", "PAY-1", [])


# Part C: failures.
async def test_declined_card_undoes_everything_newest_first(env):
    # TODO Part C: the workflow fails; the payment was tried once; every undo ran, newest
    # first, each one after the one before it had finished.
    calls = []
    async with saga(env, calls, {"charge_payment": declined}) as handle:
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
    assert "card declined" in str(failed.value.cause.cause)
    # Tried once (a business error), then every undo, newest first. The refund is there
    # because its undo is registered before the charge is attempted.
    assert calls == STEPS[:4] + ["refund_payment", "cancel_car", "cancel_hotel", "cancel_flight"]
    # One after another: each undo is scheduled only after the one before has finished.
    undos = [run for run in (await timeline_of(handle)).runs if run.compensation]
    for before, after in zip(undos, undos[1:]):
        assert after.scheduled_event > before.closed_event, f"{after.name} started before {before.name} ended"


async def test_failed_hotel_undoes_only_what_ran(env):
    # TODO Part C: the workflow fails, and only what ran is undone: the hotel and the flight.
    calls = []
    async with saga(env, calls, {"book_hotel": sold_out}) as handle:
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    assert calls == ["book_flight", "book_hotel", "cancel_hotel", "cancel_flight"]


async def test_email_down_undoes_nothing(env):
    # TODO Part C: the trip stays booked: nothing undone, the points still awarded, and a
    # notice about the email in the itinerary.
    calls = []
    async with saga(env, calls, {"send_confirmation_email": outage}) as handle:
        itinerary = await handle.result()  # the trip is booked: no error
    assert not set(calls) & set(UNDOS), f"a confirmed trip was undone: {calls}"
    assert calls[:5] == STEPS and calls[-1] == "award_loyalty_points"
    assert any("email" in notice for notice in itinerary.notices)


# How a mock fails: a new error each time (an exception raised twice keeps both tracebacks).
def declined():  # a business error: the activity says so (non_retryable), so no retry
    return ApplicationError("card declined", type="CardDeclined", non_retryable=True)


def sold_out():
    return ApplicationError("no room left", type="SoldOut", non_retryable=True)


def outage():  # a service that is down: retried, then given up
    return ApplicationError("email service down")
