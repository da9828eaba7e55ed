"""One trace in Zipkin from the citizen's request to the metrics: the services, the partner router and the metrics
writer run as `make run` runs them (subprocesses, each exporting its spans to Zipkin with `caseflow run`'s
settings), on the session's Kafka, PostgreSQL and Zipkin.

Two paths, each one trace: a walk-in request at intake, referred to mediation (调解), registered there from the
intake topic; the mediator's steps up to a signed agreement and the request for judicial confirmation (司法确认,
court outbound via the router); the court's ruling, sent back with the trace context it received; the metrics
writer folding it all. And a court's notice (通知辩护) to legal aid, a lawyer assigned by staff, the assignment
notice on the court's outbound topic and in the metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from caseflow_cli.infra import InfraStatus
from caseflow_cli.run import telemetry_env
from caseflow_cli.supervisor import Supervisor, module, service
from services.legal_aid.handlers import notice_case_id
from services.mediation.handlers import referral_dispute_id
from shared import kafka
from shared.contracts.partners import (
    ConfirmationOutcome,
    DefenceKind,
    JudicialConfirmationDecided,
    NotifiedDefenceRequested,
    ProceedingStage,
)
from shared.envelope import Envelope
from shared.settings import PlatformSettings
from shared.topics import Topics
from tests.conftest import token
from tests.integration.helpers import drop_schemas, eventually, free_ports, read_topic
from tests.integration.intake.test_intake_service import id_number

pytestmark = pytest.mark.integration
REGION = "431002001000"  # 郴州市北湖区人民路街道
SERVICES = {"caseflow-intake", "caseflow-mediation", "caseflow-router", "caseflow-metrics-writer"}
DEPARTMENTS = ("intake", "legal_aid", "mediation")
SCOPES = {"intake": ("read", "write"), "legal_aid": ("read", "write", "review"), "mediation": ("read", "write")}


@dataclass
class Platform:
    settings: PlatformSettings
    intake: httpx.AsyncClient
    legal_aid: httpx.AsyncClient
    mediation: httpx.AsyncClient
    zipkin: httpx.AsyncClient

    @property
    def topics(self) -> Topics:
        return Topics(self.settings.topic_prefix)


@pytest.fixture(scope="module")
async def running(
    infra_up: InfraStatus, zipkin_up: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    """Intake, legal aid, mediation, the router and a metrics writer, once for the module, on a topic prefix of
    their own."""
    platform = PlatformSettings(kafka_bootstrap=infra_up.kafka_bootstrap, database_url=infra_up.database_url,
                                topic_prefix=f"z{uuid.uuid4().hex[:10]}", partitions=3)  # fmt: skip
    await kafka.ensure_topics(platform)
    home = tmp_path_factory.mktemp("zipkin-trace")
    ports = dict(zip(DEPARTMENTS, free_ports(len(DEPARTMENTS)), strict=True))
    env = {
        **telemetry_env(zipkin_up),
        "OTEL_BSP_SCHEDULE_DELAY": "300",  # export every 0.3 s (5 s by default): the test reads Zipkin soon after
        "CASEFLOW_KAFKA_BOOTSTRAP": platform.kafka_bootstrap,
        "CASEFLOW_DATABASE_URL": platform.database_url.get_secret_value(),
        "CASEFLOW_TOPIC_PREFIX": platform.topic_prefix,
        "CASEFLOW_PARTITIONS": str(platform.partitions),
        "CASEFLOW_LOG_LEVEL": "WARNING",
        "METRICS_STATE_DIR": str(home / "metrics-state"),
    }
    sup = Supervisor(env, home / "logs")
    programs = [service(name, port) for name, port in ports.items()]
    programs += [module("router", "integrations.router"), module("metrics-writer", "services.metrics.writer")]
    try:
        for program in programs:
            sup.start(program)
        for program in programs:
            await asyncio.to_thread(sup.wait_ready, program.name, 120)
        clients = [
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20,
                              headers=token(platform, f"dept:{name}", [f"{name}:{s}" for s in SCOPES[name]]))
            for name, port in ports.items()
        ]  # fmt: skip
        async with contextlib.AsyncExitStack() as stack:
            for client in clients:
                await stack.enter_async_context(client)
            zipkin = await stack.enter_async_context(httpx.AsyncClient(base_url=zipkin_up, timeout=10))
            yield Platform(platform, *clients, zipkin)
    finally:
        sup.stop_all()
        await drop_schemas(platform, *DEPARTMENTS, "router")


async def send_as_court(p: Platform, env: Envelope) -> None:
    producer = kafka.producer(p.settings)
    await producer.start()
    try:
        key, value, headers = env.to_kafka()
        await producer.send_and_wait(p.topics.partner_inbound("court"), value=value, key=key, headers=headers)
    finally:
        await producer.stop()


async def sent_to_court(p: Platform, event_type: str) -> Envelope:
    """The one event of `event_type` on the court's outbound topic, as the court reads it."""
    found: list[Envelope] = []

    async def arrived() -> bool:
        records = await read_topic(p.settings, p.topics.partner_outbound("court"), expect=10**6, timeout=2)
        found[:] = [e for e in (Envelope.from_kafka(m.value, m.headers) for m in records) if e.type == event_type]
        return bool(found)

    await eventually(arrived, timeout=60, what=f"{event_type} on the court's outbound topic")
    [env] = found
    return env


