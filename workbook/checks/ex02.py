"""Checks for exercise 02: the booking as a Temporal workflow, with no compensations yet."""

from workbook import world
from workbook.checks import (
    CheckFailed, Suite, arrow, expect, expect_no_orphans, expect_status, expect_trip_booked,
)  # fmt: skip

suite = Suite("02", "First workflow: a worker, activities, retries, and errors that are final")

# A business error that is retried by a policy without a limit (none given, or
# maximum_attempts=0, which Temporal reads as no limit) would be asked again forever: after
# this many failed attempts the check stops the workflow and says so, instead of waiting
# for a result that never comes.
ENDLESS_AFTER = 5


def _tries(outcome, run) -> int:
    """How many attempts of ``run`` failed with its business error. A run the check stopped
    (endless) has no failure in history yet: its attempts are those the checks' worker saw."""
    if outcome.endless == run.name:
        return len(outcome.raised.get(run.name, ())) or run.attempts
    return outcome.tries(run)


def _tried_for(outcome, lab, run, what: str, fix: str) -> str:
    """'book_car was tried N times for <what>: <fix>', told the way it happened: by the
    workflow asking again, or by a retry policy, without end when the check had to stop it."""
    tries = _tries(outcome, run)
    asked = [r for r in outcome.timeline.runs if r.name == run.name]
    if len(asked) > 1:  # each one an activity of its own: the workflow's code asked again
        return (
            f"{run.name} was tried {tries} times for {what}: your workflow called it {len(asked)} times, "
            "asking again after it had failed (a loop, or a second call, in workflow.py). A business "
            "error is the same answer every time: let its failure end the workflow, and leave retries "
            "of outages to the retry policy."
        )
    if outcome.endless == run.name:
        zeros = "maximum_attempts=0" in lab.source.replace(" ", "")
        limit = ("maximum_attempts=0, which Temporal reads as no limit at all" if zeros
                 else "no maximum_attempts, which means no limit")  # fmt: skip
        return (
            f"{run.name} was tried {tries} times for {what}, and would be tried forever: its retry "
            f"policy has {limit}, and the error is retryable (the check stopped the workflow once it "
            f"had failed more than {ENDLESS_AFTER} times). {fix[0].upper()}{fix[1:]}"
        )
    return f"{run.name} was tried {tries} times for {what}: {fix}"


def _error_of(outcome, run) -> str:
    """'UnknownItem: harbor-view has no penthouse rooms', or the type the worker saw raised."""
    if run.error_type or run.error:
        return f"{run.error_type or run.outcome}: {run.error}"
    seen = outcome.raised.get(run.name)
    return seen[-1] if seen else run.outcome


def last_run(outcome, name: str):
    """The last time the workflow scheduled activity ``name``, or None if it never did."""
    runs = [run for run in outcome.timeline.runs if run.name == name]
    return runs[-1] if runs else None


@suite.check("An economy car: flight → hotel → car → payment → confirm, each once, trip confirmed")
async def books_the_trip(lab):
    expect_trip_booked(await lab.book(lab.trip()))


@suite.check("A hotel outage that lasts two attempts is retried: booked on the third, one room held")
async def outage_is_retried(lab):
    world.inject("book_hotel", "fail", times=2)  # down twice, then up again
    outcome = await lab.book(lab.trip())
    hotel = last_run(outcome, "book_hotel")
    expect(hotel, f"book_hotel never ran: the steps were {arrow(outcome.timeline.steps)}.")
    if outcome.status != "Completed":
        # History records the retry policy each step was scheduled with: it tells a policy
        # of one attempt from an outage made final, so the message need not guess.
        if hotel.attempts == 1 and hotel.max_attempts == 1:
            why = ("It was not retried at all: its retry policy allows a single attempt "
                   "(maximum_attempts=1). An outage passes: give it at least 3 attempts (Part B).")  # fmt: skip
        elif hotel.attempts == 1:
            why = ("It was not retried at all, although its retry policy allows more attempts: the "
                   "outage was made final. Does Part C make every error non-retryable? Only a "
                   "world.BookingError is final; an outage (world.ServiceUnavailable) must pass through.")  # fmt: skip
        else:
            why = "An outage passes: give the retry policy at least 3 attempts (Part B)."
        raise CheckFailed(
            f"the hotel service was down for two attempts, and the workflow ended "
            f"{outcome.status} after {hotel.attempts} attempt(s) of book_hotel "
            f"({outcome.error}). {why}"
        )
    expect(
        hotel.attempts == 3,
        f"book_hotel succeeded on attempt {hotel.attempts}; expected attempt 3, after two "
        "failed attempts. Did something catch the outage instead of letting Temporal retry it?",
    )
    rooms = [r for r in world.reservations(outcome.trip.trip_id) if r.kind == "hotel"]
    expect(
        len(rooms) == 1,
        f"{len(rooms)} hotel rooms were reserved for one trip: every attempt must use the same "
        "idempotency key, so a retry finds the room an earlier attempt reserved.",
    )
    expect(world.is_confirmed(outcome.trip.trip_id), "the trip was not confirmed.")
    expect_no_orphans(outcome)


