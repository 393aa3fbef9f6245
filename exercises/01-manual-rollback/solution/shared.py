"""The trip the starter books, and the failure switch.

No Temporal in this exercise: starter.py calls the travel world directly, the way
most booking code starts out.
"""

from workbook.trips import TripRequest

TRIP_ID = "trip-01"

# The trip: $280 + $945, and then the car. An SUV is sold out in the built-in travel
# world, so the third step fails every time and your rollback has work to do. (Change
# it to "economy" to see the whole trip go through.)
TRIP = TripRequest(
    trip_id=TRIP_ID,
    customer="Ada Lovelace",
    flight="TW101",  # San Francisco to New York, $280
    hotel="harbor-view",
    room_type="deluxe",  # $315 a night
    nights=3,
    car_type="suv",  # sold out: the step that fails
    rental_days=3,
    card_number="4242424242424242",
)

# ==== FAILURE SWITCH (Part C) ==================================================
# Set to True and the program dies right after the hotel is booked, the way a crash,
# a power cut or a deploy ends a process: no except block and no finally runs after
# that moment. What happens to your rollback then?
CRASH_AFTER_HOTEL = False
# ===============================================================================
