"""Settings the worker and the starter share: the task queue, the two trips that book the
same flight, hotel and car at the same time, and the failure switch."""

from workbook.trips import example_trip

TASK_QUEUE = "saga-11-isolation"
WORKFLOW_ID = "trip-11"

# ==== FAILURE SWITCH (Part E) ==================================================
# Two trips at once. Trip trip-11-a books its flight and hotel, then waits three seconds
# for a car desk that says no. Meanwhile trip trip-11-b books the same flight, hotel and
# car, to the end, and someone asks to upgrade trip-11-a's room to a suite. Then trip-11-a
# is undone. Watch the stock, trip-11-b's bookings and the upgrade.
TWO_TRIPS_INTERLEAVED = False
# ===============================================================================

TRIP = example_trip(WORKFLOW_ID)
# The interleaved pair: the first one's car fails; the second books everything.
FAILING_TRIP = example_trip(f"{WORKFLOW_ID}-a")
OTHER_TRIP = example_trip(f"{WORKFLOW_ID}-b", customer="Grace Hopper")
