"""Exercise 11's catalogue: realistic wrong answers (each with the words its first failing
check must say) and correct alternatives, as edits of a copy of the solution. The first
eighteen were written blind, from the README alone, before the checks were final."""

from catalogue import right, wrong

CANCEL = "    cancel(key=key(trip, kind))\n"
WRITE_BACK = """    booked = world.booking(key(trip, kind))
    if cancel(key=key(trip, kind), restock=False):
        world.set_available(kind, booked.item, world.left_after(key(trip, kind)) + 1)
"""
CONFIRM = """    for step in ("flight", "hotel", "car"):
        world.confirm_booking(key=key(trip, step))
"""
CONFIRM_INDENTED = """        for step in ("flight", "hotel", "car"):
            world.confirm_booking(key=key(trip, step))
"""
REFUSE = '    if booked is not None and booked.status == "pending":\n'
NON_RETRYABLE = "            non_retryable=True,\n        )\n"
EMAIL = """        try:
            await workflow.execute_activity(send_itinerary, trip, **STEP)
        except ActivityError as err:
            notices.append(f"the itinerary email was not sent: {err.cause.message if err.cause else err}")
"""
CAR = "            car = await workflow.execute_activity(book_car, trip, **STEP)\n"
PAYMENT = "            payment = await workflow.execute_activity(charge_payment, trip, **STEP)\n"
PIVOT = "            await workflow.execute_activity(confirm_trip, trip, **STEP)  # the pivot\n"
SEND = "            await workflow.execute_activity(send_itinerary, trip, **STEP)\n"

