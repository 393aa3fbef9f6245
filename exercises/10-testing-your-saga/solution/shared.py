"""Settings the worker and the starter share: the task queue, the trip to book, and
the failure switch.

Your tests (test_saga.py) need none of them. They run the same workflow on a test
server of their own, each on a task queue of its own, with mocks in place of the
activities: nothing they do reaches the travel world, and no worker you started for
the starter can pick up their work (it polls TASK_QUEUE, and they never use it).
"""

from workbook.trips import example_trip

# The queue the worker polls and the starter sends the trip to.
TASK_QUEUE = "saga-10-testing-your-saga"
# One id for the starter's trip, so each run replaces the last one in the Web UI.
WORKFLOW_ID = "trip-10"

# ==== FAILURE SWITCH (Part D) ==================================================
# A valid card number has 16 digits. Delete the last digit to make the payment
# fail for real, in the travel world, and compare what the saga does there with
# what your test of a declined card asserts: the same undos, in the same order.
# The travel world refuses such a card with a business error, which activities.py
# marks non-retryable: the payment is tried once, as your mock's `declined()` is.
# Your tests need no switch: each one tells its mocks what to fail. A typo here (a
# letter, a space) is refused by the starter before anything is booked.
CARD_NUMBER = "4242424242424242"
# ===============================================================================

# The trip the starter books: the workbook's example trip, paid with CARD_NUMBER.
# Its flight, hotel and car exist in the travel world, so only the card can fail.
TRIP = example_trip(WORKFLOW_ID, card_number=CARD_NUMBER)
