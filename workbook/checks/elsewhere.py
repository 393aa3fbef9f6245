"""Attempts of an activity run in another Python process, as on another worker.

A retry does not always run where the first attempt ran: the worker may have been
restarted, or another worker on the task queue may take it. So whatever an activity
makes for its step (an idempotency key above all) must be the same in every process:
a uuid made once at import, a counter, a dict of keys made so far, the process id or
Python's hash() of a string all change. Checks that prove it (exercise 04) have chosen
attempts run by a Runner: a fresh ``python -m workbook.checks.elsewhere FOLDER``, which
imports the learner's activities.py anew and runs each requested activity with
Temporal's ActivityEnvironment, given the same activity.info() the worker had
(workflow id, attempt...). It reaches the same travel world ($WORKBOOK_DB).

A restarted worker also runs later: that process's clock runs RESTART_LATER ahead (about
a day: time.time(), datetime.now() and the like), so a key made from the clock, to the
second or to the day, is not the same there either.

Requests and answers are pickled, one per line pair, over the child's stdin and stdout.
"""

from __future__ import annotations

import asyncio
import base64
import os
import pickle
import sys
from pathlib import Path

STARTS_WITHIN = 30.0  # seconds for the other process to import the activities (a loaded machine)
ANSWERS_WITHIN = 30.0  # seconds for one attempt there
# How far the other process's clock runs ahead: a day, an hour, a minute and a second and a
# half, so that a clock read to the second, the minute, the hour or the day differs there.
RESTART_LATER = 86400 + 3600 + 60 + 1.5
CLOCK_ENV_VAR = "WORKBOOK_CLOCK_AHEAD"


class Runner:
    """One other process for one folder's activities; start() before the first run()."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.process: asyncio.subprocess.Process | None = None
        self.lock = asyncio.Lock()

    async def start(self) -> None:
        env = dict(os.environ)
        env.pop("PYTHONHASHSEED", None)  # a process of its own: its own hash() of a string
        env[CLOCK_ENV_VAR] = str(RESTART_LATER)  # and a clock of its own: it runs later
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "workbook.checks.elsewhere", str(self.folder),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            env=env, cwd=self.folder,
        )  # fmt: skip
        ready = await asyncio.wait_for(self.process.stdout.readline(), STARTS_WITHIN)
        if ready.strip() != b"ready":
            raise RuntimeError(f"the other worker process did not start: {_decode(ready) if ready else 'it exited'}")

    async def run(self, info, args):
        """Run the activity ``info`` names with ``args`` there; its result, or its error raised here."""
        async with self.lock:
            self.process.stdin.write(_encode((info, list(args))) + b"\n")
            await self.process.stdin.drain()
            answer = _decode(await asyncio.wait_for(self.process.stdout.readline(), ANSWERS_WITHIN))
        kind, value = answer
        if kind == "ok":
            return value
        raise _rebuilt(*value)

    async def stop(self) -> None:
        if self.process and self.process.returncode is None:
            self.process.stdin.close()
            try:
                await asyncio.wait_for(self.process.wait(), 5)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()


def _encode(value) -> bytes:
    return base64.b64encode(pickle.dumps(value))


def _decode(line: bytes):
    return pickle.loads(base64.b64decode(line.strip()))


def _described(err: BaseException) -> tuple:
    """An error as plain values, so that it crosses the pipe whatever its class."""
    from temporalio.exceptions import ApplicationError

    if isinstance(err, ApplicationError):
        return ("ApplicationError", err.message, err.type, err.non_retryable)
    return (type(err).__module__, str(err), type(err).__name__, False)


def _rebuilt(module: str, message: str, kind: str | None, non_retryable: bool) -> BaseException:
    from temporalio.exceptions import ApplicationError

    from workbook import world

    if module == "ApplicationError":
        return ApplicationError(message, type=kind, non_retryable=non_retryable)
    cls = getattr(world, kind or "", None)  # a travel-world error the activity let through
    if isinstance(cls, type) and issubclass(cls, world.WorldError):
        return cls(message)
    return ApplicationError(message, type=kind)


def main(folder: str) -> None:
    from temporalio.testing import ActivityEnvironment

    from workbook.checks import activity_names
    from workbook.loader import loaded

    _clock_ahead(float(os.environ.get(CLOCK_ENV_VAR) or 0))  # before the learner's imports
    with loaded(Path(folder), ("shared", "activities")) as modules:
        found = {}
        for obj in vars(modules.activities).values():
            names = activity_names([obj])
            if names:
                found[names[0]] = obj
        print("ready", flush=True)
        for line in sys.stdin.buffer:
            info, args = _decode(line)
            environment = ActivityEnvironment()
            environment.info = info
            try:
                answer = ("ok", asyncio.run(_run(environment, found[info.activity_type], args)))
            except BaseException as err:  # everything goes back to the worker, as the worker would see it
                answer = ("error", _described(err))
            sys.stdout.buffer.write(_encode(answer) + b"\n")
            sys.stdout.flush()


def _clock_ahead(seconds: float) -> None:
    """Make the learner's code read a clock ``seconds`` ahead: the time module's clocks and
    datetime's now(), utcnow() and today(). The libraries already imported keep theirs."""
    if not seconds:
        return
    import datetime
    import time

    ahead_ns = int(seconds * 1e9)
    for name in ("time", "monotonic", "perf_counter"):
        real = getattr(time, name)
        setattr(time, name, lambda real=real: real() + seconds)
        real_ns = getattr(time, f"{name}_ns")
        setattr(time, f"{name}_ns", lambda real_ns=real_ns: real_ns() + ahead_ns)
    for name in ("localtime", "gmtime", "ctime"):
        real = getattr(time, name)
        setattr(time, name, lambda when=None, real=real: real(time.time() if when is None else when))
    real_strftime, real_asctime = time.strftime, time.asctime
    time.strftime = lambda format, when=None: real_strftime(format, time.localtime() if when is None else when)
    time.asctime = lambda when=None: real_asctime(time.localtime() if when is None else when)
    later = datetime.timedelta(seconds=seconds)

    class _DateTime(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return super().now(tz) + later

        @classmethod
        def utcnow(cls):
            return super().utcnow() + later

        @classmethod
        def today(cls):
            return super().today() + later

    class _Date(datetime.date):
        @classmethod
        def today(cls):
            return cls.fromordinal(_DateTime.now().toordinal())

    # Pickled by name (datetime.datetime), so what crosses the pipe is a plain datetime.
    for cls, name in ((_DateTime, "datetime"), (_Date, "date")):
        cls.__name__ = cls.__qualname__ = name
        cls.__module__ = "datetime"
        setattr(datetime, name, cls)


async def _run(environment, fn, args):
    result = environment.run(fn, *args)
    return await result if asyncio.iscoroutine(result) else result


if __name__ == "__main__":
    main(sys.argv[1])
