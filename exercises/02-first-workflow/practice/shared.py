"""Settings the worker and the starter share: the task queue and the trip to book.

Both programs import this file, so they always agree on the task queue: the worker
polls the queue that the starter sends the workflow to.
"""

from workbook.trips import TripRequest

TASK_QUEUE = "saga-02-first-workflow"
WORKFLOW_ID = "trip-02"

# ==== FAILURE SWITCH (Part C) ==================================================
# An economy car is easy to get. The built-in travel world has no SUV left in New
# York: change "economy" to "suv" to make the car step fail, then see what Temporal
# retries, and what it leaves behind.
CAR_TYPE = "economy"
# ===============================================================================

# The trip the starter books: $280 + $945 + $165 = $1,390 when everything goes through.
TRIP = TripRequest(
    trip_id=WORKFLOW_ID,  # also the workflow id: one booking, one workflow
    customer="Ada Lovelace",
    flight="TW101",  # San Francisco to New York, $280
    hotel="harbor-view",
    room_type="deluxe",  # $315 a night
    nights=3,
    car_type=CAR_TYPE,  # an economy car is $55 a day
    rental_days=3,
    card_number="4242424242424242",
)
