"""Settings the worker and the starter share: the task queue, the trip to book, the
failure switch, and the history recorded before the email (for the replay test)."""

from pathlib import Path

from workbook.trips import example_trip

# Each exercise has a task queue of its own: a worker left running for another
# exercise never picks up this one's trips.
TASK_QUEUE = "saga-09-durability-and-replay"
WORKFLOW_ID = "trip-09"

# ==== FAILURE SWITCH (Part A) ==================================================
# SLOW_HOTEL_SECONDS: how long the hotel desk takes to book the room, the first time
# it is asked. Set it to 20: while book_hotel waits, the starter prints the command
# that crashes the worker running it (kill -9 and its process id). Crash it, start
# the worker again, and watch the trip go on from the step that was cut short.
SLOW_HOTEL_SECONDS = 0
# ===============================================================================

TRIP = example_trip(WORKFLOW_ID)

# A trip booked by the workflow as it was *before* the email (exercise 08's), with
# nothing going wrong: its event history, as JSON. You can download any workflow's
# history like this from the Web UI (Event History, "Download"), or with
#     temporal workflow show --workflow-id trip-09 --output json
# Temporal keeps such histories for a while (the namespace's retention): a changed
# workflow must still replay every run it keeps, and every run still in flight.
# (The file was made by `python -m workbook.record_history`, from the repository root.)
HISTORY = Path(__file__).parent / "history" / "trip-before-email.json"
