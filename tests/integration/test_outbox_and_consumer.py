"""Outbox → Kafka → consumer with inbox on the real broker: exactly once, order per case, dead letters."""

import asyncio
import contextlib
from collections import defaultdict

import pytest

from caseflow_cli import infra
from shared import kafka
from shared.consumer import DeadLetters, EventConsumer, Inbox
from shared.envelope import Envelope
from shared.eventstore import PostgresEventStore
from shared.outbox import OutboxRelay
from shared.topics import Topics
from tests.integration.helpers import eventually, read_topic
from tests.unit.shared.sample import TicketNoted, TicketOpened, test_registry

pytestmark = pytest.mark.integration


class Recorder:
    def __init__(self) -> None:
        self.count: dict[str, int] = defaultdict(int)
        self.order: dict[str, list[int]] = defaultdict(list)

    async def __call__(self, env: Envelope, payload) -> None:
        self.count[env.id] += 1
        if isinstance(payload, TicketNoted):
            self.order[env.subject].append(int(payload.text))


class Harness:
    """A store with its relay and a consumer group reading the topic, all on the real servers."""

    def __init__(self, platform, db) -> None:
        self.platform = platform
        self.db = db
        self.topic = Topics(platform.topic_prefix).department("intake")
        self.store = PostgresEventStore(db)
        self.recorder = Recorder()
        self.tasks: list[asyncio.Task] = []
        self.relays: list[OutboxRelay] = []

    async def start(self) -> None:
        await kafka.ensure_topics(self.platform)
        self.producer = kafka.producer(self.platform)
        await self.producer.start()
        raw = kafka.consumer(self.platform, self.topic, group_id=f"{self.platform.topic_prefix}.test")
        await raw.start()
        await kafka.wait_for_positions(raw, self.platform.partitions)
        self.consumer = EventConsumer(
            raw,
            name="test",
            handle_any=self.recorder,
            inbox=Inbox(self.db, "test"),
            dead_letters=DeadLetters(self.producer, Topics(self.platform.topic_prefix).deadletter, "test"),
            registry=test_registry,
        )
        self.tasks.append(asyncio.create_task(self.consumer.run()))

    def relay(self, **kw) -> OutboxRelay:
        relay = OutboxRelay(
            self.store, self.producer, topic_for=lambda c: self.topic, wakeups=self.store.wakeups, **kw
        )
        self.relays.append(relay)
        self.tasks.append(asyncio.create_task(relay.run()))
        return relay

    async def append_case(self, stream: str, notes: range) -> None:
        version = (await self.store.read_stream(stream)).version
        events = [] if version else [TicketOpened(title=stream)]
        events += [TicketNoted(text=str(i), author="t") for i in notes]
        envs = [
            Envelope.wrap(e, source="caseflow/test", subject=stream, correlationid=stream, actor="t") for e in events
        ]
        await self.store.append(stream, version, envs)

    async def stop(self) -> None:
        self.consumer.stop()
        for r in self.relays:
            r.stop()
        for t in self.tasks:
            t.cancel()
            with contextlib.suppress(BaseException):
                await t
        await self.consumer.consumer.stop()
        await self.producer.stop()


@pytest.fixture
async def harness(platform, db):
    h = Harness(platform, db)
    await h.start()
    yield h
    await h.stop()


async def test_relay_crash_between_publish_and_mark_delivers_each_event_once(harness):
    class Crash(Exception):
        pass

    def crash_once(_commits):
        raise Crash("killed between publish and mark")

    for i in range(10):  # all stored first, so the crashing relay's one batch holds every event
        await harness.append_case(f"case-{i}", range(0, 5))
    first = harness.relay(before_mark=crash_once)
    await eventually(lambda: first.published == 0 and harness.tasks[-1].done(), what="first relay to crash")
    assert isinstance(harness.tasks[-1].exception(), Crash)
    await eventually(
        lambda: harness.consumer.stats.handled >= 60, what=lambda: f"first delivery {harness.consumer.stats}"
    )

    second = harness.relay()  # the crashed relay's claim was rolled back: its rows are there to take
    await eventually(lambda: second.published >= 60, timeout=60, what="republish")
    await eventually(lambda: harness.consumer.stats.duplicates >= 60, timeout=60, what="duplicates dropped")
    assert len(harness.recorder.count) == 60
    assert set(harness.recorder.count.values()) == {1}
    assert await harness.store.count_unpublished() == 0


