"""Platform core: event store append, outbox relay, consumer with inbox — each against its raw baseline."""

from __future__ import annotations

import asyncio
import time
import uuid

from pymongo import AsyncMongoClient

import shared.contracts  # noqa: F401
from bench.common import Report, Row, Timer, percentile
from shared import kafka
from shared.consumer import DeadLetters, EventConsumer, Inbox
from shared.contracts.intake import RequestReferred
from shared.envelope import Envelope
from shared.eventstore import MongoEventStore
from shared.outbox import OutboxRelay
from shared.settings import PlatformSettings
from shared.topics import Topics

N_APPEND = 1500
N_MESSAGES = 5000


def sample_event(case: str) -> Envelope:
    payload = RequestReferred(
        to_department="legal_aid", matter="拖欠工资 unpaid wages, needs representation", region="431002001001"
    )
    return Envelope.wrap(payload, source="caseflow/bench", subject=case, correlationid=case, actor="dept:intake")


async def bench_append(db, report: Report) -> None:
    store = MongoEventStore(db)
    await store.ensure_indexes()
    raw = db["raw_inserts"]
    events = [sample_event(f"case-{i}") for i in range(N_APPEND)]
    docs = [{"_id": f"raw-{i}", "events": [e.to_dict()], "published": False} for i, e in enumerate(events)]

    raw_lat: list[float] = []
    with Timer() as t_raw:
        for d in docs:
            t0 = time.perf_counter()
            await raw.insert_one(d)
            raw_lat.append((time.perf_counter() - t0) * 1000)
    store_lat: list[float] = []
    with Timer() as t_store:
        for e in events:
            t0 = time.perf_counter()
            await store.append(e.subject, 0, [e])
            store_lat.append((time.perf_counter() - t0) * 1000)
    report.add(
        Row(
            "event store append (1 event/commit, sequential)",
            N_APPEND / t_store.seconds,
            "appends/s",
            N_APPEND / t_raw.seconds,
            "raw insert_one",
            extra={
                "p50 ms": percentile(store_lat, 50),
                "p99 ms": percentile(store_lat, 99),
                "raw p50 ms": percentile(raw_lat, 50),
                "raw p99 ms": percentile(raw_lat, 99),
            },
        )
    )


async def bench_relay(db, settings: PlatformSettings, report: Report) -> None:
    topics = Topics(settings.topic_prefix)
    store = MongoEventStore(db)
    await store.ensure_indexes()
    events = [sample_event(f"relay-{i}") for i in range(N_MESSAGES)]
    # 10 events per commit: a realistic command fans out few events, and inserts aren't what we measure here
    for i in range(0, N_MESSAGES, 10):
        chunk = events[i : i + 10]
        await store.append(f"relay-{i}", 0, chunk)
    producer = kafka.producer(settings)
    await producer.start()
    try:
        raw_topic, relay_topic = f"{settings.topic_prefix}.raw", topics.department("intake")
        await kafka.ensure_topics(settings, [raw_topic, relay_topic])
        with Timer() as t_raw:
            futures = []
            for e in events:
                k, v, h = e.to_kafka()
                futures.append(await producer.send(raw_topic, value=v, key=k, headers=h))
            await asyncio.gather(*futures)
        relay = OutboxRelay(store, producer, topic_for=lambda _c: relay_topic, batch_size=1000)
        with Timer() as t_relay:
            await relay.drain(timeout=120)
        assert relay.published == N_MESSAGES, relay.published
    finally:
        await producer.stop()
    report.add(
        Row(
            "outbox relay publish",
            N_MESSAGES / t_relay.seconds,
            "events/s",
            N_MESSAGES / t_raw.seconds,
            "raw idempotent producer loop",
            goal=">= 0.5",
        )
    )


async def bench_consumer(db, settings: PlatformSettings, report: Report) -> None:
    topic = f"{settings.topic_prefix}.consume"
    await kafka.ensure_topics(settings, [topic, Topics(settings.topic_prefix).deadletter])
    producer = kafka.producer(settings)
    await producer.start()
    try:
        futures = []
        for i in range(N_MESSAGES):
            k, v, h = sample_event(f"c-{i}").to_kafka()
            futures.append(await producer.send(topic, value=v, key=k, headers=h))
        await asyncio.gather(*futures)

        raw = kafka.consumer(settings, topic, group_id=f"{settings.topic_prefix}.raw")
        await raw.start()
        seen = 0
        with Timer() as t_raw:
            while seen < N_MESSAGES:
                for records in (await raw.getmany(timeout_ms=500, max_records=500)).values():
                    seen += len(records)
        await raw.stop()

        handled = 0

        async def handler(_env, _payload) -> None:
            nonlocal handled
            handled += 1

        inner = kafka.consumer(settings, topic, group_id=f"{settings.topic_prefix}.inbox")
        await inner.start()
        group = f"{settings.topic_prefix}.inbox"
        ec = EventConsumer(
            inner,
            name=group,
            handle_any=handler,
            inbox=Inbox(db, group),
            dead_letters=DeadLetters(producer, Topics(settings.topic_prefix).deadletter, "bench"),
        )
        with Timer() as t_inbox:
            task = asyncio.create_task(ec.run())
            while handled < N_MESSAGES:
                await asyncio.sleep(0.01)
            ec.stop()
            await task
        await inner.stop()
    finally:
        await producer.stop()
    report.add(
        Row(
            "consumer with inbox (decode + dedupe + commit)",
            N_MESSAGES / t_inbox.seconds,
            "events/s",
            N_MESSAGES / t_raw.seconds,
            "raw aiokafka consume loop",
            goal=">= 0.5",
        )
    )


async def run(settings: PlatformSettings, report: Report) -> None:
    client: AsyncMongoClient = AsyncMongoClient(settings.mongo_url, tz_aware=True)
    dbs = [client[f"{settings.topic_prefix}_core_{step}_{uuid.uuid4().hex[:6]}"] for step in range(3)]
    try:  # a database per step: the relay must see only its own backlog
        await bench_append(dbs[0], report)
        await bench_relay(dbs[1], settings, report)
        await bench_consumer(dbs[2], settings, report)
    finally:
        for db in dbs:
            await client.drop_database(db.name)
        await client.close()
