"""The mistakes catalogue: realistic wrong answers and correct alternatives, per exercise
(01-03 here; each later exercise in tests/catalogue_NN.py, with the same wrong/right).

Each entry edits a copy of the exercise's solution the way a student would write it:
a list of (text, replacement) pairs applied to one file. A wrong answer names the words
the first failing check's message must contain (the first thing the student reads); a
correct alternative must pass every check. tests/test_mistakes.py runs them all.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    exercise: str
    name: str
    file: str
    edits: tuple[tuple[str, ...], ...]  # (old, new) in ``file``; (file, old, new) in another file
    words: str = ""  # empty: a correct alternative, which must pass

    @property
    def wrong(self) -> bool:
        return bool(self.words)


def wrong(exercise, name, file, edits, words) -> Answer:
    return Answer(exercise, name, file, tuple(edits), words)


def right(exercise, name, file, edits) -> Answer:
    return Answer(exercise, name, file, tuple(edits))


# --- exercise 01: the rollback by hand -------------------------------------------------

ROLLBACK = """    except Exception:
        console.print(f"  Rolling back {len(done)} step(s), newest first:")
        for step in reversed(done):
            undo(trip, step)
        raise"""


def rollback(body: str, catch: str = "except Exception:") -> list[tuple[str, str]]:
    return [(ROLLBACK, f"    {catch}\n" + body)]


EX01 = [
    wrong("01", "undo oldest first", "starter.py", [("for step in reversed(done):", "for step in done:")], "newest step first"),
    wrong("01", "no re-raise", "starter.py", rollback("        for step in reversed(done):\n            undo(trip, step)\n"), "re-raise the error"),
    wrong("01", "except too narrow", "starter.py", rollback("        for step in reversed(done):\n            undo(trip, step)\n        raise\n", "except world.NoAvailability:"), "does not catch ServiceUnavailable"),
    wrong("01", "sys.exit() instead of raise", "starter.py", rollback("        for step in reversed(done):\n            undo(trip, step)\n        import sys; sys.exit(1)\n"), "`sys.exit()` ends the program"),
    wrong("01", "only the newest step undone", "starter.py", rollback("        undo(trip, done[-1])\n        raise\n"), "never ran"),
    wrong("01", "a new error instead of the original", "starter.py", rollback("        for step in reversed(done):\n            undo(trip, step)\n        raise RuntimeError('booking failed')\n"), "bare `raise`"),
    wrong("01", "rollback in finally (also on success)", "starter.py", [(ROLLBACK, "    finally:\n        for step in reversed(done):\n            undo(trip, step)")], "undo only when a step fails"),
    wrong("01", "raise KeyboardInterrupt", "starter.py", rollback("        for step in reversed(done):\n            undo(trip, step)\n        raise KeyboardInterrupt\n"), "ends the program"),
    right("01", "pop until empty", "starter.py", rollback("        while done:\n            undo(trip, done.pop())\n        raise\n")),
    right("01", "slice backwards, raise err", "starter.py", rollback("        for step in done[::-1]:\n            undo(trip, step)\n        raise err\n", "except Exception as err:")),
    right("01", "except BaseException", "starter.py", rollback("        for step in reversed(done):\n            undo(trip, step)\n        raise\n", "except BaseException:")),
]

# --- exercise 02: the first workflow ----------------------------------------------------

FINAL = """    except world.BookingError as err:
        raise ApplicationError(str(err), type=type(err).__name__, non_retryable=True) from err"""

EX02 = [
    wrong("02", "only a sold-out item is final", "activities.py", [("except world.BookingError as err:", "except world.NoAvailability as err:")], "not only some"),
    wrong("02", "non_retryable forgotten", "activities.py", [(", non_retryable=True) from err", ") from err")], "non-retryable"),
    wrong("02", "every error made final", "activities.py", [("except world.BookingError as err:", "except Exception as err:")], "not retried at all"),
    wrong("02", "the business error swallowed", "activities.py", [(FINAL, "    except world.BookingError:\n        pass")], "swallow"),
    wrong("02", "a single attempt", "workflow.py", [("maximum_attempts=3", "maximum_attempts=1")], "not retried at all"),
    wrong("02", "no timeout", "workflow.py", [("    start_to_close_timeout=timedelta(seconds=10),\n", "")], "no timeout"),
    wrong("02", "two attempts: too few for a short outage", "workflow.py", [("maximum_attempts=3", "maximum_attempts=2")], "at least 3 attempts"),
    wrong("02", "maximum_attempts=0 (read as none) and business errors retryable", "workflow.py", [
        ("maximum_attempts=3", "maximum_attempts=0"), ("activities.py", ", non_retryable=True) from err", ") from err"),
    ], "would be tried forever: its retry policy has maximum_attempts=0"),
    wrong("02", "errors final, but the workflow asks again after a failure", "workflow.py", [
        ("from temporalio.common import RetryPolicy\n", "from temporalio.common import RetryPolicy\nfrom temporalio.exceptions import ActivityError\n"),
        ("        car = await workflow.execute_activity(book_car, trip, **STEP)\n",
         "        for attempt in range(3):  # a car may come free: ask again, a second apart\n"
         "            try:\n                car = await workflow.execute_activity(book_car, trip, **STEP)\n                break\n"
         "            except ActivityError:\n                if attempt == 2:\n                    raise\n"
         "                await workflow.sleep(1)\n"),
    ], "your workflow called it 3 times"),
    right("02", "unlimited attempts, business errors final", "workflow.py", [("RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)", "RetryPolicy(initial_interval=timedelta(seconds=1))")]),
    right("02", "each business error listed, no type", "activities.py", [(FINAL, "    except (world.NoAvailability, world.UnknownItem, world.InvalidCardNumber, world.CardDeclined) as err:\n        raise ApplicationError(str(err), non_retryable=True)")]),
]

# --- exercise 03: compensations --------------------------------------------------------

LOOP = """            for undo in reversed(compensations):
                await workflow.execute_activity(undo, trip, **UNDO)"""
IMPORTS = "from temporalio.common import RetryPolicy"
STEP_CALLS = {
    "flight": "flight = await workflow.execute_activity(book_flight, trip, **STEP)",
    "hotel": "hotel = await workflow.execute_activity(book_hotel, trip, **STEP)",
    "car": "car = await workflow.execute_activity(book_car, trip, **STEP)",
    "payment": "payment = await workflow.execute_activity(charge_payment, trip, **STEP)",
}
UNDOS = {"flight": "cancel_flight", "hotel": "cancel_hotel", "car": "cancel_car", "payment": "refund_payment"}
CONFIRM = """            await workflow.execute_activity(confirm_trip, trip, **STEP)
            return Itinerary(trip.trip_id, flight, hotel, car, payment)
        except Exception:"""


def each_registration(replace) -> list[tuple[str, str]]:
    """An edit of every `compensations.append(undo)` line and the step below it."""
    return [
        (f"compensations.append({UNDOS[step]})\n            {call}", replace(UNDOS[step], call))
        for step, call in STEP_CALLS.items()
    ]


EX03 = [
    wrong("03", "undos oldest first", "workflow.py", [("reversed(compensations)", "compensations")], "newest step first"),
    wrong("03", "an undo never registered", "workflow.py", [("            compensations.append(cancel_hotel)\n", "")], "cancel_hotel never ran"),
    wrong("03", "an undo not awaited", "workflow.py", [("await workflow.execute_activity(undo", "workflow.execute_activity(undo")], "not awaited"),
    wrong("03", "the error swallowed", "workflow.py", [("            raise\n", "            return None\n")], "re-raise"),
    wrong("03", "undos registered after their step", "workflow.py", each_registration(lambda undo, call: f"{call}\n            compensations.append({undo})"), "before its step"),
    wrong("03", "undos run all at once (gather)", "workflow.py", [(LOOP, "            await asyncio.gather(*[workflow.execute_activity(u, trip, **UNDO) for u in reversed(compensations)])"), (IMPORTS, IMPORTS + "\nimport asyncio")], "one after another"),
    wrong("03", "undos started, not waited for", "workflow.py", [("await workflow.execute_activity(undo, trip, **UNDO)", "workflow.start_activity(undo, trip, **UNDO)")], "await"),
    wrong("03", "undos with the steps' retry policy", "workflow.py", [("workflow.execute_activity(undo, trip, **UNDO)", "workflow.execute_activity(undo, trip, **STEP)")], "never give up"),
    wrong("03", "undos capped at 10 attempts", "workflow.py", [("    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1)),\n)", "    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=10),\n)")], "maximum_attempts"),
    wrong("03", "undos bounded by a schedule_to_close_timeout", "workflow.py", [("workflow.execute_activity(undo, trip, **UNDO)", "workflow.execute_activity(undo, trip, start_to_close_timeout=timedelta(seconds=10), schedule_to_close_timeout=timedelta(seconds=30))")], "schedule_to_close_timeout"),
    wrong("03", "undos named by strings", "workflow.py", [("compensations.append(cancel_flight)", 'compensations.append("cancel_flight")')], "a typo in a string"),
    wrong("03", "copy-paste: the hotel's undo for the car", "workflow.py", [("compensations.append(cancel_car)", "compensations.append(cancel_hotel)")], "cancel_hotel ran twice, cancel_car never"),
    wrong("03", "the last step outside the try", "workflow.py", [(CONFIRM, "        except Exception:"), ("            raise\n", "            raise\n        await workflow.execute_activity(confirm_trip, trip, **STEP)\n        return Itinerary(trip.trip_id, flight, hotel, car, payment)\n")], "outside the `try`"),
    wrong("03", "except ApplicationError", "workflow.py", [("except Exception:", "except ApplicationError:"), (IMPORTS, IMPORTS + "\nfrom temporalio.exceptions import ApplicationError")], "does not catch activity failures: they arrive as `ActivityError`"),
    wrong("03", "except asyncio.CancelledError", "workflow.py", [("except Exception:", "except asyncio.CancelledError:"), (IMPORTS, IMPORTS + "\nimport asyncio")], "does not catch activity failures"),
    wrong("03", "a failure value returned", "workflow.py", [("            raise\n", "            return {'status': 'failed', 'undone': len(compensations)}\n")], "the workflow returned {'status': 'failed'"),
    wrong("03", "sys.exit() instead of raise", "workflow.py", [("            raise\n", "            import sys; sys.exit(1)\n")], "`sys.exit()` ends the program"),
    wrong("03", "raise KeyboardInterrupt", "workflow.py", [("            raise\n", "            raise KeyboardInterrupt\n")], "ends the program"),
    wrong("03", "sys.exit() in an undo", "activities.py", [('    world.cancel_car(key=key(trip, "car"))', '    import sys; sys.exit("cannot cancel")')], "`sys.exit()` ends the program"),
    wrong("03", "the undo's argument left out", "workflow.py", [("execute_activity(undo, trip, **UNDO)", "execute_activity(undo, **UNDO)")], "missing 1 required positional argument"),
    wrong("03", "options passed positionally", "workflow.py", [("execute_activity(undo, trip, **UNDO)", "execute_activity(undo, trip, UNDO)")], "wrong arguments"),
    wrong("03", "every undo registered up front", "workflow.py", [("        compensations = []  # the undos of the steps started so far, oldest first", "        compensations = [cancel_flight, cancel_hotel, cancel_car, refund_payment]"), *[(f"            compensations.append({u})\n", "") for u in UNDOS.values()]], "never started"),
    wrong("03", "only the newest undo run", "workflow.py", [(LOOP, "            await workflow.execute_activity(compensations[-1], trip, **UNDO)")], "never ran"),
    wrong("03", "raise before compensating", "workflow.py", [(LOOP, "            raise\n" + LOOP)], "before it compensates"),
    wrong("03", "business errors made retryable", "activities.py", [(", non_retryable=True) from err", ") from err")], "non_retryable=True"),
    wrong("03", "datetime.now() in the except block", "workflow.py", [("            # Re-raise so", "            import datetime; workflow.logger.info(datetime.datetime.now())\n            # Re-raise so")], "sandbox"),
    wrong("03", "only the flight's undo registered after its step", "workflow.py", [(f"            compensations.append(cancel_flight)\n            {STEP_CALLS['flight']}\n", f"            {STEP_CALLS['flight']}\n            compensations.append(cancel_flight)\n")], "before its step"),
    wrong("03", "retryable failures re-raised before compensating", "workflow.py", [("        except Exception:\n", "        except ActivityError as err:\n            if not (isinstance(err.cause, ApplicationError) and err.cause.non_retryable):\n                raise\n"), (IMPORTS, IMPORTS + "\nfrom temporalio.exceptions import ActivityError, ApplicationError")], "before it compensates"),
    wrong("03", "compensations run twice", "workflow.py", [(LOOP, LOOP + "\n" + LOOP)], "ran twice"),
    wrong("03", "the list reassigned instead of appended", "workflow.py", [("compensations.append(cancel_hotel)", "compensations = [cancel_hotel]"), ("compensations.append(cancel_car)", "compensations = [cancel_car]")], "never ran"),
    right("03", "pop until empty", "workflow.py", [(LOOP, "            while compensations:\n                undo = compensations.pop()\n                await workflow.execute_activity(undo, trip, **UNDO)")]),
    right("03", "slice backwards, raise err", "workflow.py", [("reversed(compensations)", "compensations[::-1]"), ("        except Exception:", "        except Exception as err:"), ("            raise\n", "            raise err\n")]),
    right("03", "insert at the front, walk forwards", "workflow.py", [*[(f"compensations.append({u})", f"compensations.insert(0, {u})") for u in UNDOS.values()], ("reversed(compensations)", "compensations")]),
    right("03", "except BaseException", "workflow.py", [("except Exception:", "except BaseException:")]),
    right("03", "except ActivityError", "workflow.py", [("except Exception:", "except ActivityError:"), (IMPORTS, IMPORTS + "\nfrom temporalio.exceptions import ActivityError")]),
    right("03", "undo and argument registered together", "workflow.py", [*[(f"compensations.append({u})", f"compensations.append(({u}, trip))") for u in UNDOS.values()], (LOOP, "            for undo, argument in reversed(compensations):\n                await workflow.execute_activity(undo, argument, **UNDO)")]),
    right("03", "start_activity, then await its handle", "workflow.py", [("await workflow.execute_activity(undo, trip, **UNDO)", "handle = workflow.start_activity(undo, trip, **UNDO)\n                await handle")]),
    right("03", "undos with the default retry policy", "workflow.py", [("workflow.execute_activity(undo, trip, **UNDO)", "workflow.execute_activity(undo, trip, start_to_close_timeout=timedelta(seconds=30))")]),
]

def _later_exercises() -> list[Answer]:
    """Exercises 04 on keep their answers beside this file, in catalogue_NN.py (ANSWERS)."""
    import importlib
    from pathlib import Path

    found = []
    for path in sorted(Path(__file__).parent.glob("catalogue_[0-9][0-9].py")):
        found += importlib.import_module(path.stem).ANSWERS
    return found


ANSWERS = EX01 + EX02 + EX03 + _later_exercises()