async def trace_with(p: Platform, trace_id: str, *wanted: tuple[str, str]) -> list[dict[str, Any]]:
    """The trace's spans from Zipkin's API, once it holds a span of each (name, service) `wanted`."""
    spans: list[dict[str, Any]] = []

    async def complete() -> bool:
        r = await p.zipkin.get(f"/api/v2/trace/{trace_id}")
        spans[:] = r.json() if r.status_code == 200 else []
        return all(named(spans, name, service) for name, service in wanted)

    await eventually(complete, timeout=90, what=lambda: f"{wanted} in trace {trace_id}: {spans}")
    return spans


def one_tree(spans: list[dict[str, Any]], trace_id: str) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Spans by id and the root, checking that every span is of `trace_id`, has its parent in it and one is root."""
    by_id = {s["id"]: s for s in spans}
    assert {s["traceId"] for s in spans} == {trace_id}
    assert all(s["parentId"] in by_id for s in spans if "parentId" in s)
    [root] = [s for s in spans if "parentId" not in s]
    return by_id, root


def trace_id_of(env: Envelope) -> str:
    assert env.traceparent is not None, f"{env.type} carries no traceparent"
    return env.traceparent.split("-")[1]


def path_to_root(spans: dict[str, dict[str, Any]], span: dict[str, Any]) -> list[dict[str, Any]]:
    """`span` and its ancestors up to the trace's root (or the last whose parent is not in `spans`)."""
    path = [span]
    while path[-1].get("parentId") in spans:
        path.append(spans[path[-1]["parentId"]])
    return path


def named(spans: list[dict[str, Any]], name: str, service: str) -> list[dict[str, Any]]:
    return [s for s in spans if s.get("name") == name.lower() and s["localEndpoint"]["serviceName"] == service]


def hops(path: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(s["localEndpoint"]["serviceName"], s.get("kind")) for s in path]


def publish_to_court(span: dict[str, Any], p: Platform, event_type: str) -> bool:
    return (span["localEndpoint"]["serviceName"], span.get("kind"), span["name"]) == (
        "caseflow-router", "PRODUCER", f"publish {event_type}"
    ) and span["tags"]["messaging.destination.name"] == p.topics.partner_outbound("court")  # fmt: skip


