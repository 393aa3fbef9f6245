"""Exercise 06's catalogue: realistic wrong answers (each with the words its first failing
check must say) and correct alternatives, as edits of a copy of the solution."""

from catalogue import right, wrong

TRY_EACH = """        try:
            await workflow.execute_activity(undo, trip, **UNDO)
        except ActivityError as err:
            failed.append(f"{undo.__name__} ({err.cause.message if err.cause else err})")
"""
LOOP = "    for undo in reversed(compensations):\n"
TODO_TRY = "        # TODO Part B: give each undo a try of its own: note a failure, go on to the next.\n"
NAMED = '                raise ApplicationError(f"compensation failed: {reason}; the trip needs a person")\n'
FLAG = "                await workflow.execute_activity(flag_for_attention, args=[trip, reason], **UNDO)\n"
RERAISE = "            raise  # a cancel ends the workflow Canceled; a failed step ends it Failed\n"
CATCH = "        except (Exception, asyncio.CancelledError):\n"
SHIELDED = "            failed = await run_to_the_end(undo_all(trip, compensations))\n"
WAIT_AGAIN = "        return await running  # the booking failed anyway: finish undoing, then report it\n"
SHIELD_BODY = """    running = asyncio.ensure_future(undos)
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
""" + WAIT_AGAIN
IF_FAILED = '            if failed:\n                reason = "; ".join(failed)\n' + FLAG + NAMED + RERAISE
REFUND = '''    with business_errors_are_final():
        world.refund(key=key(trip, "payment"))'''
ALL_FINAL = """    try:
        world.refund(key=key(trip, "payment"))
    except Exception as err:
        raise ApplicationError(str(err), non_retryable=True) from err"""
UNDO_POLICY = "    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1)),\n)"
ITINERARY = "            return Itinerary(trip.trip_id, flight, hotel, car, payment)\n"

