"""Exercise 07's catalogue: realistic wrong answers (each with the words its first failing
check must say) and correct alternatives, as edits of a copy of the solution."""

from catalogue import right, wrong

STARTS = "*(workflow.execute_activity(step, trip, **STEP) for step in (book_flight, book_hotel, book_car)),\n"
GATHER = """            results = await asyncio.gather(
                *(workflow.execute_activity(step, trip, **STEP) for step in (book_flight, book_hotel, book_car)),
                return_exceptions=True,
            )
"""
NO_EXCEPTIONS = GATHER.replace("                return_exceptions=True,\n", "")
RAISE_FIRST = """            for result in results:  # every booking has settled: now fail on the first error
                if isinstance(result, BaseException):
                    raise result
"""
REGISTER = "            compensations.append([cancel_flight, cancel_hotel, cancel_car])\n"
REFUND = "            compensations.append([refund_payment])\n"
GROUPS = "    for group in reversed(compensations):\n"
UNDO_GROUP = "        await asyncio.gather(*(undo(activity) for activity in group))\n"
CANCEL_TYPE = "    cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,\n"
EXCEPT = "        except (Exception, asyncio.CancelledError):\n"
STOPPED = '            workflow.logger.info("Booking stopped'
TASKS = "            tasks = [asyncio.ensure_future(workflow.execute_activity(step, trip, **STEP)) for step in (book_flight, book_hotel, book_car)]\n"
# Wait for the first failure, cancel the bookings still running, wait for them, then raise.
CANCEL_THE_REST = TASKS + """            done, pending = await workflow.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in pending:
                task.cancel()
            if pending:
                await workflow.wait(pending)
            results = [task.exception() or task.result() if not task.cancelled() else asyncio.CancelledError() for task in tasks]
"""
# The same, and a customer's cancel during the wait cancels the bookings and waits for them too.
CANCEL_THE_REST_ON_A_CANCEL_TOO = TASKS + """            try:
                done, pending = await workflow.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            except asyncio.CancelledError:
                for task in tasks:
                    task.cancel()
                await workflow.wait(tasks)
                raise
            for task in pending:
                task.cancel()
            if pending:
                await workflow.wait(pending)
            results = [task.exception() or task.result() if not task.cancelled() else asyncio.CancelledError() for task in tasks]
"""
SEQUENTIAL = """            results = [
                await workflow.execute_activity(book_flight, trip, **STEP),
                await workflow.execute_activity(book_hotel, trip, **STEP),
                await workflow.execute_activity(book_car, trip, **STEP),
            ]
"""
HANDLES = "            handles = [workflow.start_activity(step, trip, **STEP) for step in (book_flight, book_hotel, book_car)]\n"
FLAG = "                await workflow.execute_activity(flag_for_attention, args=[trip, reason], **UNDO)\n"
UNDO_TRY = """        except ActivityError as err:
            failed.append(f"{activity.__name__} ({err.cause.message if err.cause else err})")
"""