async def test_a_citizens_request_is_one_trace_through_intake_mediation_the_court_and_the_metrics(
    running: Platform,
) -> None:
    p = running
    person = {"name": "王五", "id_number": id_number("43100219800101123"), "phone": "13700137000"}
    walk_in = {"channel": "walk_in", "level": "town", "region": REGION, "kind": "help", "topic": "neighbourhood",
               "person": person}  # fmt: skip
    r = await p.intake.post("/requests", json=walk_in)
    assert r.status_code == 201, r.text
    request_id = r.json()["request_id"]
    r = await p.intake.post(f"/requests/{request_id}/refer", json={
        "to_department": "mediation", "matter": "楼上漏水致楼下受损", "dispute_type": "neighbourhood",
    })  # fmt: skip
    assert r.status_code == 200, r.text

    dispute_id = referral_dispute_id("intake", request_id)

    async def registered() -> bool:
        return (await p.mediation.get(f"/disputes/{dispute_id}")).status_code == 200

    await eventually(registered, timeout=60, what="the intake referral registered by mediation")
    steps = (("assign", {}), ("sessions", {"minutes": "双方同意修缮"}), ("agreement", {"terms": "楼上住户修缮并赔偿"}))
    for step, body in steps:
        r = await p.mediation.post(f"/disputes/{dispute_id}/{step}", json=body)
        assert r.status_code == 200, r.text
    r = await p.mediation.post(f"/disputes/{dispute_id}/request-confirmation", json={})
    assert r.status_code == 200 and r.json()["status"] == "confirmation_requested", r.text

    # the court reads the request on its outbound topic and answers with the trace context it received (W3C)
    request = await sent_to_court(p, "caseflow.mediation.confirmation_requested")
    trace_id = trace_id_of(request)
    ruling = JudicialConfirmationDecided(partner_reference=f"(2026)湘1002民特{uuid.uuid4().hex[:6]}号",
                                         dispute_id=dispute_id, outcome=ConfirmationOutcome.CONFIRMED,
                                         decided_at=datetime.now(UTC))  # fmt: skip
    await send_as_court(p, Envelope.wrap(ruling, source="partner/court", subject=ruling.partner_reference,
                                         correlationid=request.correlationid, actor="partner:court",
                                         traceparent=request.traceparent))  # fmt: skip

    answer = ruling.event_type
    spans = await trace_with(p, trace_id, (f"fold {answer}", "caseflow-metrics-writer"),
                             (f"process {answer}", "caseflow-mediation"))  # fmt: skip
    by_id, root = one_tree(spans, trace_id)
    assert {s["localEndpoint"]["serviceName"] for s in spans} >= SERVICES
    assert hops([root]) == [("caseflow-intake", "SERVER")] and root["name"].startswith("post /requests")

    # from the metrics writer's fold of the court's answer back to the citizen's request, hop by hop
    [fold] = named(spans, f"fold {answer}", "caseflow-metrics-writer")
    path = path_to_root(by_id, fold)
    assert path[-1] is root and hops(path)[0] == ("caseflow-metrics-writer", "CONSUMER")
    # the court's answer continues the router's publish to the court's outbound topic
    assert publish_to_court(path[1], p, "caseflow.mediation.confirmation_requested")
    for dept in ("caseflow-intake", "caseflow-mediation"):  # each department published and another consumed
        assert (dept, "PRODUCER") in hops(path)
    assert {("caseflow-mediation", "CONSUMER"), ("caseflow-router", "CONSUMER")} <= set(hops(path))

    # the metrics writer folded every step of the case in this trace, each a child of the span that published it
    folds = [s for s in spans if s["name"].startswith("fold ")]
    assert {s["name"] for s in folds} >= {
        "fold caseflow.intake.request_received", "fold caseflow.intake.request_referred",
        "fold caseflow.mediation.dispute_registered", "fold caseflow.mediation.confirmation_requested",
    }  # fmt: skip
    assert all(by_id[s["parentId"]]["kind"] == "PRODUCER" for s in folds)


