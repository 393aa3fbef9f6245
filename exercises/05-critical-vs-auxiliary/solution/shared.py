"""Settings the worker and the starter share: the task queue, the trip to book, and
the failure switch."""

from workbook.trips import example_trip

TASK_QUEUE = "saga-05-critical-vs-auxiliary"
WORKFLOW_ID = "trip-05"

# ==== FAILURE SWITCH (Part C) ==================================================
# Set to True to take the email service down: every attempt to send the confirmation
# fails. The trip is already confirmed by then, so it must stay confirmed: a missing
# email is a notice for a person to follow up, not a reason to cancel a trip.
EMAIL_SERVICE_DOWN = False
# ===============================================================================

TRIP = example_trip(WORKFLOW_ID)
