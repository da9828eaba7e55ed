"""One trace in Zipkin from the citizen's request to the metrics: the services, the partner router and the metrics
writer run as `make run` runs them (subprocesses, each exporting its spans to Zipkin with `caseflow run`'s
settings), on the session's Kafka, PostgreSQL and Zipkin.

The path: a walk-in request at intake, referred to mediation (调解), registered there from the intake topic; the
mediator's steps up to a signed agreement and the request for judicial confirmation (司法确认, court outbound via
the router); the court's ruling, sent back with the trace context it received; the metrics writer folding it all.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from caseflow_cli.run import telemetry_env
from caseflow_cli.supervisor import Supervisor, module, service
from services.mediation.handlers import referral_dispute_id
from shared import kafka
from shared.contracts.partners import ConfirmationOutcome, JudicialConfirmationDecided
from shared.envelope import Envelope
from shared.settings import PlatformSettings
from shared.topics import Topics
from tests.conftest import token
from tests.integration.helpers import drop_schemas, eventually, free_ports, read_topic
from tests.integration.intake.test_intake_service import id_number

pytestmark = pytest.mark.integration
REGION = "431002001000"  # 郴州市北湖区人民路街道
SERVICES = {"caseflow-intake", "caseflow-mediation", "caseflow-router", "caseflow-metrics-writer"}


@dataclass
class Platform:
    settings: PlatformSettings
    intake: httpx.AsyncClient
    mediation: httpx.AsyncClient
    zipkin: httpx.AsyncClient


@pytest.fixture
async def running(platform: PlatformSettings, zipkin_up: str, tmp_path: Path) -> AsyncIterator[Platform]:
    await kafka.ensure_topics(platform)
    intake_port, mediation_port = free_ports(2)
    env = {
        **telemetry_env(zipkin_up),
        "OTEL_BSP_SCHEDULE_DELAY": "300",  # export every 0.3 s (5 s by default): the test reads Zipkin soon after
        "CASEFLOW_KAFKA_BOOTSTRAP": platform.kafka_bootstrap,
        "CASEFLOW_DATABASE_URL": platform.database_url.get_secret_value(),
        "CASEFLOW_TOPIC_PREFIX": platform.topic_prefix,
        "CASEFLOW_PARTITIONS": str(platform.partitions),
        "CASEFLOW_LOG_LEVEL": "WARNING",
        "METRICS_STATE_DIR": str(tmp_path / "metrics-state"),
    }
    sup = Supervisor(env, tmp_path / "logs")
    programs = [
        service("intake", intake_port),
        service("mediation", mediation_port),
        module("router", "integrations.router"),
        module("metrics-writer", "services.metrics.writer"),
    ]
    try:
        for program in programs:
            sup.start(program)
        for program in programs:
            await asyncio.to_thread(sup.wait_ready, program.name, 120)
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{intake_port}", timeout=20,
                              headers=token(platform, "dept:intake", ["intake:read", "intake:write"])) as intake,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{mediation_port}", timeout=20,
                              headers=token(platform, "dept:mediation", ["mediation:read", "mediation:write"])) as med,
            httpx.AsyncClient(base_url=zipkin_up, timeout=10) as zipkin,
        ):  # fmt: skip
            yield Platform(platform, intake, med, zipkin)
    finally:
        sup.stop_all()
        await drop_schemas(platform, "intake", "mediation", "router")


def trace_id_of(env: Envelope) -> str:
    assert env.traceparent is not None, f"{env.type} carries no traceparent"
    return env.traceparent.split("-")[1]


def path_to_root(spans: dict[str, dict[str, Any]], span: dict[str, Any]) -> list[dict[str, Any]]:
    """`span` and its ancestors up to the trace's root."""
    path = [span]
    while "parentId" in path[-1]:
        path.append(spans[path[-1]["parentId"]])
    return path


def named(spans: list[dict[str, Any]], name: str, service: str) -> list[dict[str, Any]]:
    return [s for s in spans if s.get("name") == name.lower() and s["localEndpoint"]["serviceName"] == service]