async def test_a_court_notice_is_one_trace_through_legal_aid_the_courts_outbound_topic_and_the_metrics(
    running: Platform,
) -> None:
    """通知辩护: the court's notice opens a legal aid case, staff assign a lawyer, the court is told on its topic."""
    p = running
    reference = f"(2026)湘1002刑初{uuid.uuid4().hex[:6]}号"
    notice = NotifiedDefenceRequested(
        partner_reference=reference, kind=DefenceKind.NOTIFIED_DEFENCE, defendant_ref="p-" + "d" * 32, region=REGION,
        stage=ProceedingStage.TRIAL, charge="theft", notified_at=datetime.now(UTC) - timedelta(hours=1),
    )  # fmt: skip
    await send_as_court(p, Envelope.wrap(notice, source="partner/court", subject=reference,
                                         correlationid=f"corr-{reference}", actor="partner:court"))  # fmt: skip
    case_id = notice_case_id("court", reference, "notified_defence")

    async def opened() -> bool:
        return (await p.legal_aid.get(f"/applications/{case_id}")).status_code == 200

    await eventually(opened, timeout=60, what="the court's notice opened a legal aid case")
    r = await p.legal_aid.post(f"/applications/{case_id}/assign", json={"provider_id": "cz-lawyer-001"})
    assert r.status_code == 200 and r.json()["status"] == "assigned", r.text

    told = await sent_to_court(p, "caseflow.legal_aid.assignment_notified")
    trace_id = trace_id_of(told)
    spans = await trace_with(p, trace_id, (f"fold {told.type}", "caseflow-metrics-writer"),
                             (f"publish {told.type}", "caseflow-router"))  # fmt: skip
    by_id, root = one_tree(spans, trace_id)
    # the notice came without trace context: legal aid's handling of it begins the case's trace
    assert hops([root]) == [("caseflow-legal_aid", "CONSUMER")]
    assert root["name"] == f"process {notice.event_type}"
    [outbound] = [s for s in spans if publish_to_court(s, p, told.type)]
    [fold] = named(spans, f"fold {told.type}", "caseflow-metrics-writer")
    for leaf in (outbound, fold):  # the court's topic and the metrics hang off legal aid's publish of the notice
        path = path_to_root(by_id, leaf)
        assert path[-1] is root
        assert ("caseflow-legal_aid", "PRODUCER") in hops(path)
        assert any(s["name"] == "execute assign" for s in path)  # the staff step joined the case's trace
    assert named(spans, "fold caseflow.legal_aid.defence_notified", "caseflow-metrics-writer")


async def test_a_rejection_goes_back_to_the_court_in_the_trace_of_the_event_it_refuses(running: Platform) -> None:
    """A notice for a region no legal aid profile serves is refused; the court's rejection notice continues the
    trace context the court sent, through legal aid's handling of it and the router."""
    p = running
    court_trace, court_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    reference = f"(2026)京0101刑初{uuid.uuid4().hex[:6]}号"
    notice = NotifiedDefenceRequested(
        partner_reference=reference, kind=DefenceKind.NOTIFIED_DEFENCE, defendant_ref="p-" + "e" * 32,
        region="110101001000", stage=ProceedingStage.TRIAL, charge="theft", notified_at=datetime.now(UTC),
    )  # fmt: skip
    traceparent = f"00-{court_trace}-{court_span}-01"  # the court's own span, in its own tracing
    await send_as_court(p, Envelope.wrap(notice, source="partner/court", subject=reference, correlationid=reference,
                                         actor="partner:court", traceparent=traceparent))  # fmt: skip

    rejected = await sent_to_court(p, "caseflow.platform.partner_event_rejected")
    assert rejected.data["partner_reference"] == reference and rejected.data["rejected_by"] == "legal_aid"
    assert trace_id_of(rejected) == court_trace
    spans = await trace_with(p, court_trace, (f"publish {rejected.type}", "caseflow-router"))
    by_id = {s["id"]: s for s in spans}
    [outbound] = [s for s in spans if publish_to_court(s, p, rejected.type)]
    path = path_to_root(by_id, outbound)  # up to the court's span, which the court keeps
    assert hops(path) == [
        ("caseflow-router", "PRODUCER"), ("caseflow-router", "CONSUMER"),
        ("caseflow-legal_aid", "PRODUCER"), ("caseflow-legal_aid", "CONSUMER"),
    ]  # fmt: skip
    assert path[-1]["parentId"] == court_span and path[-1]["name"] == f"process {notice.event_type}"
