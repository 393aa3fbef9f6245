"""Settings the worker and the starter share: the task queue, the trip to book, and the
failure switch that makes the hotel lose its replies."""

from workbook.trips import example_trip

TASK_QUEUE = "saga-04-idempotent-steps"
WORKFLOW_ID = "trip-04"

# ==== FAILURE SWITCH (Parts A and C) ===========================================
# How many times the hotel books a room, commits it, and then loses its reply before
# one reply gets through. Temporal cannot tell a lost reply from a failure, so it runs
# book_hotel again: set 2, and the hotel is asked three times for one room. Each retry
# must find the room the first attempt booked. 0: every reply arrives.
LOST_HOTEL_REPLIES = 0
# ===============================================================================

TRIP = example_trip(WORKFLOW_ID)
