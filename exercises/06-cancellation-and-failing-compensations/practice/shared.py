"""Settings the worker and the starter share: the task queue, the trip to book, and
the failure switches."""

from workbook.trips import example_trip

TASK_QUEUE = "saga-06-cancellation-and-failing-compensations"
WORKFLOW_ID = "trip-06"

# ==== FAILURE SWITCH (Part C) ==================================================
# CANCEL_DURING_CAR: the customer cancels the trip while the (slow) car rental desk is
# still working on the car: the starter sends the cancel once book_car has started.
# REFUND_REFUSED: the bank refuses the refund for good. The other undos must still run,
# and the trip goes to a person instead of being left behind in silence.
CANCEL_DURING_CAR = False
REFUND_REFUSED = False
# ===============================================================================

TRIP = example_trip(WORKFLOW_ID)
