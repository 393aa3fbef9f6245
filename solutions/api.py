"""The capstone's HTTP API: book trips, follow their sagas, scrape their metrics.

    python solutions/api.py          # http://localhost:3002, docs at /docs

POST /book               the sagas tutorial's request; answers when the trip is booked or undone
POST /trips              start a trip; answers at once with its id (202)
GET  /trips/{id}         its status, its itinerary in the travel world and its saga timeline
GET  /trips/{id}/events  its steps and undos as Server-Sent Events, until the saga ends
GET  /metrics            bookings by outcome, saga durations, undos, flags (Prometheus)
POST /codec/encode, /codec/decode   Temporal's codec server protocol, for the Web UI and the
                         CLI to show the encrypted histories (codec.py); TRAVEL_CODEC_TOKEN guards it
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from google.protobuf.json_format import ParseError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sse_starlette.sse import EventSourceResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from api_models import MAX_BODY_BYTES, BodyLimit, TripOrder, TutorialBooking, from_order, from_tutorial, new_trip_id
from codec import CodecError, CodecServer, EncryptionCodec, configured_keys
from observability import REGISTRY, record_trip
from seed import Seed, load_seed, use_capstone_world
from shared import TASK_QUEUE, BookingRequest
from workbook import world
from workbook.timeline import ActivityRun, decode_failures, root_cause, timeline_from_events, timeline_of
from workflow import TravelBookingWorkflow


def create_app(client: Client, task_queue: str = TASK_QUEUE, seed: Seed | None = None) -> FastAPI:
    use_capstone_world()
    seed = seed or load_seed()
    app = FastAPIOffline(title="Travel bookings", description=__doc__.split("\n\n")[0], version="1.0")
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES, unlimited=("/codec/",))  # a history's payloads are big
    # The Web UI (another origin) calls the codec endpoint from the browser.
    app.add_middleware(CORSMiddleware, allow_origins=WEB_UI_ORIGINS, allow_methods=["POST"],
                       allow_headers=["Content-Type", "X-Namespace", "Authorization"], allow_credentials=True)  # fmt: skip
    codec = client.data_converter.payload_codec
    codec_server = CodecServer(codec if isinstance(codec, EncryptionCodec) else EncryptionCodec(configured_keys()))
    watching: set[asyncio.Task] = set()  # trips started by POST /trips, awaited for the metrics

    @app.exception_handler(StarletteHTTPException)  # one shape for every refusal: {"error": ...}
    async def refused(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": error.detail}, error.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [_problem(e) for e in error.errors()]
        return JSONResponse({"error": "the request is not valid; nothing was booked", "problems": problems}, 422)

    def request_for(convert, body, name: str) -> BookingRequest:
        try:
            return convert(body, seed, new_trip_id(name))
        except world.UnknownItem as err:  # a flight the seed lacks: refused before anything starts
            raise HTTPException(422, f"{err}; nothing was booked") from err

    async def start(request: BookingRequest) -> WorkflowHandle:
        return await client.start_workflow(
            TravelBookingWorkflow.run, request, id=request.trip_id, task_queue=task_queue
        )

    @app.post("/book", responses=REFUSALS)
    async def book(body: TutorialBooking) -> dict:
        """Book a trip and wait for the saga to end, as the tutorial's endpoint does."""
        handle = await start(request_for(from_tutorial, body, body.name))
        try:
            result = await handle.result()
            answer = {"booked_car": result.car, "booked_flight": result.flight, "booked_hotel": result.hotel}
            outcome = {"message": answer, "status": "success"}
        except WorkflowFailureError as failure:
            outcome = {"message": root_cause(failure), "status": "failure"}
        await _record(handle)
        return {"result": outcome, "user_id": handle.id}

    @app.post("/trips", status_code=202, responses=REFUSALS)
    async def start_trip(body: TripOrder) -> dict:
        """Start a trip; follow it at its status and events URLs."""
        handle = await start(request_for(from_order, body, body.customer))
        task = asyncio.create_task(_settle(handle))
        watching.add(task)
        task.add_done_callback(watching.discard)
        return {"trip_id": handle.id, "status_url": f"/trips/{handle.id}", "events_url": f"/trips/{handle.id}/events"}

    @app.get("/trips/{trip_id}", responses=NOT_FOUND)
    async def trip(trip_id: str) -> dict:
        """The trip's status, what the world holds for it, and its saga timeline."""
        handle = client.get_workflow_handle(trip_id)
        timeline = await _or_404(handle, timeline_of(handle, client.data_converter))
        stored = json.loads(world.stored_request(trip_id) or "null")
        if stored:  # a card number is not for every reader of this page
            stored["card_number"] = "…" + stored["card_number"][-4:]
        return {
            "trip_id": trip_id,
            "status": timeline.status,
            "failure": timeline.failure or None,
            "request": stored,
            "itinerary": [asdict(r) for r in world.reservations(trip_id)],
            "payments": [asdict(p) for p in world.payments(trip_id)],
            "flagged": world.flags(trip_id).get(trip_id),
            "timeline": [_run(run) for run in timeline.runs],
        }

    @app.get("/trips/{trip_id}/events", responses=NOT_FOUND)
    async def events(trip_id: str) -> EventSourceResponse:
        """Each step and undo as it starts and ends (event: step / undo), then event: end."""
        handle = client.get_workflow_handle(trip_id)
        await _or_404(handle, handle.describe())  # a 404 now, before the stream starts
        return EventSourceResponse(_saga_events(handle, client.data_converter))

    plain_openapi = app.openapi

    def openapi() -> dict:
        """FastAPI documents a 422 as {"detail": [...]}, but our refusals read {"error", "problems"}."""
        if app.openapi_schema is None:
            spec = plain_openapi()
            for operations in spec["paths"].values():
                for operation in operations.values():
                    if "422" in operation.get("responses", {}):
                        operation["responses"]["422"] = {"description": REFUSALS[422]["description"], "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Refusal"}}}}  # fmt: skip
            for unused in ("HTTPValidationError", "ValidationError"):
                spec.get("components", {}).get("schemas", {}).pop(unused, None)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi

    @app.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
    async def metrics() -> Response:
        """Bookings by outcome, saga durations, undos and flags, in Prometheus' text format."""
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    @app.post("/codec/{operation}", include_in_schema=False)
    async def codec_endpoint(operation: str, request: Request) -> JSONResponse:
        """Temporal's codec server protocol: {"payloads": [...]} encrypted or decrypted."""
        if operation not in ("encode", "decode"):
            raise HTTPException(404, f"there is no codec operation {operation!r}: encode or decode")
        if not codec_server.allowed(request.headers.get("authorization")):
            raise HTTPException(401, "the codec endpoint needs the bearer token set in TRAVEL_CODEC_TOKEN")
        try:
            return JSONResponse(await codec_server.answer(operation, await request.body()))
        except CodecError as err:
            raise HTTPException(422, str(err)) from err
        except (ValueError, ParseError) as err:  # not the protocol's JSON
            raise HTTPException(400, f'the body should be {{"payloads": [...]}}: {err}') from err

    return app


