"""A replay test: the workflow as it is now must replay a history recorded by the
workflow as it was, exactly as that run went. Replay needs no server and no worker:
the Replayer feeds the saved events to the workflow code and compares, call by call,
what the code asks for with what the history says happened.

Run it from this folder, before you deploy a change to workflow.py: it fails when the
change would break the trips already running, or recorded, with the old code.

    python -m pytest test_replay.py -n 0 -q
"""

import asyncio

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from shared import HISTORY
from workflow import BookTripWorkflow


async def test_the_history_recorded_before_the_email_still_replays():
    # TODO Part C: load HISTORY with WorkflowHistory.from_json(workflow id, its text),
    # and replay it with Replayer(workflows=[BookTripWorkflow]).replay_workflow(...):
    # it raises when the code no longer matches the history, which fails the test.
    history = WorkflowHistory.from_json("trip-before-email", HISTORY.read_text())
    await Replayer(workflows=[BookTripWorkflow]).replay_workflow(history)


if __name__ == "__main__":  # `python test_replay.py` runs it too, without pytest
    asyncio.run(test_the_history_recorded_before_the_email_still_replays())
