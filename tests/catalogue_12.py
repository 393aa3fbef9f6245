"""Exercise 12's catalogue: realistic wrong answers (each with the words its first failing
check must say) and correct alternatives, as edits of a copy of the solution."""

from catalogue import right, wrong

FORWARD_POLICY = "    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=10)),\n"
TICKETS = """        try:
            booked.tickets = await workflow.execute_activity(issue_tickets, trip, **FORWARD)
        except ActivityError as err:  # only a refusal ends FORWARD's retries: no retry can fix it
            reason = f"tickets not issued: {err.cause.message if err.cause else err}"
            await workflow.execute_activity(flag_for_attention, args=[trip, reason], **UNDO)
            booked.notices.append(f"{reason}; a person will issue them")
"""
IN_TRY = "            # TODO Part A: the tickets come after the pivot: move them out of the try.\n"
FALLBACK = """    try:
        return await workflow.execute_activity(book_car, trip, **STEP), "primary"
    except ActivityError as err:
        workflow.logger.info("The car rental failed (%s); asking the partner desk", err.cause)
    compensations.append(cancel_partner_car)
    return await workflow.execute_activity(book_partner_car, trip, **STEP), "partner"
"""
BREAKER = """car_rental = pybreaker.CircuitBreaker(
    fail_max=CAR_DESK_FAILURES,
    reset_timeout=CAR_DESK_COOLDOWN_SECONDS,
    exclude=[world.BookingError],
    name="car rental",
)
"""
CALL = """        try:
            return car_rental.call(
                world.book_car, trip.trip_id, trip.car_type, trip.rental_days, key=key(trip, "car")
            ).id
        except pybreaker.CircuitBreakerError as err:  # open: the desk was not called at all
            raise ApplicationError(f"book_car: the car rental is skipped ({err})", type="CircuitOpen",
                                   non_retryable=True) from err  # fmt: skip
"""
DIRECT = """        return world.book_car(
            trip.trip_id, trip.car_type, trip.rental_days, key=key(trip, "car")
        ).id
"""

# The business errors made final inside the breaker's call: the breaker counts them.
FINAL_CAR_BOOKING = """def final_car_booking(trip: TripRequest):
    with business_errors_are_final():
        return world.book_car(trip.trip_id, trip.car_type, trip.rental_days, key=key(trip, "car")).id
"""
# A breaker written by hand: it reopens for good after the cooldown instead of one trial call.
OWN_BREAKER = """class Breaker:
    def __init__(self):
        self.failures, self.opened_at = 0, None

    def call(self, function, *args, **kwargs):
        import time
        if self.opened_at is not None and time.monotonic() - self.opened_at < CAR_DESK_COOLDOWN_SECONDS:
            raise pybreaker.CircuitBreakerError("open")
        try:
            result = function(*args, **kwargs)
        except world.ServiceUnavailable:
            self.failures += 1
            if self.failures >= CAR_DESK_FAILURES:
                self.opened_at = time.monotonic()
            raise
        self.failures, self.opened_at = 0, None
        return result


car_rental = Breaker()
"""

