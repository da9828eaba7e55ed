"""The faust writer on the real Kafka: events → folds → indicator via the query API and on `metrics.indicators`;
a duplicate counts once; unknown events are dead-lettered; a restarted writer recovers its state from its
changelog topic and a full replay of the source topics (the group's offsets rewound to zero) counts nothing twice;
a new query API follower starts from the writer's state in Kafka; a rebuild from offset zero equals the live state.

Two app starts in all (faust apps are slow to start); the restarted writer recovers from the changelog alone."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiokafka import TopicPartition

from services.metrics.config import Settings
from services.metrics.main import create_app
from services.metrics.rebuild import compare_with_writer, rebuild
from services.metrics.sources import source_topics
from services.metrics.topics import app_id, by_case_topic, changelog_topic, route_group
from services.metrics.writer import running_writer
from shared import kafka
from shared.calendar import CHINA
from shared.contracts.legal_aid import DefenceNotified, ProviderAssigned
from shared.envelope import Envelope
from shared.topics import Topics
from tests.conftest import token
from tests.integration.helpers import eventually, read_topic

pytestmark = pytest.mark.integration
REGION = "431002001001"
CITY = "431000000000"


def notice(case: str, at: datetime) -> Envelope:
    payload = DefenceNotified(
        kind="notified_defence", region=REGION, defendant_ref="p-" + "a" * 16, notified_by="court",
        partner_reference=f"court-{case}", stage="trial", charge="theft", notified_at=at,
    )  # fmt: skip
    return Envelope.wrap(payload, source="caseflow/legal_aid", subject=case, correlationid=case, actor="dept:legal_aid",
                         time=at)  # fmt: skip


def assignment(case: str, at: datetime) -> Envelope:
    payload = ProviderAssigned(
        provider_type="lawyer", provider_id="lw-1", assigned_at=at, due_at=at + timedelta(days=3), on_time=True
    )
    return Envelope.wrap(payload, source="caseflow/legal_aid", subject=case, correlationid=case, actor="dept:legal_aid",
                         time=at)  # fmt: skip


async def produce(platform, topic: str, envs: list[Envelope], raw: list[tuple[bytes, list]] | None = None) -> None:
    producer = kafka.producer(platform)
    await producer.start()
    try:
        for e in envs:
            key, value, headers = e.to_kafka()
            await producer.send_and_wait(topic, value=value, key=key, headers=headers)
        for value, headers in raw or []:
            await producer.send_and_wait(topic, value=value, key=b"x", headers=headers)
    finally:
        await producer.stop()


async def read_until(platform, topic: str, done, timeout: float = 15) -> list:
    consumer = kafka.consumer(platform, topic, group_id=None, isolation_level="read_uncommitted")
    await consumer.start()
    out: list = []
    try:
        deadline = time.monotonic() + timeout
        while not done(out):
            assert time.monotonic() < deadline, f"timed out reading {topic}"
            for records in (await consumer.getmany(timeout_ms=300)).values():
                out.extend(records)
    finally:
        await consumer.stop()
    return out


async def rewind_writer_group(platform) -> None:
    """Commit offset 0 for the (stopped) writer's router on every source partition and for its fold on every by-case
    partition: its next start routes and folds everything again."""
    topics = Topics(platform.topic_prefix)
    for group, names in ((route_group(platform), source_topics(topics)), (app_id(platform), [by_case_topic(platform)])):
        consumer = kafka.consumer(platform, group_id=group)
        await consumer.start()
        try:
            tps = [TopicPartition(t, p) for t in names for p in await kafka.partitions_of(consumer, t, timeout=10)]
            consumer.assign(tps)
            await consumer.commit(dict.fromkeys(tps, 0))
        finally:
            await consumer.stop()


def read_to(writer, topic: str) -> int:  # type: ignore[no-untyped-def]
    """Records of source topic `topic` the writer's router has passed on (offsets start at 0 in a fresh topic)."""
    return sum(offset for (t, _), offset in writer.router.read_to.items() if t == topic)


def cases_of(writer) -> dict:  # type: ignore[no-untyped-def]
    return {case.correlation_id: case for engine in writer.engines.values() for case in engine.all_cases()}


