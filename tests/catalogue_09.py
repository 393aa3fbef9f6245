"""Exercise 09's catalogue: the email step added to running code, and the replay test,
written wrong the ways students write them (each with the words its first failing check
must say), and other right ways to write them, as edits of a copy of the solution
(workflow.py, or test_replay.py)."""

from catalogue import right, wrong

PATCHED = "        if workflow.patched(EMAIL_PATCH):\n            await self.send_email(trip)\n"
CONFIRM = "                await workflow.execute_activity(confirm_trip, trip, **STEP)\n"
REPLAY = (
    '    history = WorkflowHistory.from_json("trip-before-email", HISTORY.read_text())\n'
    "    await Replayer(workflows=[BookTripWorkflow]).replay_workflow(history)\n"
)
LOAD = '    history = WorkflowHistory.from_json("trip-before-email", HISTORY.read_text())\n'
TEST = "async def test_the_history_recorded_before_the_email_still_replays():"
MAIN = "    asyncio.run(test_the_history_recorded_before_the_email_still_replays())"
SEND = """        try:
            await workflow.execute_activity(send_confirmation_email, trip, **EMAIL)
        except ActivityError as err:
            workflow.logger.warning(f"confirmation email not sent: {err.cause or err}")
"""
EMAIL_RETRY = "    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),\n)\n# The patch"
TODO_C = (
    "    # TODO Part C: load HISTORY with WorkflowHistory.from_json(workflow id, its text),\n"
    "    # and replay it with Replayer(workflows=[BookTripWorkflow]).replay_workflow(...):\n"
    "    # it raises when the code no longer matches the history, which fails the test.\n"
)
FLAG = (
    "        except SagaCompensationError as err:  # an undo failed for good: a person settles it\n"
    "            await workflow.execute_activity(flag_for_attention, args=[trip, err.message], **UNDO)\n"
    "            raise\n"
)


def marked(mark: str, imports: str = "import pytest\n") -> list[tuple[str, str]]:
    """The test under a pytest mark (pytest would skip it, or not count its failure)."""
    return [(TEST, f"{imports}\n\n{mark}\n{TEST}")]


def in_class(name: str) -> list[tuple[str, str]]:
    """The test as a method of class ``name``."""
    return [
        (TEST + "\n", f"class {name}:\n    async def test_the_history_recorded_before_the_email_still_replays(self):\n"),
        (TODO_C, ""), (REPLAY, "".join("    " + line + "\n" for line in REPLAY.splitlines())),
        (MAIN, f"    asyncio.run({name}().test_the_history_recorded_before_the_email_still_replays())"),
    ]


def replay(body: str) -> list[tuple[str, str]]:
    return [(REPLAY, body)]


