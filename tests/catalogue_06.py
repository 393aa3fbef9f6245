"""Exercise 06's catalogue: realistic wrong answers (each with the words its first failing
check must say) and correct alternatives, as edits of a copy of the solution."""

from catalogue import right, wrong

TRY_EACH = """        try:
            await workflow.execute_activity(undo, trip, **UNDO)
        except ActivityError as err:
            failed.append(f"{undo.__name__} ({err.cause.message if err.cause else err})")
"""
NAMED = '                raise ApplicationError(f"compensation failed: {reason}; the trip needs a person")\n'
FLAG = "                await workflow.execute_activity(flag_for_attention, args=[trip, reason], **UNDO)\n"
RERAISE = "            raise  # a cancel ends the workflow Canceled; a failed step ends it Failed\n"
CATCH = "        except (Exception, asyncio.CancelledError):\n"
SHIELDED = "            failed = await run_to_the_end(undo_all(trip, compensations))\n"
WAIT_AGAIN = "        return await running  # the booking failed anyway: finish undoing, then report it\n"
REFUND = '''    with business_errors_are_final():
        world.refund(key=key(trip, "payment"))'''

ANSWERS = [
    wrong("06", "the first undo that fails stops the rest", "workflow.py", [
        (TRY_EACH, "        await workflow.execute_activity(undo, trip, **UNDO)\n"),
    ], "the first undo that failed stopped the rest"),
    wrong("06", "an undo's failure noted, then re-raised at once", "workflow.py", [
        (TRY_EACH, TRY_EACH + "            raise\n"),
    ], "the first undo that failed stopped the rest"),
    wrong("06", "failed undos flagged, then the step's own error re-raised", "workflow.py", [(NAMED, "")], "does not name the refund"),
    wrong("06", "failed undos flagged, then the workflow completes", "workflow.py", [(NAMED, "                return None\n")], "expected Failed"),
    wrong("06", "the error does not name the failed undo", "workflow.py", [
        (NAMED, '                raise ApplicationError("compensation failed; the trip needs a person")\n'),
    ], "does not name the refund"),
    wrong("06", "nobody is told: no flag for a person", "workflow.py", [(FLAG, "")], "nobody was told"),
    wrong("06", "the error raised before the trip is flagged", "workflow.py", [(FLAG + NAMED, NAMED + FLAG)], "nobody was told"),
    wrong("06", "undos with the steps' retry policy (STEP)", "workflow.py", [
        (TRY_EACH, TRY_EACH.replace("**UNDO", "**STEP")),
    ], "runs with a retry policy that gives up"),
    wrong("06", "the cancel swallowed: the except block returns", "workflow.py", [(RERAISE, "            return None\n")], "expected Canceled"),
    wrong("06", "an error raised even when every undo worked", "workflow.py", [
        ("            if failed:\n                reason", "            if True:\n                reason"),
    ], "expected Canceled"),
    wrong("06", "a refusal retried like an outage", "activities.py", [(REFUND, '''    world.refund(key=key(trip, "payment"))''')], "was retried without end for a refusal"),
    right("06", "except BaseException", "workflow.py", [(CATCH, "        except BaseException:\n")]),
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
    right("06", "the cancel re-raised once the undos have finished", "workflow.py", [
        (WAIT_AGAIN, "        await running\n        raise\n"),
    ]),
    # A cancel that lands while an activity runs reaches the workflow as ActivityError (its
    # cause a temporalio CancelledError), which `except Exception` does catch: see the report.
    right("06", "except Exception (the cancel lands during an activity)", "workflow.py", [(CATCH, "        except Exception:\n")]),
]