async def test_events_to_indicator_api_topic_duplicates_restart_and_rebuild(platform, tmp_path):
    settings = Settings(platform=platform, state_dir=tmp_path)
    topics = Topics(platform.topic_prefix)
    legal_aid = topics.department("legal_aid")
    now = datetime.now(UTC)
    first, second = notice("la-1", now - timedelta(hours=2)), notice("la-2", now - timedelta(hours=2))
    unknown = Envelope(source="caseflow/legal_aid", type="caseflow.legal_aid.teleported", subject="la-9",
                       correlationid="la-9", actor="x", data={})  # fmt: skip
    _, uv, uh = unknown.to_kafka()
    app = create_app(settings)
    headers = token(platform, "dept:ops", ["metrics:read"])

    async def coverage(client) -> dict:
        r = await client.get("/indicators/criminal_aid_coverage", params={"region": CITY, "period": "last-24h"})
        return r.json()

    async with (
        running_writer(settings) as writer,
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers) as client,
    ):
        assert writer.app.conf.id == f"{platform.topic_prefix}.metrics.writer"  # the group the ACL grants
        assert writer.owned() == set(range(platform.partitions))  # the only member owns every by-case partition
        # the same event twice (redelivery) + one of an unknown type
        await produce(platform, legal_aid, [first, first, second, assignment("la-1", now - timedelta(hours=1))],
                      raw=[(uv, uh)])  # fmt: skip

        async def visible() -> bool:
            body = await coverage(client)
            return (body["numerator"], body["denominator"]) == (1, 2)

        await eventually(visible, timeout=30, what="coverage 1/2 via the API")
        assert (await coverage(client))["status"] == "not_met"
        tl = (await client.get("/cases/court-la-1/timeline")).json()
        assert [s["event_type"] for s in tl["steps"]] == [
            "caseflow.legal_aid.defence_notified",
            "caseflow.legal_aid.provider_assigned",
        ]
        # at least once: faust may deliver an event again (it seeks back after a rebalance), so count offsets
        await eventually(
            lambda: read_to(writer, legal_aid) == 5 and writer.folded >= 4 and writer.dead_lettered >= 1,
            timeout=10,
            what="the writer routed all five events and folded or dead-lettered them",
        )
        assert len(writer.case("la-1").steps) == 2  # the duplicate notice counted once in the writer too
        dead = await read_topic(platform, topics.deadletter, expect=1, timeout=10)
        assert dict(dead[0].headers)["dlq_error"] == b"unknown_event_type"
        assert b"teleported" in dict(dead[0].headers)["dlq_reason"]

    day = "day:" + (now - timedelta(hours=2)).astimezone(CHINA).strftime("%Y-%m-%d")
    key = f"criminal_aid_coverage|{CITY}|{day}".encode()
    records = await read_until(platform, topics.indicators, lambda rs: any(
        r.key == key and json.loads(r.value)["denominator"] == 2 for r in rs))  # fmt: skip
    latest = [json.loads(r.value) for r in records if r.key == key][-1]
    assert (latest["numerator"], latest["denominator"], latest["status"]) == (1, 2, "not_met")
    assert (latest["target_from"], latest["annualised"]) == ("default", False)  # 100% (000, 001, 002): national
    assert any(dict(r.headers)["ce_type"] == b"caseflow.metrics.indicator_changed" for r in records)
    changelog = await read_topic(platform, changelog_topic(platform), expect=2, timeout=10)
    assert {r.key for r in changelog} == {b"la-1", b"la-2"}

    # restart with nothing but the changelog to recover from, and every source event replayed from offset zero
    await rewind_writer_group(platform)
    async with running_writer(settings) as writer2:
        assert writer2.recovered_cases == 2  # read from the changelog before any event was folded
        assert set(cases_of(writer2)) == {"la-1", "la-2"}
        await eventually(
            lambda: read_to(writer2, legal_aid) == 5 and writer2.folded >= 4 and writer2.dead_lettered >= 1,
            timeout=30,
            what=lambda: (
                f"the replay of all five source events (routed {writer2.router.read_to}, folded "
                f"{writer2.folded}, dead-lettered {writer2.dead_lettered})"
            ),
        )
        await eventually(lambda: writer2.reducer.active, timeout=20, what="the restarted writer's reducer")
        replayed = writer2.reducer.engine.value("criminal_aid_coverage", CITY, day, datetime.now(UTC))
        assert (replayed.numerator, replayed.denominator) == (1, 2)  # a replayed event never counts twice
        assert len(writer2.case("la-1").steps) == 2
        # a duplicate of an old event and a new one
        await produce(platform, legal_aid, [second, assignment("la-2", now - timedelta(minutes=30))])
        await eventually(
            lambda: writer2.reducer.engine.value("criminal_aid_coverage", CITY, day, datetime.now(UTC)).numerator == 2,
            timeout=20,
            what="second assignment folded after restart",
        )
        live = writer2.reducer.engine.value("criminal_aid_coverage", CITY, day, datetime.now(UTC))
        assert (live.numerator, live.denominator, live.status) == (2, 2, "met")

        def alerts(records) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
            found = [json.loads(r.value) for r in records if r.key == b"alert|" + key]
            return [(a["previous_status"], a["status"]) for a in found]

        # the first writer may already have alerted met -> not_met (la-1 met its target before la-2 arrived); the
        # restarted writer must add the crossing back to met
        crossed = await read_until(platform, topics.indicators, lambda rs: ("not_met", "met") in alerts(rs))
        assert alerts(crossed)[-1] == ("not_met", "met")
        at = datetime.now(UTC)
        rebuilt = await rebuild(settings, now=at, show_progress=False, with_event_ids=True)
        assert rebuilt.event_ids == {cid: case.event_ids for cid, case in cases_of(writer2).items()}

        async def compared() -> bool:  # what `caseflow rebuild --check` does, once the reducer has published
            comparison = await compare_with_writer(settings, show_progress=False)
            return comparison.equal and comparison.live_cases == 2 and comparison.published > 0

        await eventually(compared, timeout=20, what="the writers' state and published indicators = the rebuild")

        # a query API started now loads the writer's state from Kafka (offsets, then the changelog) and agrees
        later = create_app(settings)
        async with later.router.lifespan_context(later):
            folder = later.state.folder
            await eventually(folder.ready.is_set, timeout=20, what="the new follower caught up")
            assert {case.correlation_id for case in folder.engine.all_cases()} == {"la-1", "la-2"}
            assert folder.engine.aggregates.cells == rebuilt.engine.aggregates.cells
