"""The capstone's HTTP API (solutions/api.py), driven over real HTTP with httpx: the app
runs under uvicorn on a free port, with the capstone's worker, on the session's dev
server. Each answer is checked against the travel world and the trip's event history."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import uuid
from types import SimpleNamespace

import httpx
import pytest
import pytest_asyncio
import uvicorn

from workbook.audit import audit
from workbook.loader import loaded
from workbook.world import DB_ENV_VAR, REPO_ROOT

SOLUTIONS = REPO_ROOT / "solutions"
MODULES = ("shared", "seed", "observability", "activities", "workflow", "worker", "codec", "api_models", "api")
FLIGHT = "SG101-2027-01-21-Y"  # SFO to New York, economy (New York has one car of a kind a day:
# each test books on a day of its own)
HOTEL_CHAIN = ["cancel_car", "cancel_hotel", "cancel_flight"]


@pytest_asyncio.fixture(scope="module")
async def api(tmp_path_factory, dev_server):
    """The API at ``api.url``, its modules at ``api.m``, on a world of its own."""
    with pytest.MonkeyPatch.context() as patch:  # module-scoped: the world fixture is per test
        patch.setenv(DB_ENV_VAR, str(tmp_path_factory.mktemp("api") / "world.db"))
        with loaded(SOLUTIONS, MODULES) as m:
            seed = m.seed.load_seed()
            m.seed.fresh_world(seed)
            task_queue = f"api-{uuid.uuid4()}"
            listener = socket.socket()
            listener.bind(("127.0.0.1", 0))
            client = m.codec.secured(dev_server.client)  # every payload encrypted, as in production
            app = m.api.create_app(client, task_queue, seed)
            server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
            async with m.worker.create_worker(client, task_queue):
                serving = asyncio.create_task(server.serve(sockets=[listener]))
                while not server.started:
                    await asyncio.sleep(0.01)
                url = f"http://127.0.0.1:{listener.getsockname()[1]}"
                async with httpx.AsyncClient(base_url=url) as http:
                    yield SimpleNamespace(http=http, m=m, task_queue=task_queue, client=client, url=url,
                                          plain=dev_server.client)  # fmt: skip
                server.should_exit = True
                await serving


def steps(trip: dict) -> list[str]:
    return [run["activity"] for run in trip["timeline"] if not run["undo"]]


def undos(trip: dict) -> list[str]:
    return [run["activity"] for run in trip["timeline"] if run["undo"]]


async def test_book_answers_in_the_tutorials_shape(api):
    from workbook import world

    body = {"name": "John Doe", "attempts": 5, "car": "economy", "hotel": "standard", "flight": FLIGHT}
    answer = (await api.http.post("/book", json=body)).json()
    assert answer["result"]["status"] == "success", answer
    assert re.fullmatch(r"john-doe-\d{6}", answer["user_id"])
    held = {r.kind: r for r in world.reservations(answer["user_id"])}
    booked = answer["result"]["message"]
    assert booked == {"booked_car": held["car"].id, "booked_flight": held["flight"].id, "booked_hotel": held["hotel"].id}
    assert held["flight"].item == FLIGHT and {r.status for r in held.values()} == {"confirmed"}  # no longer pending
    assert audit(answer["user_id"]).clean and world.confirmed_trips() >= {answer["user_id"]}
    trip = (await api.http.get(f"/trips/{answer['user_id']}")).json()
    assert trip["status"] == "Completed" and trip["request"]["customer"] == "John Doe"
    assert trip["request"]["card_number"] == "…4242"  # not the whole number
    assert steps(trip)[:2] == ["store_booking_request", "book_flight"]
    assert sorted(steps(trip)[2:4]) == ["book_car", "book_hotel"]  # at once
    assert steps(trip)[4:] == ["charge_payment", "confirm_trip", "send_confirmation_email"]


async def test_a_failed_booking_is_undone_and_says_why(api):
    """The tutorial's failure: a hotel the desk cannot give. The flight and car are undone."""
    from workbook import world

    body = {"name": "Jane Smith", "attempts": 3, "car": "economy", "hotel": "invalid-hotel-id",
            "flight": "SG101-2027-01-23-Y"}  # fmt: skip
    answer = (await api.http.post("/book", json=body)).json()
    assert answer["result"]["status"] == "failure" and "invalid-hotel-id" in answer["result"]["message"], answer
    assert {r.status for r in world.reservations(answer["user_id"])} == {"cancelled"}
    trip = (await api.http.get(f"/trips/{answer['user_id']}")).json()
    assert trip["status"] == "Failed" and undos(trip) == HOTEL_CHAIN
    failed = [run for run in trip["timeline"] if run["outcome"] == "failed"]
    assert [run["activity"] for run in failed] == ["book_hotel"] and failed[0]["attempts"] == 1  # not retried