ANSWERS = [
    # --- Part A ---
    wrong("12", "FORWARD still gives up after 3 attempts", "workflow.py", [
        (FORWARD_POLICY, "    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),\n"),
    ], "gave up after 3 attempts"),
    wrong("12", "FORWARD capped at 20 attempts", "workflow.py", [
        (FORWARD_POLICY, "    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=20),\n"),
    ], "gives up after 20 attempts"),
    wrong("12", "tickets out of the try, no except: a refusal fails the workflow", "workflow.py", [
        (TICKETS, "        booked.tickets = await workflow.execute_activity(issue_tickets, trip, **FORWARD)\n"),
    ], "nobody was told"),
    wrong("12", "flagged, then re-raised", "workflow.py", [
        (TICKETS, TICKETS + "            raise\n"),
    ], "ended Failed"),
    wrong("12", "a refusal refunds the payment", "workflow.py", [
        (TICKETS, TICKETS + "            await workflow.execute_activity(refund_payment, trip, **UNDO)\n"),
    ], "ran after the pivot"),
    wrong("12", "tickets left inside the try, with FORWARD", "workflow.py", [
        (IN_TRY, IN_TRY + "            tickets = await workflow.execute_activity(issue_tickets, trip, **FORWARD)\n"),
        (TICKETS, "        booked.tickets = tickets\n"),
    ], "ran after the pivot"),
    wrong("12", "tickets before confirm_trip", "workflow.py", [
        ("            # The pivot: a failure up to here", "            tickets = await workflow.execute_activity(issue_tickets, trip, **FORWARD)\n            # The pivot: a failure up to here"),
        (TICKETS, "        booked.tickets = tickets\n"),
    ], "before the trip was confirmed"),
    wrong("12", "a flag that does not say why", "workflow.py", [
        ('await workflow.execute_activity(flag_for_attention, args=[trip, reason], **UNDO)', 'await workflow.execute_activity(flag_for_attention, args=[trip, "needs a person"], **UNDO)'),
    ], "does not say that the tickets"),
    # --- Part B ---
    wrong("12", "the partner asked only after an outage", "workflow.py", [
        ('    except ActivityError as err:\n        workflow.logger.info("The car rental failed', '    except ActivityError as err:\n        if err.cause is None or getattr(err.cause, "type", "") != "ServiceUnavailable":\n            raise\n        workflow.logger.info("The car rental failed'),
    ], "instead of asking the partner"),
    wrong("12", "the partner's undo registered after its call", "workflow.py", [
        ("""    compensations.append(cancel_partner_car)
    return await workflow.execute_activity(book_partner_car, trip, **STEP), "partner"
""", """    car = await workflow.execute_activity(book_partner_car, trip, **STEP)
    compensations.append(cancel_partner_car)
    return car, "partner"
"""),
    ], "register the partner's undo before you call it"),
    wrong("12", "the partner's undo never registered", "workflow.py", [
        ("    compensations.append(cancel_partner_car)\n", ""),
    ], "cancel_partner_car never ran"),
    wrong("12", "car_desk always primary", "workflow.py", [
        ('return await workflow.execute_activity(book_partner_car, trip, **STEP), "partner"', 'return await workflow.execute_activity(book_partner_car, trip, **STEP), "primary"'),
    ], "car_desk"),
    wrong("12", "the fallback inside the activity", "activities.py", [
        (CALL, """        try:
            return car_rental.call(
                world.book_car, trip.trip_id, trip.car_type, trip.rental_days, key=key(trip, "car")
            ).id
        except Exception:
            return world.book_partner_car(trip.trip_id, trip.car_type, trip.rental_days, key=key(trip, "partner_car")).id
"""),
    ], "car_desk"),
    # --- Part C ---
    wrong("12", "no breaker at all", "activities.py", [(CALL, DIRECT)], "called 30 times"),
    wrong("12", "a breaker made inside book_car", "activities.py", [
        (CALL, "        car_rental = pybreaker.CircuitBreaker(fail_max=CAR_DESK_FAILURES, reset_timeout=CAR_DESK_COOLDOWN_SECONDS)\n" + CALL),
    ], "made inside book_car"),
    wrong("12", "fail_max=5", "activities.py", [("    fail_max=CAR_DESK_FAILURES,\n", "    fail_max=5,\n")], "opens after fail_max=5 failures"),
    wrong("12", "no cooldown (reset_timeout=0)", "activities.py", [("    reset_timeout=CAR_DESK_COOLDOWN_SECONDS,\n", "    reset_timeout=0,\n")], "reset_timeout is 0 s"),
    wrong("12", "business errors open the breaker", "activities.py", [("    exclude=[world.BookingError],\n", "")], "healthy"),
    wrong("12", "an open breaker answers with an empty id", "activities.py", [
        ('            raise ApplicationError(f"book_car: the car rental is skipped ({err})", type="CircuitOpen",\n                                   non_retryable=True) from err  # fmt: skip\n', '            return ""\n'),
    ], "holds no car"),
    wrong("12", "FORWARD bounded by a schedule_to_close_timeout", "workflow.py", [
        ("FORWARD = dict(\n    start_to_close_timeout=timedelta(seconds=10),\n", "FORWARD = dict(\n    start_to_close_timeout=timedelta(seconds=10),\n    schedule_to_close_timeout=timedelta(minutes=5),\n"),
    ], "gives up when its schedule_to_close_timeout ends"),
    wrong("12", "the fallback catches ApplicationError, not ActivityError", "workflow.py", [
        ('    except ActivityError as err:\n        workflow.logger.info("The car rental failed', '    except ApplicationError as err:\n        workflow.logger.info("The car rental failed'),
        ("from temporalio.exceptions import ActivityError\n", "from temporalio.exceptions import ActivityError, ApplicationError\n"),
    ], "instead of asking the partner"),
    wrong("12", "no car left is re-raised: the partner only for outages and an open breaker", "workflow.py", [
        ('    except ActivityError as err:\n        workflow.logger.info("The car rental failed', '    except ActivityError as err:\n        if getattr(err.cause, "type", "") in ("NoAvailability", "UnknownItem"):\n            raise\n        workflow.logger.info("The car rental failed'),
    ], "instead of asking the partner"),
    wrong("12", "one breaker per trip", "activities.py", [
        (BREAKER, BREAKER.replace("car_rental = pybreaker.CircuitBreaker(", "BREAKERS = {}  # one per trip\n\n\ndef breaker_for(trip):\n    return BREAKERS.setdefault(trip.trip_id, pybreaker.CircuitBreaker(").replace('    name="car rental",\n)', '    name="car rental",\n))')),
        ("            return car_rental.call(", "            return breaker_for(trip).call("),
    ], "called 30 times"),
    wrong("12", "the breaker counts the activity's business errors", "activities.py", [
        (CALL, CALL.replace("""car_rental.call(
                world.book_car, trip.trip_id, trip.car_type, trip.rental_days, key=key(trip, "car")
            ).id""", "car_rental.call(final_car_booking, trip)")),
        ("@activity.defn\ndef book_car(trip: TripRequest) -> str:\n", FINAL_CAR_BOOKING + "\n\n@activity.defn\ndef book_car(trip: TripRequest) -> str:\n"),
    ], "healthy"),
    wrong("12", "a breaker of one's own, without half-open", "activities.py", [(BREAKER, OWN_BREAKER)], "found no breaker"),
    # --- right ---
    right("12", "FORWARD with Temporal's default retry policy (it never gives up)", "workflow.py", [
        (FORWARD_POLICY, ""),
    ]),
    right("12", "cancel_car before asking the partner", "workflow.py", [
        ('        workflow.logger.info("The car rental failed (%s); asking the partner desk", err.cause)\n',
         '        workflow.logger.info("The car rental failed (%s); asking the partner desk", err.cause)\n        await workflow.execute_activity(cancel_car, trip, **UNDO)  # it may hold a car although it failed\n'),
    ]),
    right("12", "the breaker as a decorator", "activities.py", [
        (BREAKER, BREAKER + "\n\n@car_rental\ndef rent_a_car(trip):\n    return world.book_car(trip.trip_id, trip.car_type, trip.rental_days, key=key(trip, \"car\"))\n"),
        ("""            return car_rental.call(
                world.book_car, trip.trip_id, trip.car_type, trip.rental_days, key=key(trip, "car")
            ).id
""", "            return rent_a_car(trip).id\n"),
    ]),
    right("12", "the breaker's calling() context manager", "activities.py", [
        ("""            return car_rental.call(
                world.book_car, trip.trip_id, trip.car_type, trip.rental_days, key=key(trip, "car")
            ).id
""", """            with car_rental.calling():
                return world.book_car(trip.trip_id, trip.car_type, trip.rental_days, key=key(trip, "car")).id
"""),
    ]),
    right("12", "CircuitBreakerError left to Temporal's retries", "activities.py", [
        (CALL, """        return car_rental.call(
            world.book_car, trip.trip_id, trip.car_type, trip.rental_days, key=key(trip, "car")
        ).id
"""),
    ]),
    right("12", "exclude as a predicate, breakers in a dict", "activities.py", [
        (BREAKER, """BREAKERS = {
    "car rental": pybreaker.CircuitBreaker(
        fail_max=CAR_DESK_FAILURES, reset_timeout=CAR_DESK_COOLDOWN_SECONDS,
        exclude=[lambda error: isinstance(error, world.BookingError)],
    ),
}
"""),
        ("            return car_rental.call(", '            return BREAKERS["car rental"].call('),
    ]),
    right("12", "FORWARD backing off by 3 up to an hour, a reason of its own", "workflow.py", [
        (FORWARD_POLICY, "    retry_policy=RetryPolicy(backoff_coefficient=3, maximum_interval=timedelta(hours=1)),\n"),
        ('            reason = f"tickets not issued: {err.cause.message if err.cause else err}"\n', '            reason = "the airline refused the tickets"\n'),
    ]),
]
