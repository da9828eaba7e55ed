"""Gateway validation, authorisation and idempotency without a broker (in-memory key store and publisher)."""

from datetime import UTC, datetime
from typing import get_args

import httpx
import pytest

from services.gateway.api import PartnerName
from services.gateway.config import Settings
from services.gateway.handlers import Gateway, MemoryKeyStore, decode_cursor, encode_cursor, kafka_publisher
from services.gateway.main import create_app
from shared.envelope import Envelope
from shared.errors import ValidationFailed
from shared.events import registry
from shared.settings import PlatformSettings
from shared.topics import PARTNERS, Topics
from tests.conftest import token
from tests.fakes import RecordingProducer, recorded_spans

PLATFORM = PlatformSettings(topic_prefix="unitgw")


def referral_data(**kw):
    return {
        "kind": "police_110",
        "dispute_type": "neighbourhood",
        "region": "431002001000",
        "parties": ["p-" + "a" * 32],
        "summary": "楼上漏水致楼下受损",
        "referred_at": datetime.now(UTC).isoformat(),
        **kw,
    }


@pytest.fixture
def published():
    return []


@pytest.fixture
async def client(published):
    app = create_app(Settings(platform=PLATFORM))

    async def publish(topic: str, env: Envelope) -> None:
        published.append((topic, env))

    app.state.gateway = Gateway(Topics("unitgw"), registry, MemoryKeyStore(), publish)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw") as c:
        yield c


def police(**extra):
    return {**token(PLATFORM, "partner:police", ["partner:police"]), **extra}


def body(**kw):
    return {"type": "caseflow.partner.dispute_referred", "data": referral_data(), "partner_reference": "110-1", **kw}


async def test_a_valid_event_is_produced_to_the_partners_inbound_topic(client, published):
    r = await client.post("/partners/police/events", json=body(correlation_id="corr-1"), headers=police())
    assert r.status_code == 202, r.text
    [(topic, env)] = published
    assert topic == "unitgw.partner.police.inbound"
    assert env.source == "partner/police" and env.subject == "110-1" and env.correlationid == "corr-1"
    assert env.actor == "partner:police" and env.id == r.json()["event_id"]
    assert env.payload(registry).partner_reference == "110-1"


async def test_same_idempotency_key_same_event_id_produced_once(client, published):
    h = police(**{"Idempotency-Key": "key-00000001"})
    same = body()
    first = await client.post("/partners/police/events", json=same, headers=h)
    again = await client.post("/partners/police/events", json=same, headers=h)
    assert first.status_code == again.status_code == 202
    assert first.json()["event_id"] == again.json()["event_id"]
    assert again.json()["duplicate"] is True and len(published) == 1
    other = await client.post("/partners/police/events", json={**same, "partner_reference": "110-2"}, headers=h)
    assert other.status_code == 409 and other.json()["errors"][0]["field"] == "Idempotency-Key"


@pytest.mark.parametrize(
    ("headers", "path", "status"),
    [
        ({}, "/partners/police/events", 401),
        ("court-token", "/partners/police/events", 403),  # another partner's path
        ("staff-token", "/partners/police/events", 403),  # no partner scope
        ("police-scope-only", "/partners/court/events", 403),
    ],
)
async def test_only_the_partners_own_token_may_act_for_it(client, published, headers, path, status):
    tokens = {
        "court-token": token(PLATFORM, "partner:court", ["partner:court"]),
        "staff-token": token(PLATFORM, "dept:mediation", ["mediation:write"]),
        "police-scope-only": token(PLATFORM, "partner:police", ["partner:police"]),
    }
    h = tokens.get(headers, {}) if isinstance(headers, str) else headers
    post = await client.post(path, json=body(), headers=h)
    get = await client.get(path, headers=h)
    assert post.status_code == get.status_code == status
    assert post.headers["content-type"] == "application/problem+json"
    assert published == []


