"""Exercise 07's catalogue: realistic wrong answers (each with the words its first failing
check must say) and correct alternatives, as edits of a copy of the solution."""

from catalogue import right, wrong

STARTS = "*(workflow.execute_activity(step, trip, **STEP) for step in (book_flight, book_hotel, book_car)),\n"
GATHER = """            results = await asyncio.gather(
                *(workflow.execute_activity(step, trip, **STEP) for step in (book_flight, book_hotel, book_car)),
                return_exceptions=True,
            )
"""
RAISE_FIRST = """            for result in results:  # every booking has settled: now fail on the first error
                if isinstance(result, BaseException):
                    raise result
"""
REGISTER = "            compensations.append([cancel_flight, cancel_hotel, cancel_car])\n"
REFUND = "            compensations.append([refund_payment])\n"
GROUPS = "    for group in reversed(compensations):\n"
UNDO_GROUP = "        await asyncio.gather(*(undo(activity) for activity in group))\n"
CANCEL_TYPE = "    cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,\n"
TASKS = "            tasks = [asyncio.ensure_future(workflow.execute_activity(step, trip, **STEP)) for step in (book_flight, book_hotel, book_car)]\n"
# Wait for the first failure, cancel the bookings still running, wait for them, then raise.
CANCEL_THE_REST = TASKS + """            done, pending = await workflow.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
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

ANSWERS = [
    wrong("07", "gather without return_exceptions: the first failure leaves the car in flight", "workflow.py", [
        (GATHER, GATHER.replace("                return_exceptions=True,\n", "")),
    ], "book_car was still running when you compensated, and its car stayed held"),
    wrong("07", "the others cancelled and not waited for (ABANDON)", "workflow.py", [
        (GATHER, CANCEL_THE_REST),
        (CANCEL_TYPE, "    cancellation_type=ActivityCancellationType.ABANDON,\n"),
    ], "book_car was still running when you compensated, and its car stayed held"),
    wrong("07", "the others cancelled with the default cancellation type", "workflow.py", [
        (GATHER, CANCEL_THE_REST), (CANCEL_TYPE, ""),
    ], "book_car was still running when you compensated, and its car stayed held"),
    wrong("07", "the refund registered with the bookings, before the payment started", "workflow.py", [
        (REFUND, ""), (REGISTER, REGISTER + REFUND),
    ], "undid a step that never started"),
    wrong("07", "bookings one after another", "workflow.py", [(GATHER, SEQUENTIAL)], "one after another"),
    wrong("07", "the payment gathered with the bookings", "workflow.py", [
        (STARTS, STARTS.replace("(book_flight, book_hotel, book_car)", "(book_flight, book_hotel, book_car, charge_payment)")),
        ("            flight, hotel, car = results\n", "            flight, hotel, car, payment = results\n"),
        ("            payment = await workflow.execute_activity(charge_payment, trip, **STEP)\n", ""),
    ], "comes after all three bookings"),
    wrong("07", "the undos registered after the bookings succeeded", "workflow.py", [
        (REGISTER, ""), (RAISE_FIRST, RAISE_FIRST + REGISTER),
    ], "no compensation ran after book_hotel failed"),
    wrong("07", "only the undos of the bookings that went through, registered after them", "workflow.py", [
        (REGISTER, ""),
        (GATHER, GATHER + "            compensations.append([undo for undo, result in zip((cancel_flight, cancel_hotel, cancel_car), results) if not isinstance(result, BaseException)])\n"),
    ], "its reply was lost, and cancel_car never ran"),
    wrong("07", "the errors gathered, then ignored", "workflow.py", [(RAISE_FIRST, "")], "yet the workflow went on to charge_payment"),
    wrong("07", "the payment's undo after the bookings' (groups oldest first)", "workflow.py", [
        (GROUPS, "    for group in compensations:\n"),
    ], "started before refund_payment had finished"),
    wrong("07", "the refund in the bookings' group, all undone at once", "workflow.py", [
        (REFUND, "            compensations[-1].append(refund_payment)\n"),
    ], "started before refund_payment had finished"),
    wrong("07", "the refund never registered", "workflow.py", [(REFUND, "")], "refund_payment never ran"),
    wrong("07", "the group's undos not awaited", "workflow.py", [
        (UNDO_GROUP, "        asyncio.gather(*(undo(activity) for activity in group))\n"),
    ], "before they finished"),
    wrong("07", "the failure swallowed: the workflow completes", "workflow.py", [
        ("            raise  # a cancel ends the workflow Canceled; a failed step ends it Failed\n", "            return None\n"),
    ], "ended Completed"),
    right("07", "the undos of a group one after another", "workflow.py", [
        (UNDO_GROUP, "        for activity in group:\n            await undo(activity)\n"),
    ]),
    right("07", "cancel the others and wait for their cancellation", "workflow.py", [(GATHER, CANCEL_THE_REST)]),
    right("07", "started as handles, then waited for all", "workflow.py", [
        (GATHER, """            handles = [workflow.start_activity(step, trip, **STEP) for step in (book_car, book_hotel, book_flight)]
            await workflow.wait(handles)
            results = [handle.exception() or handle.result() for handle in reversed(handles)]
"""),
    ]),
    right("07", "a flat list of undos, the payment's first, then the rest together", "workflow.py", [
        (REGISTER, "            compensations += [cancel_flight, cancel_hotel, cancel_car]\n"),
        (REFUND, "            compensations.append(refund_payment)\n"),
        (GROUPS + "        # TODO Part C: run the undos of one group together (asyncio.gather), not one by one.\n" + UNDO_GROUP,
         "    if refund_payment in compensations:\n        await undo(refund_payment)\n"
         "    await asyncio.gather(*(undo(u) for u in compensations if u is not refund_payment))\n"),
    ]),
]
