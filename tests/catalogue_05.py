"""Exercise 05's catalogue: realistic wrong answers (each with the words its first failing
check must say) and correct alternatives, as edits of a copy of the solution."""

from catalogue import right, wrong

EMAIL = """        try:
            await workflow.execute_activity(send_confirmation_email, trip, **AUX)
        except Exception:
            itinerary.notices.append("confirmation email not sent: send it by hand")
"""
POINTS = """        try:
            await workflow.execute_activity(award_loyalty_points, trip, **AUX)
        except Exception:
            itinerary.notices.append("loyalty points not awarded: credit them by hand")
"""
PIVOT = "            await workflow.execute_activity(confirm_trip, trip, **STEP)\n"
BOUNDED = "    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),\n)\n\n\n@workflow"
IMPORTS = "from temporalio.common import RetryPolicy"
NOTICE_EMAIL = '            itinerary.notices.append("confirmation email not sent: send it by hand")\n'
HELPER = '''
    async def _auxiliary(self, what: str, activity, trip: TripRequest, notices: list[str]) -> None:
        """Run one auxiliary step; if it gives up, note it and carry on."""
        try:
            await workflow.execute_activity(activity, trip, **AUX)
        except ActivityError as err:
            notices.append(f"{what}: {err.cause}")
'''