async def test_kafka_stopped_mid_run_then_restarted_loses_and_doubles_nothing(harness, infra_settings):
    harness.relay()
    for i in range(5):
        await harness.append_case(f"k-{i}", range(0, 10))
    await eventually(lambda: harness.consumer.stats.handled >= 55, timeout=60, what="delivery before the outage")

    infra.terminate(infra_settings, "kafka", timeout=10)  # the test owns this broker
    try:
        for i in range(5):  # commands keep succeeding while the broker is down
            await harness.append_case(f"k-{i}", range(10, 20))
        assert await harness.store.count_unpublished() >= 5
    finally:
        infra.up(infra_settings)

    await eventually(lambda: harness.consumer.stats.handled >= 105, timeout=90, what="delivery after restart")
    assert len(harness.recorder.count) == 105
    assert set(harness.recorder.count.values()) == {1}
    for i in range(5):
        assert harness.recorder.order[f"k-{i}"] == list(range(20)), "per-case order must hold"


async def test_two_relays_at_once_keep_every_cases_order_and_lose_nothing(harness):
    harness.relay(batch_size=7)
    harness.relay(batch_size=5)
    for round_ in range(4):
        for i in range(6):
            await harness.append_case(f"r-{i}", range(round_ * 10, round_ * 10 + 10))
    await eventually(lambda: harness.consumer.stats.handled >= 246, timeout=60, what="delivery by two relays")
    assert sum(r.published for r in harness.relays) >= 246
    assert set(harness.recorder.count.values()) == {1}
    for i in range(6):
        assert harness.recorder.order[f"r-{i}"] == list(range(40)), "per-case order must hold"
    assert await harness.store.count_unpublished() == 0


async def test_malformed_and_unknown_messages_are_dead_lettered_and_the_consumer_goes_on(harness, platform):
    topics = Topics(platform.topic_prefix)
    producer = harness.producer
    good = Envelope.wrap(TicketOpened(title="ok"), source="s", subject="g-1", correlationid="g-1", actor="t")
    unknown = Envelope(source="s", type="test.no.such", subject="u-1", correlationid="u-1", actor="t")
    bad_payload = Envelope(source="s", type="test.ticket.opened", subject="b-1", correlationid="b-1", actor="t")
    await producer.send_and_wait(harness.topic, value=b"{not json", key=b"x", headers=[("ce_type", b"t")])
    await producer.send_and_wait(harness.topic, value=b"{}", key=b"y")  # not a CloudEvent at all
    for e in (unknown, bad_payload, good):
        k, v, h = e.to_kafka()
        await producer.send_and_wait(harness.topic, value=v, key=k, headers=h)

    await eventually(lambda: harness.recorder.count.get(good.id) == 1, what="the good event after the bad ones")
    dead = await read_topic(platform, topics.deadletter, expect=4)
    reasons = sorted(dict(r.headers)["dlq_reason"].decode() for r in dead)
    assert len(dead) == 4
    assert any("not JSON" in r for r in reasons)
    assert any("ce_type" in r for r in reasons)
    assert any("unknown event type 'test.no.such'" in r for r in reasons)
    assert any("title" in r for r in reasons)
    for r in dead:
        h = dict(r.headers)
        assert h["dlq_topic"].decode() == harness.topic and h["dlq_offset"].decode().isdigit()
    assert harness.consumer.stats.dead_lettered == 4
