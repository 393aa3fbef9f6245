"""The broken sagas that exercise 10's check runs your tests against (mutation testing).

Each one is the correct workflow.py (exercise 03's saga plus 05's pivot and auxiliary
steps) with one realistic mistake, written as text edits of its source, the way a
student would get it wrong: (text, replacement) pairs, like tests/catalogue.py's. A good
test suite fails against every one of them; the advice says which test would.

tests/test_ex10_mutants.py proves the library sound: every edit applies, every mutant
still compiles, and the solution's tests catch each one.

Concurrent undos are caught only by a test that reads the history (each undo scheduled
after the one before it completed): the check's activity interceptor (ex10.py) starts
activities pending at once in the order the workflow scheduled them, so mocks that append
their names see the concurrent undos in the right order, every run.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str  # what is broken, as the report names it
    advice: str  # the test that would catch it
    edits: tuple[tuple[str, str], ...]

    def apply(self, source: str) -> str:
        for old, new in self.edits:
            if old not in source:
                raise LookupError(f"the broken saga {self.name!r} cannot be made: {old.strip()!r} is not in workflow.py")
            source = source.replace(old, new, 1)
        return source


UNDO_LOOP = """            for undo in reversed(compensations):
                await workflow.execute_activity(undo, trip, **UNDO)
"""
RAISE = "            raise  # the trip was not booked: the workflow ends Failed\n"
PAYMENT = "            payment = await workflow.execute_activity(charge_payment, trip, **STEP)\n"
EMAIL_STEP = "await workflow.execute_activity(send_confirmation_email, trip, **AUX)"
EMAIL_BLOCK = f"""        try:
            {EMAIL_STEP}
        except Exception:
            itinerary.notices.append("confirmation email not sent: send it by hand")
"""
CONFIRM = "            await workflow.execute_activity(confirm_trip, trip, **STEP)\n"
POINTS_BLOCK = """        try:
            await workflow.execute_activity(award_loyalty_points, trip, **AUX)
        except Exception:
            itinerary.notices.append("loyalty points not awarded: credit them by hand")
"""
ITINERARY = "itinerary = Itinerary(trip.trip_id, flight, hotel, car, payment)"


def _register_after(step: str, undo: str) -> tuple[tuple[str, str], ...]:
    call = f"            {step} = await workflow.execute_activity(book_{step}, trip, **STEP)\n"
    return ((f"            compensations.append({undo})\n{call}", f"{call}            compensations.append({undo})\n"),)


MUTANTS = [
    Mutant(
        "compensations in forward order",
        "write a test that fails the payment and asserts the undo order: refund_payment, cancel_car, cancel_hotel, cancel_flight",
        (("for undo in reversed(compensations):", "for undo in compensations:"),),
    ),
    Mutant(
        "a missing undo: the car is never cancelled",
        "write a test that fails the payment and asserts that every booking is undone: the exact list of calls, not just some of them",
        (("            compensations.append(cancel_car)\n", ""),),
    ),
    Mutant(
        "no re-raise: the undos run, then the workflow completes",
        "assert that a trip that could not be booked fails the workflow: `with pytest.raises(WorkflowFailureError):` around the result",
        ((RAISE, "            return None  # the mutant: compensated, but reported as a success\n"),),
    ),
    Mutant(
        "undos registered after their steps",
        "write a test that fails the payment and asserts that refund_payment runs too: a step that fails may still have done its work, so its undo is registered before it",
        _register_after("flight", "cancel_flight") + _register_after("hotel", "cancel_hotel")
        + _register_after("car", "cancel_car")
        + ((f"            compensations.append(refund_payment)\n{PAYMENT}", f"{PAYMENT}            compensations.append(refund_payment)\n"),),
    ),
    Mutant(
        "the error swallowed: a declined card is ignored and the trip confirmed",
        "write a test that fails the payment and asserts that confirm_trip is never called and the workflow fails",
        ((PAYMENT, """            try:
                payment = await workflow.execute_activity(charge_payment, trip, **STEP)
            except Exception:  # the mutant: the failure is logged and forgotten
                workflow.logger.warning("payment failed")
                payment = ""
