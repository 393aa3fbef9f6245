"""Screenshots of the Temporal Web UI after a few capstone trips, for the README.

    sudo apt-get update && sudo apt-get install -y chromium    # Debian/Ubuntu, once
    python solutions/screenshots.py

It starts its own dev server with the Web UI on free ports, books three trips in a fresh
travel world (one booked, PaymentFail-Test with its full chain of undos, Presidential-Suite
failing at the hotel) with the worker in this process, then has a headless Chromium save
into solutions/screenshots/ the workflow list and PaymentFail-Test's event history (all
events, compact) and timeline. No browser download and no Python package beyond the
workbook's: Chromium is driven through its DevTools protocol on a pipe.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import select
import subprocess
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
WINDOW = (1400, 1000)
TRIPS = ("PaymentFail-Test", "Presidential-Suite")  # and one trip that is booked
# The network is closed: without these, Chromium waits on connections that never come.
QUIET_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


class Browser:
    """Headless Chromium driven through the DevTools protocol on a pipe, with the standard
    library only: with --remote-debugging-pipe it reads JSON commands on file descriptor 3
    and answers on 4, each message ended by a NUL byte."""

    def __init__(self, profile_dir: str):
        to_browser, self._to_browser = os.pipe()
        self._from_browser, from_browser = os.pipe()
        # bash hands our two pipe ends to Chromium as its descriptors 3 and 4 (sh may not:
        # dash takes one-digit descriptors only).
        shell = f'exec "$0" "$@" 3<&{to_browser} 4>&{from_browser}'
        flags = [*QUIET_FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile_dir}",
                 f"--window-size={WINDOW[0]},{WINDOW[1]}", "about:blank"]  # fmt: skip
        self.process = subprocess.Popen(
            ["bash", "-c", shell, str(CHROMIUM), *flags], pass_fds=(to_browser, from_browser),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(to_browser)
        os.close(from_browser)
        self._next_id, self._buffer = 0, b""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        width, height = WINDOW
        self.call("Emulation.setDeviceMetricsOverride", self.session, width=width, height=height,
                  deviceScaleFactor=1, mobile=False)  # fmt: skip

    def call(self, method: str, session: str | None = None, timeout: float = 30, **params) -> dict:
        """Send one command and return its result; events that arrive meanwhile are dropped."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium exited")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def evaluate(self, expression: str):
        """Run JavaScript in the page; returns its value."""
        reply = self.call("Runtime.evaluate", self.session, expression=expression, returnByValue=True)
        return reply["result"].get("value")

    def wait_until(self, shown, what: str, within: float = 30) -> None:
        """Wait until ``shown(text of the page)`` holds: the UI is a single-page app, so
        a page that has loaded is a spinner at first, and its data arrives later."""
        deadline = time.monotonic() + within
        while not shown(text := self.evaluate("document.body.innerText") or ""):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Web UI never showed {what}; it shows:\n{text[:500]}")
            time.sleep(0.25)
        time.sleep(1)  # let what was drawn last settle (fonts, a fading spinner)

    def open(self, url: str, showing: list[str]) -> None:
        """Go to ``url`` and wait until the page shows every text in ``showing``."""
        self.call("Page.navigate", self.session, url=url)
        self.wait_until(lambda text: all(words in text for words in showing), " and ".join(showing))

    def scroll_to(self, heading: str) -> None:
        """Scroll the page so that the section with this heading is at the top."""
        self.evaluate(f"""[...document.querySelectorAll('h1, h2, h3')]
            .find(h => h.innerText.trim().startsWith({json.dumps(heading)}))?.scrollIntoView()""")
        time.sleep(0.5)

    def screenshot(self, path: Path) -> Path:
        png = self.call("Page.captureScreenshot", self.session, format="png")["data"]
        path.write_bytes(base64.b64decode(png))
        return path

    def close(self) -> None:
        os.close(self._to_browser)  # Chromium exits when its command pipe closes
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._from_browser)