async def read_events(response: httpx.Response) -> list[tuple[str, dict]]:
    """The Server-Sent Events of a stream, as (event, data), until it ends."""
    received, name = [], "message"
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            received.append((name, json.loads(line.split(":", 1)[1])))
    return received


async def test_a_trip_streams_its_saga_as_server_sent_events(api):
    """POST /trips answers at once; the stream shows every step and undo as history
    records it, the undos after the refused card newest first, then the end."""
    order = {"customer": "Pay Fail", "origin": "SFO", "destination": "JFK", "day": "2027-01-22",
             "confirmation_code": "FORCE-PAYMENT-FAIL-7"}  # fmt: skip
    started = await api.http.post("/trips", json=order)
    assert started.status_code == 202, started.text
    trip_id = started.json()["trip_id"]
    async with api.http.stream("GET", started.json()["events_url"], timeout=60) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = await read_events(response)
    assert events[-1] == ("end", {"status": "Failed", "failure": "payment refused: forced failure for testing"})
    ended = [(name, data["activity"]) for name, data in events[:-1] if data["outcome"] != "running"]
    started_first = [data["activity"] for name, data in events if name != "end" and data["outcome"] == "running"]
    assert started_first[:2] == ["store_booking_request", "book_flight"]
    assert ("step", "charge_payment") in ended
    assert [activity for name, activity in ended if name == "undo"] == ["refund_payment", *HOTEL_CHAIN]
    trip = (await api.http.get(f"/trips/{trip_id}")).json()
    assert trip["status"] == "Failed" and undos(trip) == ["refund_payment", *HOTEL_CHAIN]
    assert {r["status"] for r in trip["itinerary"]} == {"cancelled"} and trip["payments"] == []


async def test_metrics_count_outcomes_and_undos(api):
    """/metrics counts the trips that ended, their sagas' durations and the undos that ran."""
    booked = {"name": "Has Car", "attempts": 2, "car": "suv", "hotel": "standard", "flight": "SG101-2027-01-24-Y"}
    undone = {"name": "Car Less", "attempts": 2, "car": "limousine", "hotel": "standard", "flight": "SG101-2027-01-24-Y"}
    assert (await api.http.post("/book", json=booked)).json()["result"]["status"] == "success"
    assert (await api.http.post("/book", json=undone)).json()["result"]["status"] == "failure"
    scraped = await api.http.get("/metrics")  # as `curl .../metrics` asks: no redirect to follow
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    scrape = scraped.text
    assert re.search(r'^travel_bookings_total\{outcome="booked"\} [1-9]', scrape, re.M), scrape
    assert re.search(r'^travel_bookings_total\{outcome="undone"\} [1-9]', scrape, re.M)
    assert re.search(r'^travel_compensations_total\{activity="cancel_flight"\} [1-9]', scrape, re.M)
    assert re.search(r'^travel_saga_duration_seconds_count\{outcome="undone"\} [1-9]', scrape, re.M)
    assert "travel_undos_flagged_total 0.0" in scrape and "process_cpu_seconds_total" in scrape


BAD = {
    "a missing field": ("/book", {"name": "A", "attempts": 3, "car": "economy", "hotel": "standard"}, 422, "flight"),
    "a wrong type": ("/book", {"name": "A", "attempts": "five", "car": "economy", "hotel": "standard",
                                "flight": FLIGHT}, 422, "attempts"),  # fmt: skip
    "too many attempts": ("/book", {"name": "A", "attempts": 1000, "car": "economy", "hotel": "standard",
                                    "flight": FLIGHT}, 422, "attempts"),  # fmt: skip
    "an unknown flight": ("/book", {"name": "A", "attempts": 3, "car": "economy", "hotel": "standard",
                                    "flight": "XX999-2027-01-21-Y"}, 422, "no flight"),  # fmt: skip
    "an unknown route": ("/trips", {"customer": "A", "origin": "SFO", "destination": "ATL", "day": "2027-01-21"},
                         422, "SFO to ATL"),  # fmt: skip
    "a day no flight flies": ("/trips", {"customer": "A", "origin": "SFO", "destination": "JFK",
                                         "day": "2026-01-21"}, 422, "does not fly"),  # fmt: skip
    "a misspelt field": ("/trips", {"customer": "A", "origin": "SFO", "destination": "JFK", "day": "2027-01-21",
                                    "nigths": 2}, 422, "nigths"),  # fmt: skip
    "not JSON": ("/book", "{name: A", 422, "JSON"),
    "JSON cut short": ("/book", '{"name": "John", "attempts": 3, "car"', 422, "not valid JSON: Expecting ':' delimiter (at character 37)"),
    "a list, not an object": ("/trips", [1, 2], 422, "body"),
    "a huge body": ("/book", {"name": "A" * 100_000}, 413, "over"),
}


