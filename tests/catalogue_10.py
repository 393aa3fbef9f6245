"""Exercise 10's catalogue: the student's tests (test_saga.py), not their saga. A wrong
answer is a test suite that misses broken sagas (or fails against the correct one), with
the words the check's first message must say; a correct alternative catches all thirteen.
Each is an edit of a copy of the solution's test_saga.py."""

from catalogue import right, wrong

F = "test_saga.py"
CALLS_IN_ORDER = '    assert calls == STEPS[:4] + ["refund_payment", "cancel_car", "cancel_hotel", "cancel_flight"]\n'
ONE_AFTER_ANOTHER = """    # One after another: each undo is scheduled only after the one before has finished.
    undos = [run for run in (await timeline_of(handle)).runs if run.compensation]
    for before, after in zip(undos, undos[1:]):
        assert after.scheduled_event > before.closed_event, f"{after.name} started before {before.name} ended"
"""
RAISES = """        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
"""
HOTEL_TEST = '''async def test_failed_hotel_undoes_only_what_ran(env):
    # TODO Part C: the workflow fails, and only what ran is undone: the hotel and the flight.
    calls = []
    async with saga(env, calls, {"book_hotel": sold_out}) as handle:
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    assert calls == ["book_flight", "book_hotel", "cancel_hotel", "cancel_flight"]


'''
EMAIL_TEST = '''async def test_email_down_undoes_nothing(env):
    # TODO Part C: the trip stays booked: nothing undone, the points still awarded, and a
    # notice about the email in the itinerary.
    calls = []
    async with saga(env, calls, {"send_confirmation_email": outage}) as handle:
        itinerary = await handle.result()  # the trip is booked: no error
    assert not set(calls) & set(UNDOS), f"a confirmed trip was undone: {calls}"
    assert calls[:5] == STEPS and calls[-1] == "award_loyalty_points"
    assert any("email" in notice for notice in itinerary.notices)


'''
DECLINED_START = "async def test_declined_card_undoes_everything_newest_first(env):\n"
HAPPY_CHECKS = """    assert calls == STEPS + AUXILIARY
    assert (itinerary.flight_reservation, itinerary.payment_id, itinerary.notices) == ("FL-1", "PAY-1", [])
"""
WORKER = "    async with Worker(env.client, task_queue=task_queue, workflows=[BookTripWorkflow], activities=mocks):\n"

# The order read from the event history, not from a list the mocks fill: Temporal's record
# of what the workflow scheduled, in order (workbook.timeline reads it).
FROM_HISTORY = """    timeline = await timeline_of(handle)
    assert timeline.status == "Failed"
    assert timeline.steps == STEPS[:4]
    assert [run.attempts for run in timeline.runs if run.name == "charge_payment"] == [1]
    assert timeline.compensations == ["refund_payment", "cancel_car", "cancel_hotel", "cancel_flight"]
"""
PARAMETRIZED = '''@pytest.mark.parametrize(
    "failing, undone",
    [
        ("book_flight", ["cancel_flight"]),
        ("book_hotel", ["cancel_hotel", "cancel_flight"]),
        ("book_car", ["cancel_car", "cancel_hotel", "cancel_flight"]),
        ("charge_payment", ["refund_payment", "cancel_car", "cancel_hotel", "cancel_flight"]),
        ("confirm_trip", ["refund_payment", "cancel_car", "cancel_hotel", "cancel_flight"]),
    ],
)
async def test_a_failed_step_undoes_what_ran_newest_first(env, failing, undone):
    calls = []
    async with saga(env, calls, {failing: declined}) as handle:
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    ran = STEPS[: STEPS.index(failing) + 1]
    assert calls == ran + undone
    undos = [run for run in (await timeline_of(handle)).runs if run.compensation]
    assert all(b.scheduled_event > a.closed_event for a, b in zip(undos, undos[1:]))


'''
DESCRIBED = """        try:
            await handle.result()
        except WorkflowFailureError as error:
            failed = error
    assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED
    assert "card declined" in str(failed.cause.cause)
"""
NO_WORKER = """    async with Worker(env.client, task_queue="nobody-polls-this", workflows=[BookTripWorkflow], activities=mocks):
"""