@asynccontextmanager
async def dev_server_with_ui():
    """A dev server of our own on free ports (never 7233 and 8233, which a learner's server
    may hold): yields a client and the Web UI's address; stops the server after."""
    from temporalio.client import Client

    from workbook.server import ServerUnreachable, _stop, dev_server_command, free_port, quiet_runtime

    port, ui_port = free_port(), free_port()
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(dev_server_command(port, ui_port, None), stdout=log, stderr=log,
                                   start_new_session=True)  # fmt: skip
        try:
            for _ in range(300):  # it answers within a few seconds; give up after 30
                if process.poll() is not None:
                    log.seek(0)
                    raise ServerUnreachable(f"the dev server exited at once:\n{log.read()[-1000:]}")
                try:
                    client = await Client.connect(f"localhost:{port}", runtime=quiet_runtime())
                    break
                except RuntimeError:
                    await asyncio.sleep(0.1)
            else:
                raise ServerUnreachable(f"the dev server did not answer on port {port} within 30 s")
            yield client, f"http://localhost:{ui_port}"
        finally:
            _stop(process)


async def book_trips(client) -> list[str]:
    """One trip that is booked, then TRIPS, in a fresh world, with the capstone's worker
    in this process. Returns their workflow ids, in that order."""
    from client import book, line
    from scenarios import named
    from seed import fresh_world, load_seed
    from worker import create_worker

    seed = load_seed()
    scenarios = named(seed, random.Random(42))  # seed 42: the client's default story
    booked = next(s for s in scenarios if not s.outages)  # meets no outage: it is booked
    chosen = [booked] + [s for name in TRIPS for s in scenarios if s.name == name]
    fresh_world(seed)
    async with create_worker(client):
        outcomes = await asyncio.gather(*(book(client, scenario) for scenario in chosen))
    for number, outcome in enumerate(outcomes, 1):
        print(line(number, len(outcomes), outcome, seed))
    return [o.scenario.request.trip_id for o in outcomes]


def take_screenshots(browser: Browser, workflows: str, trip_ids: list[str], undone_trip: str) -> list[Path]:
    """The workflow list, then the fully undone trip: its history, compact, and timeline."""
    undos = ["refund_payment", "cancel_car", "cancel_hotel", "cancel_flight"]
    shots = []

    def shot(name: str) -> None:
        shots.append(browser.screenshot(OUT_DIR / name))

    browser.open(workflows, showing=trip_ids)
    shot("workflow-list.png")
    browser.open(f"{undone_trip}/history", showing=undos)
    browser.scroll_to("Event History")
    shot("compensated-history.png")
    # Compact: one row per activity. It hides the workflow tasks: wait for them to go.
    browser.evaluate("document.querySelector('[data-testid=\"compact\"]').click()")
    browser.wait_until(lambda text: "Workflow Task Started" not in text, "the compact view")
    browser.scroll_to("Event History")
    shot("compensated-compact.png")
    browser.open(f"{undone_trip}/timeline", showing=undos)
    browser.scroll_to("Timeline")
    shot("compensated-timeline.png")
    return shots


async def main() -> int:
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: install it with `sudo apt-get update && sudo apt-get install -y chromium`")
        return 1
    # A travel world of its own, so that a client.py run elsewhere keeps its own.
    os.environ.setdefault("WORKBOOK_DB", str(HERE.parent / ".workbook" / "screenshots.db"))
    OUT_DIR.mkdir(exist_ok=True)
    async with dev_server_with_ui() as (client, ui):
        trip_ids = await book_trips(client)
        undone = trip_ids[1]  # PaymentFail-Test: refund, cancel car, cancel hotel, cancel flight
        run_id = (await client.get_workflow_handle(undone).describe()).run_id
        workflows = f"{ui}/namespaces/default/workflows"
        with tempfile.TemporaryDirectory() as profile:  # a new, empty profile each time
            browser = Browser(profile)
            try:
                shots = take_screenshots(browser, workflows, trip_ids, f"{workflows}/{undone}/{run_id}")
            finally:
                browser.close()
    for path in shots:
        print(f"wrote {path.relative_to(HERE.parent)} ({path.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))  # (python puts it there already; `python -c` would not)
    from workbook.entry import run_and_exit

    run_and_exit(main)
