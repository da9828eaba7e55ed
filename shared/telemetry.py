"""OpenTelemetry set-up: one trace per case, from the citizen's request through PostgreSQL and every Kafka hop.

The exporters are configuration (`CASEFLOW_OTEL_EXPORTER`: none, or some of console, otlp, file, zipkin). Trace
context travels in the envelope's `traceparent` extension: every message is sent inside a PRODUCER span whose
context it carries (`publishing`), a consumer continues it, and a command on a case that already has a trace
joins that trace (`case_traceparent`), linked to the request that issued it (docs/decisions/0010).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from fastapi import FastAPI
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Link, Span, SpanKind

from shared.envelope import Envelope
from shared.settings import PlatformSettings

_configured = False


def setup_telemetry(service: str, settings: PlatformSettings) -> None:
    """Install the tracer provider and the psycopg instrumentation once per process."""
    global _configured
    if _configured:
        return
    _configured = True
    provider = TracerProvider(resource=Resource.create({"service.name": f"caseflow-{service}"}))
    for name in settings.otel_exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter(name, settings)))
    trace.set_tracer_provider(provider)
    if settings.otel_exporters:
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

        PsycopgInstrumentor().instrument(enable_commenter=False)


def exporter(name: str, settings: PlatformSettings) -> SpanExporter:
    """The span exporter `CASEFLOW_OTEL_EXPORTER` names."""
    if name == "console":
        return ConsoleSpanExporter()
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=settings.otel_endpoint.rstrip("/") + "/v1/traces")
    if name == "zipkin":
        from opentelemetry.exporter.zipkin.json import ZipkinExporter

        return ZipkinExporter(endpoint=settings.otel_zipkin_endpoint, timeout=5)
    if name == "file":
        return JsonLinesSpanExporter(Path(settings.otel_file))
    raise ValueError(f"unknown span exporter {name!r}")


def instrument_app(app: FastAPI) -> None:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def context_from(traceparent: str | None) -> Context | None:
    return propagate.extract({"traceparent": traceparent}) if traceparent else None


tracer = trace.get_tracer("caseflow")


def _same_trace_as_current(context: Context) -> bool:
    current = trace.get_current_span().get_span_context()
    theirs = trace.get_current_span(context).get_span_context()
    return current.is_valid and current.trace_id == theirs.trace_id


@contextlib.contextmanager
def publishing(env: Envelope, destination: str) -> Iterator[Envelope]:
    """A PRODUCER span for sending `env` to `destination`; yields the envelope carrying that span's `traceparent`.

    The span is a child of the current span when that belongs to the envelope's trace (a consumer forwarding or
    refusing a message), else of the envelope's own context (the outbox relay), else a new trace begins: whatever
    the platform sends carries trace context, and the consumer's span becomes a child of this one.
    """
    parent = context_from(env.traceparent)
    if parent is not None and _same_trace_as_current(parent):
        parent = None  # the current context
    with tracer.start_as_current_span(
        f"publish {env.type}",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes={"messaging.destination.name": destination, "caseflow.case_id": env.subject},
    ):
        yield env.model_copy(update={"traceparent": current_traceparent()})


def consuming(env: Envelope, source: str, name: str | None = None) -> AbstractContextManager[Span]:
    """A CONSUMER span handling `env` read from `source`: a child of the span that published it."""
    return tracer.start_as_current_span(
        name or f"process {env.type}",
        context=context_from(env.traceparent),
        kind=SpanKind.CONSUMER,
        attributes={"messaging.destination.name": source, "caseflow.case_id": env.subject},
    )


def case_traceparent(last: str | None, command: str) -> str | None:
    """The trace context for a command's events, given the `traceparent` of the case's last event: the case's own
    trace when it has one and the command runs in another (a staff request), as a span there linked to the
    request's; else the current context."""
    parent = context_from(last)
    if parent is None or _same_trace_as_current(parent):
        return current_traceparent()
    request = trace.get_current_span().get_span_context()
    links = [Link(request)] if request.is_valid else []
    with tracer.start_as_current_span(f"execute {command}", context=parent, links=links):
        return current_traceparent()


class JsonLinesSpanExporter(SpanExporter):
    """Appends finished spans as JSON lines: a trace file the console can read when no collector runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = []
        for s in spans:
            ctx = s.get_span_context()
            if ctx is None:
                continue
            lines.append(
                json.dumps(
                    {
                        "trace_id": format(ctx.trace_id, "032x"),
                        "span_id": format(ctx.span_id, "016x"),
                        "parent_id": format(s.parent.span_id, "016x") if s.parent else None,
                        "name": s.name,
                        "service": s.resource.attributes.get("service.name"),
                        "start": s.start_time,
                        "end": s.end_time,
                        "attributes": {k: str(v) for k, v in (s.attributes or {}).items()},
                    }
                )
            )
        with self._lock, self.path.open("a") as fh:
            fh.write("\n".join(lines) + "\n")
        return SpanExportResult.SUCCESS
