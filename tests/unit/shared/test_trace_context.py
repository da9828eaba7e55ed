"""Trace context on everything the platform sends: a rejection continues the refused message's trace, a sent
envelope carries its publish span, a consumer's span is that span's child, a staff command joins its case's trace.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from aiokafka import ConsumerRecord
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared import kafka
from shared.consumer import DeadLetters
from shared.contracts.partners import DefenceKind, NotifiedDefenceRequested, ProceedingStage
from shared.envelope import Envelope
from shared.telemetry import case_traceparent, consuming, current_traceparent, tracer
from tests.fakes import RecordingProducer, recorded_spans

INBOUND, OUTBOUND = "t1.partner.court.inbound", "t1.partner.court.outbound"
PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = recorded_spans()
    yield exporter
    exporter.shutdown()


def court_notice(traceparent: str | None) -> Envelope:
    payload = NotifiedDefenceRequested(
        partner_reference="(2026)湘1002刑初9号", kind=DefenceKind.NOTIFIED_DEFENCE, defendant_ref="p-" + "d" * 32,
        region="431002001000", stage=ProceedingStage.TRIAL, charge="theft", notified_at=datetime.now(UTC),
    )  # fmt: skip
    return Envelope.wrap(payload, source="partner/court", subject=payload.partner_reference,
                         correlationid="corr-9", actor="partner:court", traceparent=traceparent)  # fmt: skip


def record(env: Envelope) -> ConsumerRecord:
    key, value, headers = env.to_kafka()
    return ConsumerRecord(INBOUND, 0, 41, 0, 0, key, value, None, len(value), -1, headers)


def ids(traceparent: str | None) -> tuple[str, str]:
    assert traceparent is not None
    _, trace_id, span_id, _ = traceparent.split("-")
    return trace_id, span_id


def span_named(spans: InMemorySpanExporter, name: str) -> ReadableSpan:
    return [s for s in spans.get_finished_spans() if s.name == name][-1]


async def park(env: Envelope) -> Envelope:
    producer = RecordingProducer()
    dead = DeadLetters(producer, "t1.deadletter", "legal_aid", notify_topic=lambda _partner: OUTBOUND)  # type: ignore[arg-type]
    await dead.park(record(env), "region not served", "validation_failed")
    [notice] = producer.envelopes(OUTBOUND)
    assert notice.type == "caseflow.platform.partner_event_rejected" and notice.causationid == env.id
    return notice


async def test_a_rejection_continues_the_trace_of_the_message_it_refuses(spans: InMemorySpanExporter) -> None:
    notice = await park(court_notice(PARENT))
    trace_id, span_id = ids(notice.traceparent)
    assert trace_id == ids(PARENT)[0] and span_id != ids(PARENT)[1]
    publish = span_named(spans, "publish caseflow.platform.partner_event_rejected")
    assert publish.parent is not None and format(publish.parent.span_id, "016x") == ids(PARENT)[1]
    assert format(publish.context.span_id, "016x") == span_id  # the partner's consumer becomes its child


async def test_a_rejection_of_a_message_without_trace_context_still_carries_one(spans: InMemorySpanExporter) -> None:
    notice = await park(court_notice(None))
    trace_id, _ = ids(notice.traceparent)
    assert trace_id != "0" * 32
    assert span_named(spans, "publish caseflow.platform.partner_event_rejected").parent is None  # a trace of its own


async def test_a_rejection_inside_a_handler_is_a_child_of_the_handlers_span(spans: InMemorySpanExporter) -> None:
    env = court_notice(PARENT)
    with consuming(env, INBOUND) as handling:
        notice = await park(env)
    assert ids(notice.traceparent)[0] == ids(PARENT)[0]
    publish = span_named(spans, "publish caseflow.platform.partner_event_rejected")
    assert publish.parent is not None and publish.parent.span_id == handling.get_span_context().span_id


async def test_a_sent_envelope_carries_its_publish_span_and_keeps_its_identity(spans: InMemorySpanExporter) -> None:
    producer, env = RecordingProducer(), court_notice(PARENT)
    await (await kafka.send(producer, "t1.legal_aid.events", env))  # type: ignore[arg-type]
    [sent] = producer.envelopes("t1.legal_aid.events")
    assert sent.model_dump(exclude={"traceparent"}) == env.model_dump(exclude={"traceparent"})
    assert ids(sent.traceparent)[0] == ids(PARENT)[0]
    publish = span_named(spans, f"publish {env.type}")
    assert format(publish.context.span_id, "016x") == ids(sent.traceparent)[1]
    assert publish.kind is trace.SpanKind.PRODUCER and publish.parent is not None
    assert format(publish.parent.span_id, "016x") == ids(PARENT)[1]


def test_a_staff_command_joins_its_cases_trace_linked_to_the_request(spans: InMemorySpanExporter) -> None:
    with tracer.start_as_current_span("POST /disputes/{id}/assign") as request:
        joined = case_traceparent(PARENT, "AssignMediator")
        assert ids(joined)[0] == ids(PARENT)[0]
    step = span_named(spans, "execute AssignMediator")
    assert [link.context.span_id for link in step.links] == [request.get_span_context().span_id]
    with consuming(court_notice(PARENT), INBOUND):  # already in the case's trace: nothing added
        assert case_traceparent(PARENT, "ReceiveNotice") == current_traceparent()
    assert case_traceparent(None, "ReceiveApplication") is None  # a new case outside any span: no context