ANSWERS = [
    wrong("05", "auxiliary steps inside the main try", "workflow.py", [
        (PIVOT, PIVOT + "            await workflow.execute_activity(send_confirmation_email, trip, **AUX)\n"
                        "            await workflow.execute_activity(award_loyalty_points, trip, **AUX)\n"),
        (EMAIL, ""), (POINTS, ""),
    ], "the email failed and you cancelled a confirmed trip"),
    wrong("05", "the email's failure runs the compensations", "workflow.py", [
        (NOTICE_EMAIL, "            for undo in reversed(compensations):\n"
                       "                await workflow.execute_activity(undo, trip, **UNDO)\n" + NOTICE_EMAIL),
    ], "the email failed and you cancelled a confirmed trip"),
    wrong("05", "the email's failure noted, then re-raised", "workflow.py", [(NOTICE_EMAIL, NOTICE_EMAIL + "            raise\n")], "send_confirmation_email's failure was re-raised"),
    wrong("05", "auxiliary steps retry forever (no maximum_attempts)", "workflow.py", [(BOUNDED, BOUNDED.replace(", maximum_attempts=3", ""))], "send_confirmation_email retries forever while the email service is down"),
    wrong("05", "the email run with the undos' policy", "workflow.py", [("execute_activity(send_confirmation_email, trip, **AUX)", "execute_activity(send_confirmation_email, trip, **UNDO)")], "retries forever"),
    wrong("05", "the email sent before the payment", "workflow.py", [
        ("            compensations.append(refund_payment)\n",
         "            await workflow.execute_activity(send_confirmation_email, trip, **AUX)\n            compensations.append(refund_payment)\n"),
        (EMAIL, ""),
    ], "send_confirmation_email ran before confirm_trip had completed"),
    wrong("05", "the pivot misplaced: confirm_trip after the email", "workflow.py", [(PIVOT, ""), (EMAIL, EMAIL + "        await workflow.execute_activity(confirm_trip, trip, **STEP)\n")], "ran before confirm_trip had completed"),
    wrong("05", "the email's failure swallowed (no notice)", "workflow.py", [("        except Exception:\n" + NOTICE_EMAIL, "        except Exception:\n            pass\n")], "has no notice"),
    wrong("05", "one try around both auxiliary steps", "workflow.py", [
        (EMAIL + "        # TODO", "        try:\n            await workflow.execute_activity(send_confirmation_email, trip, **AUX)\n"
                                 "            await workflow.execute_activity(award_loyalty_points, trip, **AUX)\n"
                                 "        except Exception as err:\n"
                                 "            itinerary.notices.append(f\"follow-up failed: {err.__cause__ or err}\")\n        # TODO"),
        (POINTS, ""),
    ], "award_loyalty_points never ran although the points service was up"),
    wrong("05", "notices kept in a list that is not returned", "workflow.py", [
        ("        itinerary = Itinerary(trip.trip_id, flight, hotel, car, payment)\n", "        notices = []\n"),
        ("itinerary.notices.append(", "notices.append("),
        ("        return itinerary\n", "        return Itinerary(trip.trip_id, flight, hotel, car, payment)\n"),
    ], "has no notice"),
    wrong("05", "a single attempt for auxiliary steps", "workflow.py", [(BOUNDED, BOUNDED.replace("maximum_attempts=3", "maximum_attempts=1"))], "gave up after 1 attempt"),
    wrong("05", "except ApplicationError around the email", "workflow.py", [
        ("        except Exception:\n" + NOTICE_EMAIL, "        except ApplicationError:\n" + NOTICE_EMAIL),
        (IMPORTS, IMPORTS + "\nfrom temporalio.exceptions import ApplicationError"),
    ], "does not catch its failure: activity failures arrive as `ActivityError`"),
    wrong("05", "the email started, not awaited", "workflow.py", [("            await workflow.execute_activity(send_confirmation_email, trip, **AUX)", "            workflow.start_activity(send_confirmation_email, trip, **AUX)")], "`await` each auxiliary step"),
    right("05", "both auxiliary steps side by side (asyncio.gather), each with its own except", "workflow.py", [
        (EMAIL, "        async def email():\n" + "\n".join("    " + line for line in EMAIL.splitlines()) + "\n"),
        (POINTS, "        async def points():\n" + "\n".join("    " + line for line in POINTS.splitlines()) + "\n"
                 "        await asyncio.gather(email(), points())\n"),
        (IMPORTS, IMPORTS + "\nimport asyncio"),
    ]),
    right("05", "a helper method that records the notice, except ActivityError", "workflow.py", [
        (EMAIL, '        await self._auxiliary("confirmation email not sent", send_confirmation_email, trip, itinerary.notices)\n'),
        (POINTS, '        await self._auxiliary("loyalty points not awarded", award_loyalty_points, trip, itinerary.notices)\n'),
        ("        return itinerary\n", "        return itinerary\n" + HELPER),
        (IMPORTS, IMPORTS + "\nfrom temporalio.exceptions import ActivityError"),
    ]),
    right("05", "gather with return_exceptions, notices from the errors", "workflow.py", [
        (EMAIL, ""),
        (POINTS, "        results = await asyncio.gather(\n"
                 "            workflow.execute_activity(send_confirmation_email, trip, **AUX),\n"
                 "            workflow.execute_activity(award_loyalty_points, trip, **AUX),\n"
                 "            return_exceptions=True,\n        )\n"
                 "        for what, result in zip((\"email\", \"loyalty points\"), results):\n"
                 "            if isinstance(result, BaseException):\n"
                 "                itinerary.notices.append(f\"{what} failed: {result.cause}\")\n"),
        (IMPORTS, IMPORTS + "\nimport asyncio"),
    ]),
    right("05", "notices in words of one's own, except ActivityError", "workflow.py", [
        ("except Exception:\n" + NOTICE_EMAIL, "except ActivityError:\n            itinerary.notices.append('Customer was not mailed; please follow up')\n"),
        (IMPORTS, IMPORTS + "\nfrom temporalio.exceptions import ActivityError"),
    ]),
    right("05", "auxiliary steps with the steps' policy (3 attempts)", "workflow.py", [("trip, **AUX)", "trip, **STEP)")]),
    right("05", "auxiliary retries bounded by time (schedule_to_close_timeout)", "workflow.py", [("""AUX = dict(
    start_to_close_timeout=timedelta(seconds=10),
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),
)""", """AUX = dict(
    start_to_close_timeout=timedelta(seconds=10),
    schedule_to_close_timeout=timedelta(seconds=30),
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1)),
)""")]),
]