ANSWERS = [
    # --- Part B: an undo as an increment -----------------------------------------------------
    wrong("11", "the write-back kept (the receipt's count + 1)", "activities.py", [(CANCEL, WRITE_BACK)], "a booking was lost"),
    wrong("11", "the count read at undo time, then written back", "activities.py", [
        (CANCEL, "    booked = world.booking(key(trip, kind))\n    seats_then = world.left_after(key(trip, kind))\n"
                 "    if cancel(key=key(trip, kind), restock=False):\n        world.set_available(kind, booked.item, seats_then + 1)\n"),
    ], "a booking was lost"),
    wrong("11", "the reservation released, the stock never put back", "activities.py", [
        (CANCEL, "    cancel(key=key(trip, kind), restock=False)\n"),
    ], "without putting it back on sale"),
    wrong("11", "the desk's cancel and a write-back as well", "activities.py", [
        (CANCEL, "    booked = world.booking(key(trip, kind))\n    if cancel(key=key(trip, kind)):\n"
                 "        world.set_available(kind, booked.item, world.left_after(key(trip, kind)) + 1)\n"),
    ], "a booking was lost"),
    wrong("11", "the undo does nothing", "activities.py", [(CANCEL, "    pass\n")], "the audit found orphans"),
    # --- Part C: pending until the pivot; the upgrade desk refuses a pending room -----------------
    wrong("11", "bookings not pending", "activities.py", [(", pending=True", "")], "not pending"),
    wrong("11", "only the flight booked pending", "activities.py", [
        ('key=key(trip, "hotel"), pending=True', 'key=key(trip, "hotel")'),
        ('key=key(trip, "car"), pending=True', 'key=key(trip, "car")'),
    ], "hotel bookings were held, not pending"),
    wrong("11", "the bookings never confirmed", "activities.py", [(CONFIRM, "")], "is still pending"),
    wrong("11", "only the flight confirmed", "activities.py", [('    for step in ("flight", "hotel", "car"):', '    for step in ("flight",):')], "still pending"),
    wrong("11", "bookings confirmed before the pivot (in charge_payment)", "activities.py", [
        (CONFIRM, ""),
        ("        amount = world.trip_total(trip.trip_id)\n",
         "        amount = world.trip_total(trip.trip_id)\n" + CONFIRM_INDENTED),
    ], "had been confirmed before"),
    wrong("11", "the upgrade desk never refuses", "activities.py", [(REFUSE, "    if False:\n")], "upgraded trip"),
    wrong("11", "the upgrade desk looks for 'held'", "activities.py", [(REFUSE, '    if booked is not None and booked.status == "held":\n')], "upgraded trip"),
    wrong("11", "the upgrade desk refuses every room", "activities.py", [(REFUSE, "    if True:\n")], "refused the upgrade of a confirmed"),
    wrong("11", "the upgrade desk refuses a confirmed room", "activities.py", [(REFUSE, '    if booked is not None and booked.status != "held":\n')], "refused the upgrade of a confirmed"),
    wrong("11", "the refusal returned instead of raised", "activities.py", [
        ("        raise ApplicationError(\n            f\"trip {trip.trip_id}'s room", "        return str(ApplicationError(\n            f\"trip {trip.trip_id}'s room"),
        ('            type="BookingPending",\n' + NON_RETRYABLE, '            type="BookingPending",\n            non_retryable=True,\n        ))\n'),
    ], "completed"),
    # --- Part D: the itinerary after the pivot ---------------------------------------------------
    wrong("11", "the itinerary still sent before the payment", "workflow.py", [(EMAIL, ""), (CAR, CAR + SEND)], "emailed before the trip stood"),
    wrong("11", "the itinerary sent between the payment and the pivot", "workflow.py", [(EMAIL, ""), (PAYMENT, PAYMENT + SEND)], "emailed before the trip stood"),
    wrong("11", "the itinerary inside the try, after the pivot", "workflow.py", [(EMAIL, ""), (PIVOT, PIVOT + SEND)], "undid a confirmed trip"),
    wrong("11", "the itinerary after the try, its failure not caught", "workflow.py", [(EMAIL, SEND.replace("            ", "        "))], "the trip stands whatever the email does"),
    wrong("11", "the email's failure swallowed, no notice", "workflow.py", [
        ('            notices.append(f"the itinerary email was not sent: {err.cause.message if err.cause else err}")\n', "            pass\n"),
    ], "no notice"),
    wrong("11", "the itinerary sent only when the trip failed (in the except block)", "workflow.py", [
        (EMAIL, ""),
        ("            raise  # a failed step", "            raise  # a failed step"),
        ("        except (Exception, asyncio.CancelledError):\n", "        except (Exception, asyncio.CancelledError):\n            await workflow.execute_activity(send_itinerary, trip, **STEP)\n"),
    ], "send_itinerary never ran"),
    wrong("11", "the error swallowed after the undos", "workflow.py", [("            raise  # a failed step", "            return None  # a failed step")], "ended Completed"),
    # --- correct alternatives ----------------------------------------------------------------
    right("11", "the desk's cancel called twice (it is idempotent)", "activities.py", [(CANCEL, CANCEL + CANCEL)]),
    right("11", "the upgrade desk asks whether the trip is confirmed", "activities.py", [
        (REFUSE, "    if booked is not None and not world.is_confirmed(trip.trip_id):\n"),
    ]),
    right("11", "the upgrade desk refuses anything not confirmed", "activities.py", [(REFUSE, '    if booked is None or booked.status != "confirmed":\n')]),
    right("11", "the refusal retryable: the request waits a little, then gives up", "activities.py", [(NON_RETRYABLE, "            non_retryable=False,\n        )\n")]),
    right("11", "the bookings confirmed before the trip, in confirm_trip", "activities.py", [
        (CONFIRM, ""),
        ("    with business_errors_are_final():\n        world.confirm_trip(trip.trip_id, trip.customer)\n",
         "    with business_errors_are_final():\n        world.confirm_trip(trip.trip_id, trip.customer)\n" + CONFIRM_INDENTED),
    ]),
    right("11", "the itinerary from start_activity, awaited", "workflow.py", [
        ("            await workflow.execute_activity(send_itinerary, trip, **STEP)\n        except",
         "            await workflow.start_activity(send_itinerary, trip, **STEP)\n        except"),
    ]),
]  # fmt: skip
