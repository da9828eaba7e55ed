"""The worker's pieces without Kafka: decoding (unknown → error for the dead-letter topic), live push to SSE
subscribers of a region, and the published form of an indicator change."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from services.metrics.config import Settings
from services.metrics.worker import Folder, build_engine, decode
from shared.envelope import Envelope
from shared.errors import MalformedEvent, UnknownEventType
from shared.events import registry
from shared.settings import PlatformSettings
from tests.unit.metrics.helpers import T0, notified


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
    folder = Folder(settings.platform, build_engine(settings), snapshots=None, writer=False)  # type: ignore[arg-type]
    city, other = folder.subscribe("431000000000"), folder.subscribe("440200000000")
    touched = folder.engine.apply(notified("la-1", at=T0), T0)
    await folder._changed(touched, T0)
    got = [city[0].get_nowait() for _ in range(city[0].qsize())]
    assert {g["indicator"] for g in got} >= {"criminal_aid_coverage", "aid_per_100k", "throughput"}
    coverage = next(g for g in got if g["indicator"] == "criminal_aid_coverage" and g["period"].startswith("day:"))
    assert (coverage["numerator"], coverage["denominator"], coverage["status"]) == (0, 1, "not_met")
    assert other[0].empty()
    city[1]()
    assert len(folder.listeners) == 1