"""),),
    ),
    Mutant(
        "an auxiliary step compensated: an email that fails undoes the trip",
        "write a test that makes send_confirmation_email fail and asserts that nothing is undone and the workflow completes",
        ((CONFIRM, CONFIRM + f"            {EMAIL_STEP.replace('AUX', 'STEP')}\n"), (EMAIL_BLOCK, "")),
    ),
    Mutant(
        "undos run concurrently: all at once instead of one after another",
        "write a test that fails the payment and asserts that each undo starts only after the one before it has finished: read it from the event history, where each undo's ActivityTaskScheduled must come after the previous undo's ActivityTaskCompleted",
        (
            ("from datetime import timedelta\n", "import asyncio\nfrom datetime import timedelta\n"),
            (UNDO_LOOP, """            await asyncio.gather(  # the mutant: every undo at once
                *(workflow.execute_activity(undo, trip, **UNDO) for undo in reversed(compensations))
            )
"""),
        ),
    ),
    Mutant(
        "a business error retried: the payment is retried by hand, a declined card too",
        "write a test where the payment fails with a non-retryable business error and assert that charge_payment was called exactly once",
        ((PAYMENT, """            for attempt in range(3):  # the mutant: every failure retried, a declined card too
                try:
                    payment = await workflow.execute_activity(charge_payment, trip, **STEP)
                    break
                except Exception:
                    if attempt == 2:
                        raise
"""),),
    ),
    Mutant(
        "every undo registered up front: a failed hotel also cancels a car never booked",
        "write a test that fails an earlier step, the hotel, and asserts that only what ran is undone: cancel_hotel, cancel_flight",
        (
            ("        compensations = []  # the undos of the steps started so far, oldest first\n",
             "        compensations = [cancel_flight, cancel_hotel, cancel_car, refund_payment]  # the mutant\n"),
            *(((f"            compensations.append({undo})\n", "") for undo in ("cancel_flight", "cancel_hotel", "cancel_car", "refund_payment"))),
        ),
    ),
    Mutant(
        "the itinerary holds the wrong ids: the payment's id where the flight's goes",
        "in the happy path, assert that the itinerary holds what the mocks answered: itinerary.flight_reservation == \"FL-1\" and itinerary.payment_id == \"PAY-1\"",
        ((ITINERARY, "itinerary = Itinerary(trip.trip_id, payment, hotel, car, flight)  # the mutant"),),
    ),
    Mutant(
        "a notice on every trip: the email's notice recorded even when the email was sent",
        "in the happy path, assert that the itinerary has no notices: itinerary.notices == []",
        ((EMAIL_BLOCK, f"""        try:
            {EMAIL_STEP}
        except Exception:
            pass
        itinerary.notices.append("confirmation email not sent: send it by hand")  # the mutant: always
"""),),
    ),
    Mutant(
        "the email and the points in one try: an email that fails costs the customer their points",
        "write a test that makes send_confirmation_email fail and asserts that award_loyalty_points was still called",
        ((EMAIL_BLOCK, f"""        try:  # the mutant: both auxiliary steps in one try
            {EMAIL_STEP}
            await workflow.execute_activity(award_loyalty_points, trip, **AUX)
        except Exception:
            itinerary.notices.append("confirmation email not sent: send it by hand")
"""), (POINTS_BLOCK, "")),
    ),
    Mutant(
        "a failed email recorded nowhere: no notice for a person to follow up",
        "write a test that makes send_confirmation_email fail and asserts that the itinerary has a notice about the email",
        ((EMAIL_BLOCK, f"""        try:
            {EMAIL_STEP}
        except Exception:
            pass  # the mutant: the failure is forgotten
"""),),
    ),
]
