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
    ], "has no test function"),
    wrong("09", "the replay's failure asserted the wrong way round", "test_replay.py", replay(
        LOAD + "    result = await Replayer(workflows=[BookTripWorkflow]).replay_workflow(history, raise_on_replay_failure=False)\n"
        "    assert result.replay_failure  # (it should be None)\n"
    ), "fails on your own workflow"),
    # right ways
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
