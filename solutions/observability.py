"""What the capstone tells a person watching it: Prometheus metrics and, if asked for,
OpenTelemetry traces. Each library does its own job; nothing here is hand-rolled.

- The Temporal SDK's own metrics (task latencies, slots, failures) come from its runtime
  (workbook.server.metrics_runtime), on their own port.
- The bookings' metrics below go through prometheus_client: undos and flags are counted
  in the worker, where they run (an activity interceptor, so activities stay plain);
  outcomes and saga durations where trips are started and awaited (the HTTP API).
- Traces: the SDK's TracingInterceptor, exporting spans as JSON lines to a file.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, disable_created_metrics
from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

# The capstone's own registry (serve it with make_asgi_app(REGISTRY) or
# start_http_server(port, registry=REGISTRY)), with the process's CPU and memory beside.
disable_created_metrics()  # no *_created series beside each counter: a shorter scrape
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
BOOKINGS = Counter("travel_bookings", "Trips that ended, by outcome: booked, undone, flagged, other", ["outcome"],
                   registry=REGISTRY)  # fmt: skip
SAGA_SECONDS = Histogram(
    "travel_saga_duration_seconds", "From start to end of a trip's workflow, by outcome", ["outcome"],
    buckets=(0.25, 0.5, 1, 2, 5, 10, 30, 60, 300), registry=REGISTRY,
)  # fmt: skip
COMPENSATIONS = Counter("travel_compensations", "Undos that completed, by activity", ["activity"], registry=REGISTRY)
FLAGGED = Counter("travel_undos_flagged", "Trips handed to a person because an undo failed for good", registry=REGISTRY)

UNDOS = {"cancel_flight", "cancel_hotel", "cancel_car", "refund_payment"}


def outcome_of(status: str, flagged: bool) -> str:
    """A trip's outcome class, from its workflow status and whether a person was called."""
    if flagged:
        return "flagged"
    return {"Completed": "booked", "Failed": "undone"}.get(status, "other")


def record_trip(status: str, flagged: bool, seconds: float) -> None:
    outcome = outcome_of(status, flagged)
    BOOKINGS.labels(outcome).inc()
    SAGA_SECONDS.labels(outcome).observe(seconds)


class CountUndos(Interceptor):
    """A worker interceptor: counts each undo (and each flag) that completes."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Counting(next)


class _Counting(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput):
        result = await super().execute_activity(input)  # raises if it failed: not counted
        name = activity.info().activity_type
        if name in UNDOS:
            COMPENSATIONS.labels(name).inc()
        elif name == "flag_for_attention":
            FLAGGED.inc()
        return result


def tracing_interceptor(path: str):
    """The SDK's OpenTelemetry interceptor, its spans written to ``path`` as they end.
    Give it to Client.connect(interceptors=[...]): workers made from that client use it too."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
    from temporalio.contrib.opentelemetry import TracingInterceptor

    spans = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open as long as the process runs
    exporter = ConsoleSpanExporter(out=spans, formatter=lambda span: span.to_json(indent=None) + "\n")
    provider = TracerProvider(resource=Resource.create({"service.name": "travel-bookings"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return TracingInterceptor(provider.get_tracer("travel-bookings"))