ANSWERS = [
    # --- B2: wait until every booking has settled ---------------------------------------------
    wrong("07", "gather without return_exceptions: the first failure leaves the car in flight", "workflow.py", [
        (GATHER, NO_EXCEPTIONS),
    ], "book_car was still running when you compensated, and its car stayed held"),
    wrong("07", "a wait that returns at the first exception", "workflow.py", [
        (GATHER, TASKS + "            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)\n"
                 "            results = [task.exception() or task.result() if task.done() else None for task in tasks]\n"),
    ], "return_when=FIRST_EXCEPTION"),
    wrong("07", "the handles awaited in turn: the first error raised at once", "workflow.py", [
        (GATHER, HANDLES + "            results = [await handle for handle in handles]\n"),
    ], "book_car was still running when you compensated"),
    wrong("07", "a fixed sleep before the undos, instead of waiting for the bookings", "workflow.py", [
        (GATHER, NO_EXCEPTIONS),
        (STOPPED, "            await workflow.sleep(5)  # give the other desks time to finish\n" + STOPPED),
    ], "waited a fixed time (a timer of 5 s)"),
    wrong("07", "a wait with a timeout: the bookings waited for 3 s at most", "workflow.py", [
        (GATHER, TASKS + "            await workflow.wait(tasks, timeout=3)\n"
                 "            results = [task.exception() or task.result() if task.done() else None for task in tasks]\n"),
    ], "stopped waiting for book_flight after a fixed time (a timer of 3 s)"),
    wrong("07", "the others cancelled and not waited for (ABANDON)", "workflow.py", [
        (GATHER, CANCEL_THE_REST),
        (CANCEL_TYPE, "    cancellation_type=ActivityCancellationType.ABANDON,\n"),
    ], "dropped book_car with cancellation_type=ABANDON"),
    wrong("07", "the others cancelled with the default cancellation type", "workflow.py", [
        (GATHER, CANCEL_THE_REST), (CANCEL_TYPE, ""),
    ], "without waiting for the desk to confirm it had stopped"),
    # --- B2: started together -------------------------------------------------------------------
    wrong("07", "bookings one after another", "workflow.py", [(GATHER, SEQUENTIAL)], "the bookings were started one after another"),
    wrong("07", "the flight and the hotel together, the car after them", "workflow.py", [
        (GATHER, GATHER.replace("(book_flight, book_hotel, book_car)", "(book_flight, book_hotel)")),
        ("            flight, hotel, car = results\n",
         "            flight, hotel = results\n            car = await workflow.execute_activity(book_car, trip, **STEP)\n"),
    ], "the bookings were started one after another"),
    wrong("07", "the payment gathered with the bookings", "workflow.py", [
        (STARTS, STARTS.replace("(book_flight, book_hotel, book_car)", "(book_flight, book_hotel, book_car, charge_payment)")),
        ("            flight, hotel, car = results\n", "            flight, hotel, car, payment = results\n"),
        ("            payment = await workflow.execute_activity(charge_payment, trip, **STEP)\n", ""),
    ], "comes after all three bookings"),
    # --- B3: raise the first error; the results in booking order ------------------------------
    wrong("07", "the errors gathered, then ignored", "workflow.py", [(RAISE_FIRST, "")], "yet the workflow went on to charge_payment"),
    wrong("07", "a new error instead of the booking's", "workflow.py", [
        (RAISE_FIRST, "            if any(isinstance(result, BaseException) for result in results):\n"
                      '                raise ApplicationError("one of the bookings failed")\n'),
    ], "hides why the trip was not booked"),
    wrong("07", "the results taken in the order the desks answered", "workflow.py", [
        (GATHER, "            results = []\n"
                 "            for answered in asyncio.as_completed([workflow.execute_activity(step, trip, **STEP) for step in (book_flight, book_hotel, book_car)]):\n"
                 "                try:\n                    results.append(await answered)\n"
                 "                except ActivityError as err:\n                    results.append(err)\n"),
    ], "in the order their desks answered"),
    wrong("07", "the car started before the hotel, the results unpacked as flight, hotel, car", "workflow.py", [
        (STARTS, STARTS.replace("(book_flight, book_hotel, book_car)", "(book_flight, book_car, book_hotel)")),
    ], "the Itinerary must name each booking in its own field"),
    # --- B1: the undos registered as one group, before the bookings start -----------------------
    wrong("07", "the undos registered after the bookings succeeded", "workflow.py", [
        (REGISTER, ""), (RAISE_FIRST, RAISE_FIRST + REGISTER),
    ], "no compensation ran after book_hotel failed"),
    wrong("07", "only the undos of the bookings that went through, registered after them", "workflow.py", [
        (REGISTER, ""),
        (GATHER, GATHER + "            compensations.append([undo for undo, result in zip((cancel_flight, cancel_hotel, cancel_car), results) if not isinstance(result, BaseException)])\n"),
    ], "its reply was lost, and cancel_car never ran"),
    wrong("07", "the refund registered with the bookings, before the payment started", "workflow.py", [
        (REFUND, ""), (REGISTER, REGISTER + REFUND),
    ], "undid a step that never started"),
    wrong("07", "the refund never registered", "workflow.py", [(REFUND, "")], "refund_payment never ran"),
    # --- C: the payment's undo first and alone, then the bookings' together ----------------------
    wrong("07", "the payment's undo after the bookings' (groups oldest first)", "workflow.py", [
        (GROUPS, "    for group in compensations:\n"),
    ], "started before refund_payment had finished"),
    wrong("07", "the refund in the bookings' group, all undone at once", "workflow.py", [
        (REFUND, "            compensations[-1].append(refund_payment)\n"),
    ], "started before refund_payment had finished"),
    wrong("07", "the undos of a group one after another (Part C not done)", "workflow.py", [
        (UNDO_GROUP, "        for activity in group:\n            await undo(activity)\n"),
    ], "the bookings' undos ran one after another"),
    wrong("07", "each undo registered as a group of its own", "workflow.py", [
        (REGISTER, "            compensations += [[cancel_flight], [cancel_hotel], [cancel_car]]\n"),
    ], "the bookings' undos ran one after another"),
    wrong("07", "the undos run with the steps' retry policy", "workflow.py", [
        ("            await workflow.execute_activity(activity, trip, **UNDO)\n", "            await workflow.execute_activity(activity, trip, **STEP)\n"),
    ], "runs with a retry policy that gives up"),
    wrong("07", "the group's undos not awaited", "workflow.py", [
        (UNDO_GROUP, "        asyncio.gather(*(undo(activity) for activity in group))\n"),
    ], "before they finished"),
    # --- C1 / A4: an undo that fails for good ----------------------------------------------------
    wrong("07", "the group's undos gathered bare: the refused refund stops the rest", "workflow.py", [
        (UNDO_GROUP, "        await asyncio.gather(*(workflow.execute_activity(activity, trip, **UNDO) for activity in group))\n"),
    ], "the undo that failed stopped the rest"),
    wrong("07", "the group's undos gathered with return_exceptions: the refusal dropped", "workflow.py", [
        (UNDO_GROUP, "        await asyncio.gather(*(workflow.execute_activity(activity, trip, **UNDO) for activity in group), return_exceptions=True)\n"),
    ], "nobody was told"),
    wrong("07", "an undo's failure passed over", "workflow.py", [(UNDO_TRY, "        except ActivityError:\n            pass\n")], "nobody was told"),
    wrong("07", "the refused refund never flagged", "workflow.py", [(FLAG, "")], "Call flag_for_attention(trip, reason)"),
    # --- A2 / A4: the customer's cancel ----------------------------------------------------------
    wrong("07", "except Exception: the cancel not caught", "workflow.py", [(EXCEPT, "        except Exception:\n")],
          "`except Exception` does not catch"),
    wrong("07", "the cancellation type dropped: a cancelled booking not waited for", "workflow.py", [(CANCEL_TYPE, "")],
          "without waiting for the desk to confirm it had stopped"),
    wrong("07", "asyncio.wait for all three: a cancel stops the wait, not the bookings", "workflow.py", [
        (GATHER, TASKS + "            await asyncio.wait(tasks)\n"
                 "            results = [task.exception() or task.result() for task in tasks]\n"),
    ], "your wait stopped at the cancel"),
    wrong("07", "started as handles, then waited for with workflow.wait", "workflow.py", [
        (GATHER, """            handles = [workflow.start_activity(step, trip, **STEP) for step in (book_car, book_hotel, book_flight)]
            await workflow.wait(handles)
            results = [handle.exception() or handle.result() for handle in reversed(handles)]
"""),
    ], "your wait stopped at the cancel"),
    wrong("07", "cancel the others at the first failure, but a customer's cancel stops the wait", "workflow.py", [(GATHER, CANCEL_THE_REST)],
          "your wait stopped at the cancel"),
    wrong("07", "the handles awaited in turn, each error kept: a cancel reaches only the first", "workflow.py", [
        (GATHER, HANDLES + """            results = []
            for handle in handles:
                try:
                    results.append(await handle)
                except ActivityError as err:
                    results.append(err)
"""),
    ], "the cancel was lost"),
    wrong("07", "the undos not shielded from a cancel", "workflow.py", [
        ("            failed = await run_to_the_end(undo_all(trip, compensations))\n", "            failed = await undo_all(trip, compensations)\n"),
    ], "cut the undos short"),
    wrong("07", "the failure swallowed: the workflow completes", "workflow.py", [
        ("            raise  # a cancel ends the workflow Canceled; a failed step ends it Failed\n", "            return None\n"),
    ], "ended Completed"),
    # --- correct alternatives ---------------------------------------------------------------------
    right("07", "a flat list of undos, the payment's first, then the rest together", "workflow.py", [
        (REGISTER, "            compensations += [cancel_flight, cancel_hotel, cancel_car]\n"),
        (REFUND, "            compensations.append(refund_payment)\n"),
        (GROUPS + "        # TODO Part C: run the undos of one group together (asyncio.gather), not one by one.\n" + UNDO_GROUP,
         "    if refund_payment in compensations:\n        await undo(refund_payment)\n"
         "    await asyncio.gather(*(undo(u) for u in compensations if u is not refund_payment))\n"),
    ]),
    right("07", "cancel the others at the first failure and wait, and so on a customer's cancel", "workflow.py", [
        (GATHER, CANCEL_THE_REST_ON_A_CANCEL_TOO),
    ]),
    right("07", "started as handles, then gathered", "workflow.py", [
        (GATHER, HANDLES + "            results = await asyncio.gather(*handles, return_exceptions=True)\n"),
    ]),
    right("07", "three calls written out, the errors listed, the first raised", "workflow.py", [
        (GATHER, """            results = await asyncio.gather(
                workflow.execute_activity(book_flight, trip, **STEP),
                workflow.execute_activity(book_hotel, trip, **STEP),
                workflow.execute_activity(book_car, trip, **STEP),
                return_exceptions=True,
            )
"""),
        (RAISE_FIRST, "            errors = [result for result in results if isinstance(result, Exception)]\n"
                      "            if errors:\n                raise errors[0]\n"),
    ]),
    right("07", "a group's undos with asyncio.wait", "workflow.py", [
        (UNDO_GROUP, "        await asyncio.wait([asyncio.ensure_future(undo(activity)) for activity in group])\n"),
    ]),
    right("07", "a group's undos in a TaskGroup", "workflow.py", [
        (UNDO_GROUP, "        async with asyncio.TaskGroup() as undos:\n            for activity in group:\n                undos.create_task(undo(activity))\n"),
    ]),
    right("07", "except BaseException, the last error raised", "workflow.py", [
        (EXCEPT, "        except BaseException:\n"),
        (RAISE_FIRST, "            for result in reversed(results):\n                if isinstance(result, BaseException):\n                    raise result\n"),
    ]),
]
