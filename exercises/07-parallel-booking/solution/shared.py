"""Settings the worker and the starter share: the task queue, the trip to book, and
the failure switch."""

from workbook.trips import example_trip

TASK_QUEUE = "saga-07-parallel-booking"
WORKFLOW_ID = "trip-07"

# ==== FAILURE SWITCH (Part D) ==================================================
# The hotel desk takes a second, then says it has no room left, for good. By then the
# flight is booked, and the (slower) car rental desk is still working on the car.
# The saga must wait for the car to settle, then undo the car and the flight.
HOTEL_FAILS_WHILE_CAR_BOOKS = False
# ===============================================================================

TRIP = example_trip(WORKFLOW_ID)
