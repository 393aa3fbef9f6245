"""Record the event history that exercise 09 ships: a trip booked by the workflow as it
was *before* the confirmation email (exercise 08's solution), as JSON, into
exercises/09-durability-and-replay/{practice,solution}/history/trip-before-email.json.

    python -m workbook.record_history

Reproducible and offline: a dev server on a free port, a scratch travel world, the
example trip with nothing going wrong. Replay tests read the file; nothing runs this at
test time. Run it again only if exercise 08's workflow changes (then the file shows what
the old code did, which is the point).
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path

from temporalio.worker import Worker

from workbook import world
from workbook.loader import exercise_dir, loaded
from workbook.server import start_local_dev_server
from workbook.trips import example_trip

WORKFLOW_ID = "trip-before-email"
NAME = "history/trip-before-email.json"


async def record() -> str:
    """The history of one trip booked by exercise 08's solution, as JSON text."""
    environment = await start_local_dev_server()
    try:
        with loaded(exercise_dir("08") / "solution") as modules:
            task_queue = modules.shared.TASK_QUEUE  # as exercise 08 ran it
            worker = modules.worker.create_worker(environment.client, task_queue=task_queue)
            async with worker:
                handle = await environment.client.start_workflow(
                    modules.workflow.BookTripWorkflow.run, example_trip(WORKFLOW_ID),
                    id=WORKFLOW_ID, task_queue=task_queue,
                )  # fmt: skip
                await handle.result()
                history = await handle.fetch_history()
    finally:
        await environment.shutdown()
    return json.dumps(json.loads(history.to_json()), indent=2) + "\n"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="workbook-record-") as scratch:
        os.environ[world.DB_ENV_VAR] = str(Path(scratch) / "world.db")
        world.reset()
        text = asyncio.run(record())
    for target in ("practice", "solution"):
        path = exercise_dir("09") / target / NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
