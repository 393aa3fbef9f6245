"""Settings the worker and the starter share: the task queue, the trip to book, and
the failure switch."""

from workbook.trips import example_trip

TASK_QUEUE = "saga-08-saga-helper"
WORKFLOW_ID = "trip-08"

# ==== FAILURE SWITCH (Part E) ==================================================
# CANCEL_WHILE_UNDOING: the trip cannot be confirmed, so the saga undoes it; the car
# desk is slow to take the car back, and the customer cancels the trip meanwhile (the
# starter sends the cancel once cancel_car has started). The undos must still run to
# the end, shielded from the cancel, and the trip ends Canceled.
CANCEL_WHILE_UNDOING = False
# ===============================================================================

TRIP = example_trip(WORKFLOW_ID)