ANSWERS = [
    # Part B: the change to running code
    wrong("09", "the email sent unpatched (as shipped)", "workflow.py", [(PATCHED, "        await self.send_email(trip)\n")],
          "Send the email only `if workflow.patched(EMAIL_PATCH):`"),
    wrong("09", "the patch inverted", "workflow.py", [("if workflow.patched(EMAIL_PATCH):", "if not workflow.patched(EMAIL_PATCH):")],
          "no confirmation email"),
    wrong("09", "deprecate_patch instead of patched", "workflow.py", [
        (PATCHED, "        workflow.deprecate_patch(EMAIL_PATCH)\n        await self.send_email(trip)\n"),
    ], "deprecate_patch() does not branch"),
    wrong("09", "the email moved before confirm_trip, patched", "workflow.py", [
        (PATCHED, ""), (CONFIRM, "                if workflow.patched(EMAIL_PATCH):\n                    await self.send_email(trip)\n" + CONFIRM),
    ], "it goes after confirm_trip"),
    # Part C: the replay test
    wrong("09", "the replay test asserts nothing (as shipped)", "test_replay.py", replay("    pass\n"), "never replays a history"),
    wrong("09", "the replay's error swallowed", "test_replay.py", replay(
        LOAD + "    try:\n        await Replayer(workflows=[BookTripWorkflow]).replay_workflow(history)\n"
        "    except Exception as err:\n        print('replay failed:', err)\n"
    ), "catches the replay's error"),
    wrong("09", "raise_on_replay_failure=False, the result ignored", "test_replay.py", replay(
        LOAD + "    await Replayer(workflows=[BookTripWorkflow]).replay_workflow(history, raise_on_replay_failure=False)\n"
    ), "raise_on_replay_failure=False"),
    wrong("09", "the replay never awaited", "test_replay.py", [
        (TEST, "def test_the_history_recorded_before_the_email_still_replays():"),
        ("    await Replayer(", "    Replayer("),
        ("    asyncio.run(test_the_history_recorded_before_the_email_still_replays())", "    test_the_history_recorded_before_the_email_still_replays()"),
    ], "without awaiting it"),
    wrong("09", "the test function not named test_", "test_replay.py", [
        (TEST, "async def check_the_history_recorded_before_the_email_still_replays():"),
        ("    asyncio.run(test_the_history_recorded_before_the_email_still_replays())", "    asyncio.run(check_the_history_recorded_before_the_email_still_replays())"),
    ], "has no test that pytest would collect"),
    wrong("09", "the replay's failure asserted the wrong way round", "test_replay.py", replay(
        LOAD + "    result = await Replayer(workflows=[BookTripWorkflow]).replay_workflow(history, raise_on_replay_failure=False)\n"
        "    assert result.replay_failure  # (it should be None)\n"
    ), "fails on your own workflow"),
    # Part B: the email itself (made to run, made to fail, replayed after a run that sent it)
    wrong("09", "the email not caught: an email outage fails the trip", "workflow.py", [
        (SEND, "        await workflow.execute_activity(send_confirmation_email, trip, **EMAIL)\n"),
    ], "Catch the email's ActivityError"),
    wrong("09", "the email inside the saga, uncaught: an outage undoes a confirmed trip", "workflow.py", [
        (PATCHED, ""), (CONFIRM, CONFIRM + "                if workflow.patched(EMAIL_PATCH):\n"
                        "                    await workflow.execute_activity(send_confirmation_email, trip, **EMAIL)\n"),
    ], "its bookings were undone"),
    wrong("09", "except ApplicationError around the email", "workflow.py", [
        ("        except ActivityError as err:\n            workflow.logger.warning", "        except ApplicationError as err:\n            workflow.logger.warning"),
        ("from temporalio.exceptions import ActivityError", "from temporalio.exceptions import ActivityError, ApplicationError"),
    ], "reaches the workflow as an ActivityError"),
    wrong("09", "the email retried without end", "workflow.py", [
        (EMAIL_RETRY, "    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1)),\n)\n# The patch"),
    ], "retried without end"),
    wrong("09", "the email started as a task nobody awaits", "workflow.py", [
        (PATCHED, "        if workflow.patched(EMAIL_PATCH):\n            asyncio.ensure_future(self.send_email(trip))\n"),
        ("from datetime import timedelta\n", "import asyncio\nfrom datetime import timedelta\n"),
    ], "was scheduled, but the workflow completed before it ran"),
    wrong("09", "start_activity for the email, never awaited", "workflow.py", [
        (SEND, "        workflow.start_activity(send_confirmation_email, trip, **EMAIL)\n"),
    ], "was scheduled, but the workflow completed before it ran"),
    wrong("09", "the email only when not replaying", "workflow.py", [
        (PATCHED, "        if not workflow.unsafe.is_replaying():\n            await self.send_email(trip)\n"),
    ], "is_replaying(): that is True on every replay"),
    wrong("09", "the email in a finally: a failed trip is emailed", "workflow.py", [
        (PATCHED, ""), (FLAG, FLAG + "        finally:\n            if workflow.patched(EMAIL_PATCH):\n                await self.send_email(trip)\n"),
    ], "which could not be confirmed"),
    wrong("09", "the email sent twice (patched, then again)", "workflow.py", [
        (PATCHED, PATCHED + "        await workflow.execute_activity(send_confirmation_email, trip, **EMAIL)\n"),
    ], "each once"),
    wrong("09", "hotel and car swapped in the Itinerary", "workflow.py", [
        ("Itinerary(trip.trip_id, flight, hotel, car, payment)", "Itinerary(trip.trip_id, flight, car, hotel, payment)"),
    ], "the Itinerary must name each booking in its own field"),
    # Part A: the crash (judged from book_hotel's scheduled event, before any heartbeat wait)
    wrong("09", "no heartbeat_timeout on the steps", "workflow.py", [("    heartbeat_timeout=timedelta(seconds=2),\n", "")],
          "no heartbeat_timeout"),
    # Part C: a test that pytest would not count
    wrong("09", "the replay test marked skip", "test_replay.py", marked("@pytest.mark.skip(reason='needs the patch')"),
          "is marked @pytest.mark.skip"),
    wrong("09", "the replay test marked xfail", "test_replay.py", marked("@pytest.mark.xfail"), "is marked @pytest.mark.xfail"),
    wrong("09", "xfail(raises=NondeterminismError)", "test_replay.py", marked(
        "@pytest.mark.xfail(raises=NondeterminismError)", "import pytest\nfrom temporalio.workflow import NondeterminismError\n"
    ), "is marked @pytest.mark.xfail"),
    wrong("09", "skipif with a condition that always holds", "test_replay.py", marked(
        "@pytest.mark.skipif(sys.version_info >= (3, 8), reason='old Python only')", "import sys\n\nimport pytest\n"
    ), "skipif(...) with a condition that holds"),
    wrong("09", "a module-level pytestmark skip", "test_replay.py", [(TEST, "import pytest\n\npytestmark = pytest.mark.skip\n\n\n" + TEST)],
          "is marked @pytest.mark.skip"),
    wrong("09", "pytest.skip() inside the test", "test_replay.py", replay("    import pytest\n\n    pytest.skip('replay is slow')\n" + REPLAY),
          "calls pytest.skip()"),
    wrong("09", "the test in a class pytest does not collect", "test_replay.py", in_class("ReplayChecks"),
          "has no test that pytest would collect"),
    wrong("09", "replay_workflows given a list", "test_replay.py", replay(
        LOAD + "    results = await Replayer(workflows=[BookTripWorkflow]).replay_workflows([history], raise_on_replay_failure=False)\n"
        "    assert not results.replay_failures\n"
    ), "fails on your own workflow"),
    # right ways
    right("09", "patched() asked once at the start of run", "workflow.py", [
        (PATCHED, "        if email:\n            await self.send_email(trip)\n"),
        ("    async def run(self, trip: TripRequest) -> Itinerary:\n        try:",
         "    async def run(self, trip: TripRequest) -> Itinerary:\n        email = workflow.patched(EMAIL_PATCH)\n        try:"),
    ]),
    right("09", "the email's failure caught as Exception", "workflow.py", [
        ("        except ActivityError as err:\n            workflow.logger.warning", "        except Exception as err:\n            workflow.logger.warning"),
    ]),
    right("09", "start_activity for the email, awaited", "workflow.py", [
        (SEND, "        handle = workflow.start_activity(send_confirmation_email, trip, **EMAIL)\n        try:\n            await handle\n"
               "        except ActivityError as err:\n            workflow.logger.warning(f'email not sent: {err}')\n"),
    ]),
    right("09", "the test in a Test class", "test_replay.py", in_class("TestReplay")),
    right("09", "skipif with a condition that does not hold, another mark", "test_replay.py", marked(
        "@pytest.mark.skipif(sys.version_info < (3, 8), reason='needs 3.8')\n@pytest.mark.timeout(60)", "import sys\n\nimport pytest\n"
    )),
    right("09", "the history as a dict (json.loads)", "test_replay.py", replay(
        "    import json\n\n    history = WorkflowHistory.from_json('trip-09', json.loads(HISTORY.read_text()))\n"
        "    await Replayer(workflows=[BookTripWorkflow]).replay_workflow(history)\n"
    )),
    # Part A: the crash. A key that is the same only within one worker process (a uuid made
    # at import) passes a crash before the desk books; a retry elsewhere after it booked shows it.
    wrong("09", "a key the same only within one worker process (a uuid made at import)", "activities.py", [
        ('def key(trip: TripRequest, step: str) -> str:\n    return f"{trip.trip_id}:{step}"',
         'RUN = uuid.uuid4().hex[:8]  # so two runs never clash\n\n\ndef key(trip: TripRequest, step: str) -> str:\n'
         '    return f"{trip.trip_id}:{step}:{RUN}"'),
        ("from workbook import world\n", "import uuid\n\nfrom workbook import world\n"),
    ], "the same only within one worker process"),
    # right ways (the first ones)
    right("09", "a different patch id", "workflow.py", [('EMAIL_PATCH = "send-confirmation-email"', 'EMAIL_PATCH = "email-after-confirm-v1"')]),
    right("09", "patched() kept in a variable first", "workflow.py", [
        (PATCHED, "        email = workflow.patched(EMAIL_PATCH)\n        if email:\n            await self.send_email(trip)\n"),
    ]),
    right("09", "the email inside the saga block, after confirm_trip", "workflow.py", [
        (PATCHED, ""), (CONFIRM, CONFIRM + "                if workflow.patched(EMAIL_PATCH):\n                    await self.send_email(trip)\n"),
    ]),
    right("09", "replay_workflows, failures checked", "test_replay.py", replay(
        LOAD + "\n    async def histories():\n        yield history\n\n"
        "    results = await Replayer(workflows=[BookTripWorkflow]).replay_workflows(histories(), raise_on_replay_failure=False)\n"
        "    assert not results.replay_failures, results.replay_failures\n"
    )),
    right("09", "raise_on_replay_failure=False, the failure asserted", "test_replay.py", replay(
        LOAD + "    result = await Replayer(workflows=[BookTripWorkflow]).replay_workflow(history, raise_on_replay_failure=False)\n"
        "    assert result.replay_failure is None, result.replay_failure\n"
    )),
    right("09", "a sync test, a relative path, asyncio.run", "test_replay.py", [
        (TEST, "def test_the_history_recorded_before_the_email_still_replays():"),
        (REPLAY, '    with open("history/trip-before-email.json") as file:\n'
                 '        history = WorkflowHistory.from_json("trip-09", file.read())\n'
                 "    asyncio.run(Replayer(workflows=[BookTripWorkflow]).replay_workflow(history))\n"),
        ("    asyncio.run(test_the_history_recorded_before_the_email_still_replays())", "    test_the_history_recorded_before_the_email_still_replays()"),
    ]),
]  # fmt: skip