async def test_one_trace_from_the_citizens_request_through_every_kafka_hop_to_the_metrics(
    running: Platform,
) -> None:
    topics = Topics(running.settings.topic_prefix)
    person = {"name": "王五", "id_number": id_number("43100219800101123"), "phone": "13700137000"}
    walk_in = {"channel": "walk_in", "level": "town", "region": REGION, "kind": "help", "topic": "neighbourhood",
               "person": person}  # fmt: skip
    r = await running.intake.post("/requests", json=walk_in)
    assert r.status_code == 201, r.text
    request_id = r.json()["request_id"]
    r = await running.intake.post(f"/requests/{request_id}/refer", json={
        "to_department": "mediation", "matter": "楼上漏水致楼下受损", "dispute_type": "neighbourhood",
    })  # fmt: skip
    assert r.status_code == 200, r.text

    dispute_id = referral_dispute_id("intake", request_id)
    med = running.mediation

    async def registered() -> bool:
        return (await med.get(f"/disputes/{dispute_id}")).status_code == 200

    await eventually(registered, timeout=60, what="the intake referral registered by mediation")
    steps = (("assign", {}), ("sessions", {"minutes": "双方同意修缮"}), ("agreement", {"terms": "楼上住户修缮并赔偿"}))
    for step, body in steps:
        r = await med.post(f"/disputes/{dispute_id}/{step}", json=body)
        assert r.status_code == 200, r.text
    r = await med.post(f"/disputes/{dispute_id}/request-confirmation", json={})
    assert r.status_code == 200 and r.json()["status"] == "confirmation_requested", r.text

    # the court reads the request on its outbound topic and answers with the trace context it received (W3C)
    records = await read_topic(running.settings, topics.partner_outbound("court"), expect=1, timeout=60)
    [request] = [e for e in (Envelope.from_kafka(m.value, m.headers) for m in records)
                 if e.type == "caseflow.mediation.confirmation_requested"]  # fmt: skip
    trace_id = trace_id_of(request)
    ruling = JudicialConfirmationDecided(partner_reference=f"(2026)湘1002民特{uuid.uuid4().hex[:6]}号",
                                         dispute_id=dispute_id, outcome=ConfirmationOutcome.CONFIRMED,
                                         decided_at=datetime.now(UTC))  # fmt: skip
    answer = Envelope.wrap(ruling, source="partner/court", subject=ruling.partner_reference,
                           correlationid=request.correlationid, actor="partner:court",
                           traceparent=request.traceparent)  # fmt: skip
    producer = kafka.producer(running.settings)
    await producer.start()
    try:
        key, value, headers = answer.to_kafka()
        await producer.send_and_wait(topics.partner_inbound("court"), value=value, key=key, headers=headers)
    finally:
        await producer.stop()

    spans: list[dict[str, Any]] = []

    async def folded_in_zipkin() -> bool:
        r = await running.zipkin.get(f"/api/v2/trace/{trace_id}")
        spans[:] = r.json() if r.status_code == 200 else []
        return bool(named(spans, f"fold {answer.type}", "caseflow-metrics-writer")) and bool(
            named(spans, f"process {answer.type}", "caseflow-mediation")
        )

    await eventually(folded_in_zipkin, timeout=90, what=lambda: f"the ruling folded, in trace {trace_id}: {spans}")

    by_id = {s["id"]: s for s in spans}
    assert {s["traceId"] for s in spans} == {trace_id}
    assert {s["localEndpoint"]["serviceName"] for s in spans} >= SERVICES
    [root] = [s for s in spans if "parentId" not in s]  # one tree, every parent in it
    assert root["localEndpoint"]["serviceName"] == "caseflow-intake" and root["kind"] == "SERVER"
    assert root["name"].startswith("post /requests")  # the citizen's request

    # from the metrics writer's fold of the court's answer back to the citizen's request, hop by hop
    [fold] = named(spans, f"fold {answer.type}", "caseflow-metrics-writer")
    path = path_to_root(by_id, fold)
    assert path[-1] is root
    services = [s["localEndpoint"]["serviceName"] for s in path]
    assert services[0] == "caseflow-metrics-writer" and set(services) >= SERVICES
    outbound = path[1]  # the court's answer continues the router's publish to the court's outbound topic
    assert outbound["localEndpoint"]["serviceName"] == "caseflow-router" and outbound["kind"] == "PRODUCER"
    assert outbound["tags"]["messaging.destination.name"] == topics.partner_outbound("court")
    assert outbound["name"] == "publish caseflow.mediation.confirmation_requested"
    hops = [(s["localEndpoint"]["serviceName"], s.get("kind")) for s in path]
    for service_name in ("caseflow-intake", "caseflow-mediation"):  # each department published and consumed
        assert (service_name, "PRODUCER") in hops
    assert ("caseflow-mediation", "CONSUMER") in hops and ("caseflow-router", "CONSUMER") in hops

    # the metrics writer folded every step of the case in this trace, each a child of the span that published it
    folds = [s for s in spans if s["name"].startswith("fold ")]
    assert {s["name"] for s in folds} >= {
        "fold caseflow.intake.request_received", "fold caseflow.intake.request_referred",
        "fold caseflow.mediation.dispute_registered", "fold caseflow.mediation.confirmation_requested",
    }  # fmt: skip
    assert all(by_id[s["parentId"]]["kind"] == "PRODUCER" for s in folds)
