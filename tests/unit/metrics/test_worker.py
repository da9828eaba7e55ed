"""The worker's pieces without Kafka: decoding (unknown → error for the dead-letter topic), live push to SSE
subscribers of a region, the published form of an indicator change and the target-crossing alert."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from types import SimpleNamespace

import pytest

from services.metrics.config import Settings
from services.metrics.engine import build_engine
from services.metrics.follower import Folder
from services.metrics.publisher import Publisher
from services.metrics.sources import decode
from shared.calendar import CHINA
from shared.envelope import Envelope
from shared.errors import MalformedEvent, UnknownEventType
from shared.events import registry
from shared.settings import PlatformSettings
from shared.topics import Topics
from tests.unit.metrics.helpers import T0, assigned, notified


def record(env: Envelope) -> SimpleNamespace:
    key, value, headers = env.to_kafka()
    return SimpleNamespace(key=key, value=value, headers=headers, topic="t", partition=0, offset=0)


def test_decode_refuses_unknown_types_and_invalid_payloads():
    unknown = Envelope(source="x", type="caseflow.legal_aid.teleported", subject="a", correlationid="a", actor="x")
    with pytest.raises(UnknownEventType):
        decode(record(unknown), registry)
    with pytest.raises(MalformedEvent):  # the documented type, but the payload breaks its contract
        decode(record(notified("la-1")), registry)
    bad = SimpleNamespace(value=b"{not json", headers=[("ce_type", b"caseflow.legal_aid.defence_notified")])
    with pytest.raises(MalformedEvent):
        decode(bad, registry)


async def test_region_subscribers_receive_indicator_changes_of_their_region_only():
    settings = Settings(follow=False, platform=PlatformSettings(topic_prefix="unitmetrics"))
    folder = Folder(settings.platform, build_engine(settings))
    city, other = folder.subscribe("431000000000"), folder.subscribe("440200000000")
    folder.engine.apply(notified("la-1", at=T0), T0)
    await folder._changed(folder.engine.take_changed(), T0)
    got = [city[0].get_nowait() for _ in range(city[0].qsize())]
    assert {g["indicator"] for g in got} >= {"criminal_aid_coverage", "aid_per_100k", "throughput"}
    coverage = next(g for g in got if g["indicator"] == "criminal_aid_coverage" and g["period"].startswith("day:"))
    assert (coverage["numerator"], coverage["denominator"], coverage["status"]) == (0, 1, "not_met")
    assert other[0].empty()
    city[1]()
    assert len(folder.listeners) == 1


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, dict[str, bytes]]] = []

    async def send(self, topic: str, *, value: bytes, key: bytes, headers: list) -> asyncio.Future[None]:
        self.sent.append((topic, key, value, dict(headers)))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def test_publisher_sends_changes_keyed_by_indicator_and_an_alert_only_when_a_target_is_crossed():
    settings = Settings(follow=False, platform=PlatformSettings(topic_prefix="unitmetrics"))
    engine = build_engine(settings)
    producer = FakeProducer()
    publisher = Publisher(Topics("unitmetrics"), producer)  # type: ignore[arg-type]
    key = f"criminal_aid_coverage|431000000000|day:{T0.astimezone(CHINA):%Y-%m-%d}".encode()

    engine.apply(notified("la-1", at=T0), T0)
    await publisher.changed(engine, engine.take_changed(), T0)
    assert {t for t, *_ in producer.sent} == {"unitmetrics.metrics.indicators"}
    first = [json.loads(v) for _, k, v, _ in producer.sent if k == key]
    assert [(b["numerator"], b["denominator"], b["status"]) for b in first] == [(0, 1, "not_met")]
    assert not any(k.startswith(b"alert|") for _, k, _, _ in producer.sent)  # no status before: no crossing

    producer.sent.clear()
    later = T0 + timedelta(hours=1)
    engine.apply(assigned("la-1", later), later)
    await publisher.changed(engine, engine.take_changed(), later)
    alerts = [(json.loads(v), h) for _, k, v, h in producer.sent if k == b"alert|" + key]
    assert len(alerts) == 1
    body, headers = alerts[0]
    assert (body["previous_status"], body["status"]) == ("not_met", "met")
    assert headers["ce_type"] == b"caseflow.metrics.indicator_target_crossed"


async def test_a_primed_publisher_alerts_on_the_first_crossing_after_a_restart():
    settings = Settings(follow=False, platform=PlatformSettings(topic_prefix="unitmetrics"))
    before = build_engine(settings)
    before.apply(notified("la-1", at=T0), T0)
    restarted = build_engine(settings)  # what a recovered writer holds: the same cases, nothing published yet
    restarted.restore_all(before.cases.values(), T0)
    producer = FakeProducer()
    publisher = Publisher(Topics("unitmetrics"), producer)  # type: ignore[arg-type]
    publisher.prime(restarted, T0)
    later = T0 + timedelta(hours=1)
    restarted.apply(assigned("la-1", later), later)
    await publisher.changed(restarted, restarted.take_changed(), later)
    assert any(k.startswith(b"alert|criminal_aid_coverage|431000000000|") for _, k, _, _ in producer.sent)