WEB_UI_ORIGINS = ["http://localhost:8233", "http://127.0.0.1:8233"]


class Refusal(BaseModel):
    """Every refusal's shape: what is wrong, and for a 422 each problem found."""

    error: str
    problems: list[str] | None = None


REFUSALS = {422: {"model": Refusal, "description": "not a valid request: nothing was booked"},
            413: {"model": Refusal, "description": "a body over 16 KiB: nothing was booked"}}  # fmt: skip
NOT_FOUND = {404: {"model": Refusal, "description": "there is no such trip"}}


def _problem(error: dict) -> str:
    """One validation problem in words; a body that is not JSON says where it breaks."""
    if error["type"] == "json_invalid":
        at = error["loc"][-1] if isinstance(error["loc"][-1], int) else None
        why = (error.get("ctx") or {}).get("error", "it is not valid JSON")
        return f"body: not valid JSON: {why}" + (f" (at character {at})" if at is not None else "")
    return f"{'.'.join(map(str, error['loc'][1:])) or 'body'}: {error['msg']}"


def _run(run: ActivityRun) -> dict:
    return {"activity": run.name, "undo": run.compensation, "outcome": run.outcome,
            "attempts": run.attempts, "error": run.error or None}  # fmt: skip


async def _or_404(handle: WorkflowHandle, reading):
    """What ``reading`` (a call about the trip) returns, or a 404 if there is no such trip."""
    try:
        return await reading
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(404, f"there is no trip {handle.id!r}") from err
        raise


async def _saga_events(handle: WorkflowHandle, data_converter):
    """Follow the history as the server records it (a long poll: no busy loop), and send
    each activity's change of state once (its failures decrypted)."""
    events, sent = [], {}
    async for event in handle.fetch_history_events(wait_new_event=True):
        await decode_failures([event], data_converter)
        events.append(event)
        timeline = timeline_from_events(handle.id, events)
        for index, run in enumerate(timeline.runs):
            if sent.get(index) != (run.outcome, run.attempts):
                sent[index] = (run.outcome, run.attempts)
                yield {"event": "undo" if run.compensation else "step", "data": json.dumps(_run(run))}
        if timeline.status != "Running":
            yield {"event": "end", "data": json.dumps({"status": timeline.status, "failure": timeline.failure or None})}
            return


async def _settle(handle: WorkflowHandle) -> None:
    try:
        await handle.result()
    except WorkflowFailureError:
        pass
    await _record(handle)


async def _record(handle: WorkflowHandle) -> None:
    """Count the trip's outcome and how long its saga took, as the server timed it."""
    described = await handle.describe()
    seconds = (described.close_time - described.start_time).total_seconds()
    record_trip(described.status.name.title(), bool(world.flags(handle.id)), seconds)


async def main(argv: list[str] | None = None) -> None:
    import argparse
    import contextlib

    import uvicorn

    from codec import data_converter
    from observability import tracing_interceptor
    from worker import create_worker, prepare_world
    from workbook.server import connect_or_start, metrics_runtime

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3002, help="the API's port (default 3002, the tutorial's)")
    parser.add_argument("--no-worker", action="store_true", help="use workers started elsewhere (worker.py)")
    parser.add_argument("--task-queue", default=TASK_QUEUE)
    parser.add_argument("--sdk-metrics-port", type=int, help="also serve the Temporal SDK's metrics on this port")
    parser.add_argument("--trace", metavar="FILE", help="write OpenTelemetry spans to FILE (JSON lines)")
    args = parser.parse_args(argv)
    connect_options = {"data_converter": data_converter()}  # payloads encrypted (codec.py)
    if args.sdk_metrics_port:
        connect_options["runtime"] = metrics_runtime(f"{args.host}:{args.sdk_metrics_port}")
    if args.trace:
        connect_options["interceptors"] = [tracing_interceptor(args.trace)]
    if not args.no_worker:
        prepare_world()
    async with connect_or_start(announce=print, **connect_options) as client:
        worker = contextlib.nullcontext() if args.no_worker else create_worker(client, args.task_queue)
        async with worker:
            app = create_app(client, args.task_queue)
            server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="warning"))
            print(f"Travel API at http://{args.host}:{args.port} (try /docs). Press Ctrl+C to stop.", flush=True)
            await server.serve()


if __name__ == "__main__":
    from workbook.entry import run_and_exit

    run_and_exit(main)
