"""Settings the worker and the starter share: the task queue, the trip to book, the
failure switch, and where the history recorded before the email is kept."""

from pathlib import Path

from workbook.trips import example_trip

TASK_QUEUE = "saga-09-durability-and-replay"
WORKFLOW_ID = "trip-09"

# ==== FAILURE SWITCH (Part A) ==================================================
# SLOW_HOTEL_SECONDS: how long the hotel desk takes to book the room (once). Set it to
# 20, and while book_hotel waits, crash the worker (the starter tells you its kill -9
# command), then start it again: the trip goes on from where it stopped.
SLOW_HOTEL_SECONDS = 0
# ===============================================================================

TRIP = example_trip(WORKFLOW_ID)

# A trip booked by the workflow as it was before the email (exercise 08's), exported
# from the Web UI's "Download" button (or `temporal workflow show --output json`).
HISTORY = Path(__file__).parent / "history" / "trip-before-email.json"