# Written blind from the README (tests the classes: timing, Itinerary vs world, keys, outages made final).
ANSWERS += [
    wrong("05", 'a notice added whether or not the email failed', 'workflow.py', [('        try:\n            await workflow.execute_activity(send_confirmation_email, trip, **AUX)\n        except Exception:\n            itinerary.notices.append("confirmation email not sent: send it by hand")\n', '        try:\n            await workflow.execute_activity(send_confirmation_email, trip, **AUX)\n        except Exception:\n            pass\n        itinerary.notices.append("confirmation email not sent: send it by hand")\n')], 'nothing failed, yet the result has notices'),
    wrong("05", "the points' failure runs the compensations", 'workflow.py', [('            itinerary.notices.append("loyalty points not awarded: credit them by hand")\n', '            for undo in reversed(compensations):\n                await workflow.execute_activity(undo, trip, **UNDO)\n            itinerary.notices.append("loyalty points not awarded: credit them by hand")\n')], 'the loyalty points award failed and you cancelled a confirmed trip'),
    wrong("05", 'maximum_attempts=0 for auxiliary steps', 'workflow.py', [('RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),\n)\n\n\n@workflow', 'RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=0),\n)\n\n\n@workflow')], 'Temporal reads 0 as no limit at all'),
    wrong("05", 'the email activity swallows an outage', 'activities.py', [('    world.send_email(trip.trip_id, trip.customer)\n', '    try:\n        world.send_email(trip.trip_id, trip.customer)\n    except world.ServiceUnavailable:\n        pass\n')], 'the activity caught the outage'),
    wrong("05", 'the points awarded under a fresh uuid each attempt', 'activities.py', [('key=key(trip, "points"))', 'key=str(uuid.uuid4()))'), ('from temporalio import activity', 'import uuid\n\nfrom temporalio import activity')], 'no award_points whose key names the trip'),
    wrong("05", 'both auxiliary steps in one gather without return_exceptions', 'workflow.py', [('        try:\n            await workflow.execute_activity(send_confirmation_email, trip, **AUX)\n        except Exception:\n            itinerary.notices.append("confirmation email not sent: send it by hand")\n        # TODO Part B: award the loyalty points (award_loyalty_points) the same way, in a\n        # try of its own, so an email that fails does not cost the customer their points.\n        try:\n            await workflow.execute_activity(award_loyalty_points, trip, **AUX)\n        except Exception:\n            itinerary.notices.append("loyalty points not awarded: credit them by hand")\n', '        try:\n            await asyncio.gather(\n                workflow.execute_activity(send_confirmation_email, trip, **AUX),\n                workflow.execute_activity(award_loyalty_points, trip, **AUX),\n            )\n        except Exception:\n            itinerary.notices.append("a follow-up failed: check the email and the points")\n'), ('from datetime import timedelta', 'import asyncio\nfrom datetime import timedelta')], 'asyncio.gather (workflow.py line'),
    wrong("05", 'confirm_trip after the try (outside it)', 'workflow.py', [('            await workflow.execute_activity(confirm_trip, trip, **STEP)\n', ''), ('        itinerary = Itinerary(trip.trip_id, flight, hotel, car, payment)\n', '        await workflow.execute_activity(confirm_trip, trip, **STEP)\n        itinerary = Itinerary(trip.trip_id, flight, hotel, car, payment)\n')], 'confirm_trip is called outside the `try`'),
    wrong("05", "the points' outage made non-retryable in the activity", 'activities.py', [('    world.award_points(trip.trip_id, trip.customer, points, key=key(trip, "points"))\n', '    try:\n        world.award_points(trip.trip_id, trip.customer, points, key=key(trip, "points"))\n    except world.ServiceUnavailable as err:\n        raise ApplicationError(str(err), non_retryable=True) from err\n')], 'the activity made the outage final'),
    wrong("05", 'the email never sent', 'workflow.py', [('        try:\n            await workflow.execute_activity(send_confirmation_email, trip, **AUX)\n        except Exception:\n            itinerary.notices.append("confirmation email not sent: send it by hand")\n', '')], 'send_confirmation_email never ran'),
    wrong("05", 'the Itinerary with hotel and car swapped', 'workflow.py', [('        itinerary = Itinerary(trip.trip_id, flight, hotel, car, payment)\n', '        itinerary = Itinerary(trip.trip_id, flight, car, hotel, payment)\n')], 'the Itinerary must name each booking in its own field'),
    right("05", 'notices in a list of their own, handed to Itinerary(...)', 'workflow.py', [('        itinerary = Itinerary(trip.trip_id, flight, hotel, car, payment)\n', '        notices: list[str] = []\n'), ('itinerary.notices.append(', 'notices.append('), ('        return itinerary\n', '        return Itinerary(trip.trip_id, flight, hotel, car, payment, notices)\n')]),
]