ANSWERS = [
    wrong("10", "the tests run the saga but assert nothing", F, [
        (CALLS_IN_ORDER, ""), (ONE_AFTER_ANOTHER, ""), (HAPPY_CHECKS, ""),
        ('    assert "card declined" in str(failed.value.cause.cause)\n', ""),
        (RAISES, "        try:\n            await handle.result()\n        except WorkflowFailureError:\n            pass\n"),
        ('    assert calls == ["book_flight", "book_hotel", "cancel_hotel", "cancel_flight"]\n', "    print(calls)\n"),
        ("        with pytest.raises(WorkflowFailureError):\n            await handle.result()\n",
         "        try:\n            await handle.result()\n        except WorkflowFailureError:\n            pass\n"),
        ('    assert not set(calls) & set(UNDOS), f"a confirmed trip was undone: {calls}"\n'
         '    assert calls[:5] == STEPS and calls[-1] == "award_loyalty_points"\n'
         '    assert any("email" in notice for notice in itinerary.notices)\n', "    print(itinerary)\n"),
    ], "your tests assert nothing"),
    wrong("10", "only the happy path", F, [(DECLINED_START, "async def declined_card_later(env):\n"), (HOTEL_TEST, ""), (EMAIL_TEST, "")],
          "they missed: compensations in forward order"),
    wrong("10", "only the final status", F, [(CALLS_IN_ORDER, ""), (ONE_AFTER_ANOTHER, ""), (HOTEL_TEST, "")],
          "they missed: compensations in forward order"),
    wrong("10", "undos checked as a set (the order missed)", F, [
        (CALLS_IN_ORDER, '    assert set(calls) == set(STEPS[:4] + UNDOS)\n'), (ONE_AFTER_ANOTHER, ""),
        ('    assert calls == ["book_flight", "book_hotel", "cancel_hotel", "cancel_flight"]\n',
         '    assert set(calls) == {"book_flight", "book_hotel", "cancel_hotel", "cancel_flight"}\n'),
    ], "they missed: compensations in forward order"),
    wrong("10", "the attempts of a declined card not checked", F, [
        (CALLS_IN_ORDER, '    assert [c for c in calls if c in UNDOS] == ["refund_payment", "cancel_car", "cancel_hotel", "cancel_flight"]\n'),
    ], "they missed: a business error retried"),
    wrong("10", "no test of an auxiliary step failing", F, [(EMAIL_TEST, "")], "they missed: an auxiliary step compensated"),
    wrong("10", "the undos expected in forward order", F, [
        (CALLS_IN_ORDER, '    assert calls == STEPS[:4] + ["cancel_flight", "cancel_hotel", "cancel_car", "refund_payment"]\n'),
    ], "test_declined_card_undoes_everything_newest_first fails against the correct saga"),
    wrong("10", "only the failure of the last step tested", F, [(HOTEL_TEST, "")], "they missed: every undo registered up front"),
    wrong("10", "the workflow started on a queue no worker polls", F, [(WORKER, NO_WORKER)], "test_trip_is_booked did not finish"),
    wrong("10", "a mock that fails with a retryable error where a business error is meant", F, [
        ('    return ApplicationError("card declined", type="CardDeclined", non_retryable=True)',
         '    return ApplicationError("card declined", type="CardDeclined")'),
    ], "fails against the correct saga"),
    wrong("10", "a syntax error in the test file", F, [("    calls = []\n    async with saga(env, calls) as handle:", "    calls = [\n    async with saga(env, calls) as handle:")],
          "test_saga.py does not load"),
    right("10", "the order read from the event history", F, [
        (CALLS_IN_ORDER, FROM_HISTORY),
    ]),
    right("10", "one parametrized test per failing step", F, [(DECLINED_START, PARAMETRIZED + DECLINED_START)]),
    right("10", "the status read with describe(), not pytest.raises", F, [
        (RAISES, DESCRIBED),
        ('    assert "card declined" in str(failed.value.cause.cause)\n', ""),
        ("from temporalio.client import WorkflowFailureError\n",
         "from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError\n"),
    ]),
    right("10", "one fixed task queue for every test", F, [('    task_queue = f"test-saga-{uuid.uuid4()}"\n', '    task_queue = "saga-tests"\n')]),
]

