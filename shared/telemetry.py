"""OpenTelemetry set-up: one trace from the HTTP request through PostgreSQL and Kafka to every consumer.

The exporter is configuration (`CASEFLOW_OTEL_EXPORTER`: none, console, otlp, file). Trace context travels in
the envelope's `traceparent` extension, so a consumer continues the trace of the command that caused the event.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
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

from shared.settings import PlatformSettings

_configured = False


def setup_telemetry(service: str, settings: PlatformSettings) -> None:
    """Install the tracer provider and the psycopg instrumentation once per process."""
    global _configured
    if _configured:
        return
    _configured = True
    provider = TracerProvider(resource=Resource.create({"service.name": f"caseflow-{service}"}))
    exporter: SpanExporter | None = None
    if settings.otel_exporter == "console":
        exporter = ConsoleSpanExporter()
    elif settings.otel_exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=settings.otel_endpoint.rstrip("/") + "/v1/traces")
    elif settings.otel_exporter == "file":
        exporter = JsonLinesSpanExporter(Path(settings.otel_file))
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    if settings.otel_exporter != "none":
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

        PsycopgInstrumentor().instrument(enable_commenter=False)


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