ANSWERS = [
    # --- B1: the cancel caught as well as a failure, and re-raised ---
    wrong("06", "except Exception: a cancel as asyncio.CancelledError gets through", "workflow.py", [
        (CATCH, "        except Exception:\n"),
    ], "reached the workflow as asyncio.CancelledError, which is not an Exception: your `except Exception:`"),
    wrong("06", "only the cancel caught, not a failed step", "workflow.py", [
        (CATCH, "        except asyncio.CancelledError:\n"),
    ], "reached the workflow as an ActivityError"),
    wrong("06", "the cancel swallowed: the except block returns", "workflow.py", [(RERAISE, "            return None\n")], "expected Canceled"),
    wrong("06", "a new error instead of the cancel: ends Failed", "workflow.py", [
        (RERAISE, '            raise ApplicationError("booking stopped; every undo ran")\n'),
    ], "ended Failed; expected Canceled"),
    wrong("06", "an error raised even when every undo worked", "workflow.py", [
        ("            if failed:\n                reason", "            if True:\n                reason"),
    ], "expected Canceled"),
    # --- B2: each undo in a try of its own, catching what execute_activity raises ---
    wrong("06", "the first undo that fails stops the rest", "workflow.py", [
        (TRY_EACH, "        await workflow.execute_activity(undo, trip, **UNDO)\n"),
    ], "has no `try` of its own"),
    wrong("06", "one try around the whole loop", "workflow.py", [
        (LOOP + TODO_TRY + TRY_EACH, "    try:\n        for undo in reversed(compensations):\n"
         "            await workflow.execute_activity(undo, trip, **UNDO)\n    except ActivityError as err:\n"
         '        failed.append(f"{undo.__name__} ({err.cause.message if err.cause else err})")\n'),
    ], "the first undo that failed stopped the rest"),
    wrong("06", "an undo's failure noted, then re-raised at once", "workflow.py", [
        (TRY_EACH, TRY_EACH + "            raise\n"),
    ], "then raises it again"),
    wrong("06", "a break after the first failure", "workflow.py", [
        (TRY_EACH, TRY_EACH + "            break  # a person settles the rest\n"),
    ], "the first undo that failed stopped the rest"),
    wrong("06", "except ApplicationError around each undo", "workflow.py", [
        ("        except ActivityError as err:\n            failed.append", "        except ApplicationError as err:\n            failed.append"),
    ], "workflow.execute_activity raises ActivityError"),
    wrong("06", "undos with the steps' retry policy (STEP)", "workflow.py", [
        (TRY_EACH, TRY_EACH.replace("**UNDO", "**STEP")),
    ], "and its retry policy allows 3 attempts: an undo must retry an outage"),
    wrong("06", "undos that give up after 3 attempts", "workflow.py", [
        (UNDO_POLICY, "    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),\n)"),
    ], "and its retry policy allows 3 attempts: an undo must retry an outage"),
    wrong("06", "undos oldest first", "workflow.py", [(LOOP, "    for undo in compensations:\n")], "newest first"),
    wrong("06", "undos all at once (gather)", "workflow.py", [
        (LOOP + TODO_TRY + TRY_EACH, "    results = await asyncio.gather(*(workflow.execute_activity(undo, trip, **UNDO) "
         "for undo in reversed(compensations)), return_exceptions=True)\n"
         "    for undo, result in zip(reversed(compensations), results):\n"
         "        if isinstance(result, ActivityError):\n"
         '            failed.append(f"{undo.__name__} ({result.cause.message if result.cause else result})")\n'),
    ], "the undos ran all at once"),
    wrong("06", "every failure of the refund made final, an outage too", "activities.py", [
        (REFUND, ALL_FINAL),
    ], "and its failure was final: it was never retried"),
    wrong("06", "a refusal retried like an outage", "activities.py", [(REFUND, '''    world.refund(key=key(trip, "payment"))''')], "was retried without end for a refusal"),
    # --- B3: the undos shielded, and waited for again ---
    wrong("06", "the undos not shielded: the cancel reaches them", "workflow.py", [
        (SHIELDED, "            failed = await undo_all(trip, compensations)\n"),
    ], "cancelled the undo itself"),
    wrong("06", "asyncio.shield alone: the workflow ends while the undos run", "workflow.py", [
        (SHIELDED, "            failed = await asyncio.shield(undo_all(trip, compensations))\n"),
    ], "stops waiting as soon as the workflow is cancelled"),
    wrong("06", "each undo shielded, not the loop", "workflow.py", [
        (SHIELDED, "            failed = await undo_all(trip, compensations)\n"),
        (TRY_EACH, TRY_EACH.replace("await workflow.execute_activity(undo, trip, **UNDO)",
                                    "await asyncio.shield(workflow.execute_activity(undo, trip, **UNDO))")),
    ], "stops waiting as soon as the workflow is cancelled"),
    wrong("06", "the shielded coroutine awaited again", "workflow.py", [
        (SHIELD_BODY, "    try:\n        return await asyncio.shield(undos)\n    except asyncio.CancelledError:\n"
         "        return await undos\n"),
    ], "a coroutine is awaited twice"),
    wrong("06", "a fixed sleep after the cancel, then the task's result", "workflow.py", [
        (WAIT_AGAIN, "        await asyncio.sleep(3)  # give the undos time to finish\n        return running.result()\n"),
    ], "waited a fixed 3 s instead of waiting for the undos"),
    wrong("06", "a bounded wait for the undos after the cancel", "workflow.py", [
        (WAIT_AGAIN, "        await workflow.wait_condition(lambda: running.done(), timeout=timedelta(seconds=2))\n"
         "        return running.result()\n"),
    ], "waited a fixed 2 s instead of waiting for the undos"),
    # --- B4: flag the trip and name every failed undo; nothing flagged otherwise ---
    wrong("06", "failed undos flagged, then the step's own error re-raised", "workflow.py", [(NAMED, "")], "does not name the refund"),
    wrong("06", "failed undos flagged, then the workflow completes", "workflow.py", [(NAMED, "                return None\n")], "expected Failed"),
    wrong("06", "the error does not name the failed undo", "workflow.py", [
        (NAMED, '                raise ApplicationError("compensation failed; the trip needs a person")\n'),
    ], "does not name the refund"),
    wrong("06", "only the first failed undo named", "workflow.py", [('reason = "; ".join(failed)', "reason = failed[0]")], "which does not name cancel_car"),
    wrong("06", "nobody is told: no flag for a person", "workflow.py", [(FLAG, "")], "nobody was told"),
    wrong("06", "the error raised before the trip is flagged", "workflow.py", [(FLAG + NAMED, NAMED + FLAG)], "nobody was told"),
    wrong("06", "the trip flagged even when every undo worked", "workflow.py", [
        (IF_FAILED, '            reason = "; ".join(failed) or "booking stopped"\n' + FLAG.replace("    ", "", 1)
         + "            if failed:\n" + NAMED + RERAISE),
    ], "every undo worked, yet the trip was flagged for a person"),
    # --- the Itinerary still names the trip's bookings ---
    wrong("06", "flight and hotel swapped in the Itinerary", "workflow.py", [
        (ITINERARY, "            return Itinerary(trip.trip_id, hotel, flight, car, payment)\n"),
    ], "the workflow returned flight_reservation="),
    # --- correct alternatives ---
    right("06", "except BaseException", "workflow.py", [(CATCH, "        except BaseException:\n")]),
    right("06", "the cancel re-raised once the undos have finished", "workflow.py", [
        (WAIT_AGAIN, "        await running\n        raise\n"),
    ]),
    right("06", "wait_condition until the undos' task is done", "workflow.py", [
        (WAIT_AGAIN, "        await workflow.wait_condition(lambda: running.done())\n        return running.result()\n"),
    ]),
    # An undo retried by the workflow's own loop (UNDO with two attempts): right when the loop
    # stops at a refusal, wrong when it asks a refusal again forever. Judged by behaviour: an
    # outage as long as the undo's two attempts (observe.outlast), not by reading the policy.
    wrong("06", "every undo asked again by the workflow, a refusal too", "workflow.py", [
        (UNDO_POLICY, UNDO_POLICY.replace("seconds=1))", "seconds=1), maximum_attempts=2)")),
        (TODO_TRY + TRY_EACH, "        while True:  # an undo must not give up: ask again until it works\n"
         "            try:\n                await workflow.execute_activity(undo, trip, **UNDO)\n                break\n"
         "            except ActivityError:\n                await workflow.sleep(1)\n"),
    ], "your workflow asked for it again and again"),
    right("06", "two attempts per undo, the workflow asks again until a refusal", "workflow.py", [
        (UNDO_POLICY, UNDO_POLICY.replace("seconds=1))", "seconds=1), maximum_attempts=2)")),
        (TODO_TRY + TRY_EACH, "        while True:\n            try:\n"
         "                await workflow.execute_activity(undo, trip, **UNDO)\n                break\n"
         "            except ActivityError as err:\n"
         "                if isinstance(err.cause, ApplicationError) and err.cause.non_retryable:\n"
         "                    failed.append(f\"{undo.__name__} ({err.cause.message})\")\n                    break\n"
         "                await workflow.sleep(1)  # an outage: it passes\n"),
    ]),
    right("06", "shield in a loop until the task is done", "workflow.py", [
        (SHIELD_BODY, "    running = asyncio.create_task(undos)\n    while True:\n        try:\n"
         "            return await asyncio.shield(running)\n        except asyncio.CancelledError:\n            continue\n"),
    ]),
    right("06", "a separate except for the cancel", "workflow.py", [
        (CATCH, "        except asyncio.CancelledError:\n" + SHIELDED + IF_FAILED + "        except Exception:\n"),
    ]),
    right("06", "except Exception around each undo, other words", "workflow.py", [
        ("        except ActivityError as err:\n            failed.append(f\"{undo.__name__} ({err.cause.message if err.cause else err})\")",
         "        except Exception as err:\n            failed.append(f\"{undo.__name__}: {err.cause or err}\")"),
        (NAMED, '                raise ApplicationError("these undos failed: " + reason, non_retryable=True)\n'),
    ]),
]