# Blind answers (written from the README alone, /work/scratch/blind_10) and more.
ANSWERS += [
    wrong("10", "a declined card's undos checked as a list only (not one after another)", F, [('    undos = [run for run in (await timeline_of(handle)).runs if run.compensation]\n    for before, after in zip(undos, undos[1:]):\n        assert after.scheduled_event > before.closed_event, f"{after.name} started before {before.name} ended"\n', '')], 'they missed: undos run concurrently'),
    wrong("10", "each undo's scheduling compared with the one before's scheduling, not its close", F, [('after.scheduled_event > before.closed_event', 'after.scheduled_event > before.scheduled_event')], 'they missed: undos run concurrently'),
    wrong("10", 'the declined-card test skipped', F, [('async def test_declined_card_undoes_everything_newest_first', "@pytest.mark.skip(reason='later')\nasync def test_declined_card_undoes_everything_newest_first")], 'protects nothing: pytest skipped it'),
    wrong("10", 'the failed-hotel test marked xfail', F, [('async def test_failed_hotel_undoes_only_what_ran', "@pytest.mark.xfail(reason='flaky')\nasync def test_failed_hotel_undoes_only_what_ran")], 'protects nothing: it is marked xfail'),
    wrong("10", 'the failure caught and ignored, not asserted with pytest.raises', F, [('        with pytest.raises(WorkflowFailureError) as failed:\n            await handle.result()\n    assert "card declined" in str(failed.value.cause.cause)', '        try:\n            await handle.result()\n        except WorkflowFailureError:\n            pass'), ('        with pytest.raises(WorkflowFailureError):\n            await handle.result()\n    assert calls == ["book_flight"', '        try:\n            await handle.result()\n        except WorkflowFailureError:\n            pass\n    assert calls == ["book_flight"')], 'they missed: no re-raise'),
    wrong("10", 'the points not checked when the email fails', F, [('    assert calls[:5] == STEPS and calls[-1] == "award_loyalty_points"\n', '    assert calls[:5] == STEPS\n')], 'they missed: the email and the points in one try'),
    wrong("10", "the email's notice not checked", F, [('    assert any("email" in notice for notice in itinerary.notices)\n', '')], 'they missed: a failed email recorded nowhere'),
    wrong("10", "the happy path's itinerary not checked", F, [('    assert (itinerary.flight_reservation, itinerary.payment_id, itinerary.notices) == ("FL-1", "PAY-1", [])\n', '    assert itinerary is not None\n')], 'they missed: the itinerary holds the wrong ids'),
    wrong("10", 'the happy path checks the steps and the payment id only', F, [('    assert calls == STEPS + AUXILIARY\n', '    assert calls[:5] == STEPS\n'), ('    assert (itinerary.flight_reservation, itinerary.payment_id, itinerary.notices) == ("FL-1", "PAY-1", [])\n', '    assert itinerary.payment_id == "PAY-1"\n')], 'they missed: a notice on every trip'),
    wrong("10", 'the email expected once though it is retried', F, [('    assert calls[:5] == STEPS and calls[-1] == "award_loyalty_points"\n', '    assert calls == STEPS + AUXILIARY\n')], 'test_email_down_undoes_nothing fails against the correct saga'),
    wrong("10", 'the failed-hotel test waits a fixed time and checks only the steps', F, [('        with pytest.raises(WorkflowFailureError):\n            await handle.result()\n    assert calls == ["book_flight", "book_hotel", "cancel_hotel", "cancel_flight"]', '        await asyncio.sleep(0.5)\n    assert calls[:2] == ["book_flight", "book_hotel"]'), ('import uuid\n', 'import asyncio\nimport uuid\n')], 'they missed: every undo registered up front'),
    wrong("10", 'only some undos of a declined card checked', F, [('    assert calls == STEPS[:4] + ["refund_payment", "cancel_car", "cancel_hotel", "cancel_flight"]\n', '    assert "refund_payment" in calls and "cancel_flight" in calls\n')], 'they missed: a missing undo'),
    right("10", 'the payment counted and the undos compared with reversed(UNDOS)', F, [('    assert calls == STEPS[:4] + ["refund_payment", "cancel_car", "cancel_hotel", "cancel_flight"]\n', '    assert calls.count("charge_payment") == 1\n    assert calls[:4] == STEPS[:4]\n    assert calls[4:] == list(reversed(UNDOS))\n')]),
    right("10", "the undos' one-after-another read as (scheduled, closed) pairs", F, [('    undos = [run for run in (await timeline_of(handle)).runs if run.compensation]\n    for before, after in zip(undos, undos[1:]):\n        assert after.scheduled_event > before.closed_event, f"{after.name} started before {before.name} ended"\n', '    timeline = await timeline_of(handle)\n    assert timeline.status == "Failed"\n    spans = [(r.scheduled_event, r.closed_event) for r in timeline.runs if r.name in UNDOS]\n    assert len(spans) == 4\n    for i in range(1, len(spans)):\n        assert spans[i][0] > spans[i - 1][1]\n')]),
    right("10", 'the result read through a handle got by the workflow id', F, [('        with pytest.raises(WorkflowFailureError):\n            await handle.result()\n    assert calls == ["book_flight", "book_hotel", "cancel_hotel", "cancel_flight"]', '        with pytest.raises(WorkflowFailureError):\n            await env.client.get_workflow_handle(handle.id).result()\n    assert calls == ["book_flight", "book_hotel", "cancel_hotel", "cancel_flight"]')]),
    right("10", 'the mocks also check the trip they are given', F, [('@pytest_asyncio.fixture\nasync def env():', '@pytest_asyncio.fixture\nasync def env():  # one per test'), ('            calls.append(name)  # in the order the workflow called them', '            calls.append(name)\n            assert trip.trip_id.startswith("trip-")')]),
]