@pytest.mark.parametrize("case", list(BAD))
async def test_bad_input_gets_a_clear_4xx_and_books_nothing(api, case):
    from workbook import world

    path, body, status, words = BAD[case]
    before = (world.reservations(), await api.client.count_workflows(f'TaskQueue="{api.task_queue}"'))
    sent = {"content": body, "headers": {"content-type": "application/json"}} if isinstance(body, str) else {"json": body}
    response = await api.http.post(path, **sent)
    assert response.status_code == status, response.text
    assert words in json.dumps(response.json()) and "error" in response.json()
    assert (world.reservations(), await api.client.count_workflows(f'TaskQueue="{api.task_queue}"')) == before


async def test_a_huge_body_sent_in_chunks_is_refused_too(api):
    async def chunks():  # no Content-Length: the size shows only while it is read
        for _ in range(64):
            yield b"x" * 1024

    response = await api.http.post("/book", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and "over" in response.json()["error"]


async def test_an_unknown_trip_is_a_404(api):
    for path in ("/trips/nobody-123456", "/trips/nobody-123456/events"):
        response = await api.http.get(path)
        assert response.status_code == 404 and "nobody-123456" in response.json()["error"]


async def test_the_openapi_page_works_offline(api):
    page = await api.http.get("/docs")
    assert page.status_code == 200 and "swagger-ui-bundle.js" in page.text
    script = re.search(r"src=['\"]([^'\"]*swagger-ui-bundle\.js)", page.text).group(1)
    assert script.startswith("/"), "served by the API itself, not a CDN"
    assert (await api.http.get(script)).status_code == 200
    spec = (await api.http.get("/openapi.json")).json()
    paths = spec["paths"]
    assert {"/book", "/trips", "/trips/{trip_id}", "/trips/{trip_id}/events", "/metrics"} <= set(paths)
    # The refusals as the API really answers them: {"error", "problems"}, never FastAPI's {"detail"}.
    refusal = {"$ref": "#/components/schemas/Refusal"}
    for path, codes in {"/book": ("413", "422"), "/trips": ("413", "422")}.items():
        for code in codes:
            assert paths[path]["post"]["responses"][code]["content"]["application/json"]["schema"] == refusal
    for path in ("/trips/{trip_id}", "/trips/{trip_id}/events"):
        assert paths[path]["get"]["responses"]["404"]["content"]["application/json"]["schema"] == refusal
    assert set(spec["components"]["schemas"]["Refusal"]["properties"]) == {"error", "problems"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_api_py_runs_as_a_program_with_the_sdks_metrics(clean_env, dev_server):
    """`python solutions/api.py` as the README runs it (here on the session's dev server):
    it books over HTTP with its own worker, and serves the Temporal SDK's metrics."""
    import subprocess
    import sys

    port, sdk_port, task_queue = free_port(), free_port(), f"api-main-{uuid.uuid4()}"
    env = dict(clean_env, TEMPORAL_ADDRESS=dev_server.client.service_client.config.target_host)
    with loaded(SOLUTIONS, ("shared", "seed")) as m:
        m.seed.fresh_world(m.seed.load_seed())
    command = [sys.executable, "api.py", "--port", str(port), "--sdk-metrics-port", str(sdk_port), "--task-queue", task_queue]
    program = subprocess.Popen(command, cwd=SOLUTIONS, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            for _ in range(300):  # it loads the seed, connects, then listens
                try:
                    await http.get("/openapi.json")
                    break
                except httpx.ConnectError:
                    assert program.poll() is None, program.communicate()[0]
                    await asyncio.sleep(0.1)
            body = {"name": "Ada", "attempts": 3, "car": "suv", "hotel": "deluxe", "flight": "SG101-2027-02-02-J"}
            answer = (await http.post("/book", json=body)).json()
            assert answer["result"]["status"] == "success", answer
            assert re.search(r'^travel_bookings_total\{outcome="booked"\} 1\.0$', (await http.get("/metrics")).text, re.M)
            sdk = (await httpx.AsyncClient().get(f"http://127.0.0.1:{sdk_port}/metrics")).text
    finally:
        program.terminate()
        printed = program.communicate(timeout=30)[0]
    assert "Travel API at" in printed, printed
    assert re.search(rf'^temporal_activity_execution_latency\S*\{{.*task_queue="{task_queue}"', sdk, re.M), sdk[:2000]


async def test_the_readmes_book_examples_answer_as_shown(api):
    """solutions/README.md's curl commands for POST /book, sent as written: the answers
    have the shapes, statuses and failure message the README shows (ids vary)."""
    text = (SOLUTIONS / "README.md").read_text()
    bodies = re.findall(r"/book [^\n]*\n\s+-d '(\{[^\n]*\})'\n```\n\n```json\n(.*?)\n```", text, re.S)
    assert len(bodies) == 2
    for sent, shown in bodies:
        answer = (await api.http.post("/book", content=sent, headers={"content-type": "application/json"})).json()
        shown = json.loads(shown)
        assert answer["result"]["status"] == shown["result"]["status"], answer
        assert re.sub(r"\d{6}$", "", answer["user_id"]) == re.sub(r"\d{6}$", "", shown["user_id"])
        if shown["result"]["status"] == "success":
            assert answer["result"]["message"].keys() == shown["result"]["message"].keys()
        else:
            assert answer["result"]["message"] == shown["result"]["message"]


# --- the sagas tutorial's own requests, and the encrypted histories ------------------------

TUTORIAL_SUCCESS = """{
    "name": "John Doe",
    "attempts": 5,
    "car": "valid-car-id",
    "hotel": "valid-hotel-id",
    "flight": "valid-flight-id"
}"""
TUTORIAL_FAILURE = """{
    "name": "Jane Smith",
    "attempts": 3,
    "car": "valid-car-id",
    "hotel": "invalid-hotel-id",
    "flight": "valid-flight-id"
}"""


async def test_the_tutorials_own_requests_book_a_trip_and_undo_one(api):
    """The two curl bodies of Temporal's sagas tutorial, byte for byte: the first books the
    seed's first flight, a standard room and an economy car; the second fails at the hotel
    (no hotel has invalid-hotel-id rooms) and is undone. Both in the tutorial's shapes."""
    from workbook import world

    readme = (SOLUTIONS / "README.md").read_text()
    assert re.findall(r"^-d '(\{.*?\})'$", readme, re.S | re.M) == [TUTORIAL_SUCCESS, TUTORIAL_FAILURE]
    headers = {"Content-Type": "application/json"}
    booked = (await api.http.post("/book", content=TUTORIAL_SUCCESS, headers=headers)).json()
    assert set(booked) == {"result", "user_id"} and re.fullmatch(r"john-doe-\d{6}", booked["user_id"])
    assert booked["result"]["status"] == "success"
    assert set(booked["result"]["message"]) == {"booked_car", "booked_flight", "booked_hotel"}
    held = {r.kind: r for r in world.reservations(booked["user_id"]) if r.status in world.HOLDING}
    assert held["flight"].item.startswith("SG101-") and held["car"].item.endswith("/economy")
    assert held["hotel"].item.endswith("/standard")
    again = (await api.http.post("/book", content=TUTORIAL_SUCCESS, headers=headers)).json()
    assert again["result"]["status"] == "success", again  # the next day with a car left

    failed = (await api.http.post("/book", content=TUTORIAL_FAILURE, headers=headers)).json()
    assert set(failed) == {"result", "user_id"} and re.fullmatch(r"jane-smith-\d{6}", failed["user_id"])
    assert failed["result"]["status"] == "failure" and "invalid-hotel-id" in failed["result"]["message"]
    trip = (await api.http.get(f"/trips/{failed['user_id']}")).json()
    assert trip["status"] == "Failed" and undos(trip) == HOTEL_CHAIN
    assert audit(failed["user_id"]).clean and not world.is_confirmed(failed["user_id"])


def _history_text(history) -> str:
    from google.protobuf import json_format

    return "".join(json_format.MessageToJson(event) for event in history.events)


async def test_a_trips_history_holds_no_card_number_and_no_name_in_the_clear(api):
    body = {"name": "Grace Hopper", "attempts": 3, "car": "economy", "hotel": "standard",
            "flight": "SG101-2027-01-23-Y"}  # fmt: skip
    trip_id = (await api.http.post("/book", json=body)).json()["user_id"]
    history = await api.plain.get_workflow_handle(trip_id).fetch_history()  # as the server stores it
    text = _history_text(history)
    assert "4242424242424242" not in text and "Grace Hopper" not in text
    started = history.events[0].workflow_execution_started_event_attributes
    assert [p.metadata["encoding"] for p in started.input.payloads] == [b"binary/encrypted"]
    # The client that holds the key reads it back as it was written.
    decoded = await api.client.data_converter.decode(started.input.payloads)
    assert decoded[0]["card_number"] == "4242424242424242" and decoded[0]["customer"] == "Grace Hopper"


async def test_the_codec_endpoint_decodes_a_history_for_the_web_ui_and_the_cli(api, tmp_path):
    """POST /codec/decode answers Temporal's codec server protocol, from the Web UI's
    origin; `temporal workflow show --codec-endpoint` uses it to show the history decoded."""
    from google.protobuf import json_format
    from temporalio.api.common.v1 import Payloads

    from workbook.server import find_binary

    body = {"name": "Ada Lovelace", "attempts": 3, "car": "economy", "hotel": "standard",
            "flight": "SG101-2027-01-24-Y"}  # fmt: skip
    trip_id = (await api.http.post("/book", json=body)).json()["user_id"]
    history = await api.plain.get_workflow_handle(trip_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    sent = json_format.MessageToJson(Payloads(payloads=started.input.payloads))
    answer = await api.http.post("/codec/decode", content=sent, headers={
        "Content-Type": "application/json", "Origin": "http://localhost:8233", "X-Namespace": "default"})  # fmt: skip
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "http://localhost:8233"
    decoded = json_format.Parse(answer.text, Payloads()).payloads[0]
    assert decoded.metadata["encoding"] == b"json/plain" and b"4242424242424242" in decoded.data

    command = [find_binary("temporal"), "workflow", "show", "--workflow-id", trip_id, "--output", "json",
               "--address", api.plain.service_client.config.target_host]  # fmt: skip
    shown = await _output(*command, "--codec-endpoint", f"{api.url}/codec")  # the API answers meanwhile
    assert "4242424242424242" in shown and "Ada Lovelace" in shown
    hidden = await _output(*command)
    assert "4242424242424242" not in hidden and "Ada Lovelace" not in hidden


async def _output(*command: str) -> str:
    """What `temporal workflow show --output json` printed, with every payload's data (base64
    in its JSON) decoded as text, so what the history says can be searched."""
    import base64

    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    found = []

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "data" and isinstance(value, str):
                    found.append(base64.b64decode(value).decode(errors="replace"))
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(out))
    return out.decode() + "\n".join(found)


async def test_keys_rotate_and_a_wrong_or_missing_key_fails_clearly(api):
    import secrets

    from temporalio.api.common.v1 import Payload

    codec, old_key = api.m.codec, secrets.token_bytes(32)
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'"4242424242424242"')
    [sealed] = await codec.EncryptionCodec({"k1": old_key}).encode([plain])
    rotated = codec.EncryptionCodec({"k2": secrets.token_bytes(32), "k1": old_key})
    assert await rotated.decode([sealed]) == [plain]  # an older key still reads what it wrote
    [resealed] = await rotated.encode([plain])
    assert resealed.metadata["encryption-key-id"] == b"k2"  # new payloads use the newest key
    with pytest.raises(codec.CodecError, match="does not decrypt with the key configured under that id"):
        await codec.EncryptionCodec({"k1": secrets.token_bytes(32)}).decode([sealed])
    with pytest.raises(codec.CodecError, match=r"'k1', which is not among this process's keys \(k2\)"):
        await codec.EncryptionCodec({"k2": secrets.token_bytes(32)}).decode([sealed])
    guarded = codec.CodecServer(rotated, token="s3cret")
    assert guarded.allowed("Bearer s3cret") and not guarded.allowed(None) and not guarded.allowed("Bearer nope")
    refused = await api.http.post("/codec/decode", content="not json", headers={"Content-Type": "application/json"})
    assert refused.status_code == 400 and "payloads" in refused.json()["error"]