async def test_a_token_naming_one_partner_with_anothers_scope_is_refused(client, published):
    forged = token(PLATFORM, "partner:police", ["partner:court"])
    r = await client.post("/partners/court/events", json=body(), headers=forged)
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "partner"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (body(type="caseflow.partner.no_such_event"), "type"),
        (body(type="caseflow.mediation.referral_acknowledged"), "type"),  # a notice, not a request
        (body(type="caseflow.partner.judicial_confirmation_decided"), "type"),  # court only
        (body(version=2), "version"),
        (body(data=referral_data(region="4310")), "data.region"),
        (body(data=referral_data(referred_at="2024-12-31T09:00:00+08:00")), "data.referred_at"),  # outside calendar
        (body(data=referral_data(parties=[])), "data.parties"),
        (body(data={**referral_data(), "extra": 1}), "data.extra"),
        (body(data=referral_data(partner_reference="110-other")), "data.partner_reference"),
        ({"type": "caseflow.partner.dispute_referred", "data": referral_data()}, "partner_reference"),
        (body(correlation_id="bad id"), "correlation_id"),
    ],
)
async def test_invalid_events_are_422_naming_the_field(client, published, payload, field):
    r = await client.post("/partners/police/events", json=payload, headers=police())
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in r.json()["errors"]]
    assert published == []


async def test_oversized_payload_is_413_and_bad_idempotency_key_is_422(client, published):
    huge = body(data=referral_data(summary="x" * 70_000))
    r = await client.post("/partners/police/events", json=huge, headers=police())
    assert r.status_code == 413 and r.json()["errors"][0]["field"] == "data"
    r = await client.post("/partners/police/events", json=body(), headers=police(**{"Idempotency-Key": "x"}))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert published == []


async def test_a_bad_cursor_is_422_naming_after(client):
    r = await client.get("/partners/police/events", params={"after": "!!not-a-cursor"}, headers=police())
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "after"


def test_cursor_round_trip_and_refusals():
    assert decode_cursor(encode_cursor({0: 5, 2: 11})) == {0: 5, 2: 11}
    assert decode_cursor(None) == {}
    for bad in ("e30", encode_cursor({0: -1}), "bm90IGpzb24"):
        if bad == "e30":  # "{}" is a valid, empty cursor
            assert decode_cursor(bad) == {}
            continue
        with pytest.raises(ValidationFailed):
            decode_cursor(bad)


def test_every_partner_has_its_gateway_path():
    """The path's partner names are the platform's partners (the petition office, 12345 and 110 included)."""
    assert get_args(PartnerName) == PARTNERS


async def test_12345_posts_a_transfer_over_the_gateway_and_may_not_refer_disputes(client, published):
    """Seed 004 (12345 联动): the hotline's transfer goes to its own inbound topic; a dispute referral is not its to
    send (422 naming the type)."""
    headers = token(PLATFORM, "partner:hotline_12345", ["partner:hotline_12345"])
    transfer = {
        "type": "caseflow.partner.call_transferred",
        "partner_reference": "12345-431002-0009",
        "data": {"region": "431002001000", "kind": "help", "topic": "labour", "reason": "拖欠工资",
                 "asked": "法律咨询", "transferred_at": datetime.now(UTC).isoformat()},
    }  # fmt: skip
    r = await client.post("/partners/hotline_12345/events", json=transfer, headers=headers)
    assert r.status_code == 202, r.text
    [(topic, env)] = published
    assert topic == "unitgw.partner.hotline_12345.inbound" and env.source == "partner/hotline_12345"
    r = await client.post("/partners/hotline_12345/events", json=body(), headers=headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "type"


async def test_an_event_posted_with_a_w3c_traceparent_header_continues_that_trace():
    """A partner that answers with the `traceparent` it pulled (EventOut.traceparent) keeps the case's one trace."""
    spans = recorded_spans()
    producer = RecordingProducer()
    app = create_app(Settings(platform=PLATFORM))
    app.state.gateway = Gateway(Topics("unitgw"), registry, MemoryKeyStore(), kafka_publisher(producer))  # type: ignore[arg-type]
    theirs = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw") as c:
        r = await c.post("/partners/police/events", json=body(), headers=police(traceparent=theirs))
    assert r.status_code == 202, r.text
    [sent] = producer.envelopes("unitgw.partner.police.inbound")
    assert sent.traceparent is not None and sent.traceparent.split("-")[1] == theirs.split("-")[1]
    [publish] = [s for s in spans.get_finished_spans() if s.name == "publish caseflow.partner.dispute_referred"]
    assert format(publish.context.span_id, "016x") == sent.traceparent.split("-")[2]  # the message's parent span
    spans.shutdown()
