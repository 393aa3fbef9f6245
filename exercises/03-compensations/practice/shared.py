"""Settings the worker and the starter share: the task queue and the trip to book."""

from workbook.trips import example_trip

TASK_QUEUE = "saga-03-compensations"
WORKFLOW_ID = "trip-03"

# ==== FAILURE SWITCH (Part C) ==================================================
# A valid card number has 16 digits. Delete the last digit to make the payment
# fail, then watch the saga cancel the car, the hotel and the flight.
CARD_NUMBER = "4242424242424242"
# ===============================================================================

TRIP = example_trip(WORKFLOW_ID, card_number=CARD_NUMBER)