@suite.check("A sold-out car (an SUV) is tried once, not retried, and the workflow ends Failed")
async def sold_out_fails_fast(lab):
    outcome = await lab.book(lab.trip(car_type="suv"), endless_after=ENDLESS_AFTER)
    car = last_run(outcome, "book_car")
    expect(car, f"book_car never ran: the steps were {arrow(outcome.timeline.steps)}.")
    expect(
        _tries(outcome, car) == 1,
        _tried_for(outcome, lab, car, "a car that is not there", "a BookingError will not go away by "
                   "retrying; make it non-retryable (Part C): raise ApplicationError(..., non_retryable=True) "
                   "from business_errors_are_final()."),
    )
    expect(
        car.outcome == "failed",
        f"book_car {car.outcome} although no SUV is left: did business_errors_are_final swallow "
        "the error? Raise the ApplicationError (Part C), do not return or pass.",
    )
    expect_status(
        outcome,
        "Failed",
        "A trip without its car was not booked: let the activity's error end the workflow.",
    )


@suite.check("The lesson: after the car fails, the flight and hotel are still held (nothing undone)")
async def nothing_is_undone(lab):
    outcome = await lab.book(lab.trip(car_type="suv"), endless_after=ENDLESS_AFTER)
    trip_id = outcome.trip.trip_id
    undos = outcome.timeline.compensations
    expect(
        not undos,
        f"{arrow(undos)} ran: you are ahead of the workbook! Undoing is exercise 03. Here the "
        "workflow only books, so that you can see what Temporal does not do for you.",
    )
    expect_status(outcome, "Failed", "The car could not be booked, so the trip was not booked.")
    orphans = sorted((o.kind, o.trip_id) for o in outcome.report.orphans)
    expect(
        orphans == [("flight", trip_id), ("hotel", trip_id)],
        "expected the audit to show exactly this trip's flight and hotel, still held and "
        f"nothing charged; it shows {outcome.describe_orphans() or 'zero orphans'}. Temporal "
        "retried and recorded every step, but it does not undo anything by itself.",
    )


@suite.check("Every business error fails at once: no such room, a bad card number, a declined card")
async def every_business_error_is_final(lab):
    cases = [  # (what the trip asks for, the step that must fail on its first attempt)
        (dict(room_type="penthouse"), "book_hotel"),
        (dict(card_number="424242424242424"), "charge_payment"),
        (dict(card_number=world.DECLINED_CARD), "charge_payment"),
    ]
    for changes, step in cases:
        outcome = await lab.book(lab.trip(**changes), endless_after=ENDLESS_AFTER)
        run = last_run(outcome, step)
        expect(run, f"{step} never ran: the steps were {arrow(outcome.timeline.steps)}.")
        expect(
            run.outcome != "completed",
            f"{step} completed although it must fail ({changes}): did business_errors_are_final "
            "swallow the error? Raise the ApplicationError (Part C), do not return or pass.",
        )
        expect(
            _tries(outcome, run) == 1 and run.outcome == "failed",
            _tried_for(outcome, lab, run, f"a business error ({_error_of(outcome, run)})",
                       "make every world.BookingError non-retryable, not only some of them "
                       "(Part C: except world.BookingError → ApplicationError(..., non_retryable=True))."),
        )
        expect_status(outcome, "Failed", "A trip that cannot be booked must end the workflow.")
