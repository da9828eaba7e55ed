"""Platform core: event store append, outbox relay, consumer with inbox — each against its raw baseline measured
in the same run, each with the store empty and preloaded (bench.preload: 1M streams, 10M events).

- append: one event per call, sequential, to a new stream with an idempotency key (as a command does), against a
  raw single-row `INSERT` round trip on the same server (autocommit, same pool, same envelope text). The four
  variants (raw, empty, preloaded new stream, preloaded existing stream) run in interleaved rounds, so the
  machine's load drifts over all of them alike.
- relay: the outbox holding N events (10 per commit) published to Kafka, against the idempotent producer sending
  the same events in a loop.
- consumer: the platform consumer (decode, inbox dedupe, the handler's write — an append of the event to the
  store under the event id as idempotency key, as department handlers do —, inbox record, offset commit) against
  a raw aiokafka loop that consumes and decodes the same topic (envelope and typed payload).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid

import shared.contracts  # noqa: F401
from bench import preload
from bench.common import Report, Row, Timer, percentile
from shared import kafka
from shared.consumer import DeadLetters, EventConsumer, Inbox
from shared.contracts.intake import RequestReferred
from shared.db import Database
from shared.envelope import Envelope
from shared.events import registry
from shared.eventstore import PostgresEventStore
from shared.outbox import OutboxRelay
from shared.settings import PlatformSettings
from shared.topics import Topics

N_APPEND = 4000  # per variant, over ROUNDS interleaved rounds
ROUNDS = 8
WARM = 2  # rounds, not counted
N_MESSAGES = 5000
APPEND_GOAL = "≥ 0.5; preloaded p99 ≤ 1.2× empty"

RAW_TABLE = """
CREATE TABLE raw_events (
    stream_id text NOT NULL, version integer NOT NULL, position bigint GENERATED ALWAYS AS IDENTITY,
    type text NOT NULL, envelope jsonb NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, version)
)"""
RAW_INSERT = "INSERT INTO raw_events (stream_id, version, type, envelope) VALUES (%s, %s, %s, %s::jsonb)"


def sample_event(case: str) -> Envelope:
    payload = RequestReferred(
        to_department="legal_aid", matter="拖欠工资 unpaid wages, needs representation", region="431002001001"
    )
    return Envelope.wrap(payload, source="caseflow/bench", subject=case, correlationid=case, actor="dept:intake")


def new_case() -> str:
    return f"rq-{uuid.uuid4().hex}"


async def scratch(settings: PlatformSettings, name: str) -> Database:
    """An empty store of the benchmark's own (dropped by the caller)."""
    db = Database.for_service(settings, name, max_size=settings.database_pool_size)
    await db.drop()
    await db.open()
    return db


async def preloaded(settings: PlatformSettings, pre: preload.Preload) -> Database:
    db = Database(preload.url_of(settings), pre.schema, max_size=settings.database_pool_size)
    await db.open()
    return db


# ---- append ----------------------------------------------------------------------------------------------------
async def bench_append(settings: PlatformSettings, pre: preload.Preload, report: Report) -> None:
    empty, full = await scratch(settings, "core_append"), await preloaded(settings, pre)
    async with empty.pool.connection() as conn:
        await conn.execute(RAW_TABLE)
    stores = {"empty": PostgresEventStore(empty), "new": PostgresEventStore(full), "existing": PostgresEventStore(full)}
    per_round = N_APPEND // ROUNDS
    existing = iter(random.sample(range(pre.streams), N_APPEND + WARM * per_round))  # each stream at most once
    lat: dict[str, list[float]] = {k: [] for k in ("raw", *stores)}
    secs = dict.fromkeys(lat, 0.0)

    async def raw_round() -> None:
        for _ in range(per_round):
            e = sample_event(new_case())
            text = json.dumps(e.to_dict(), ensure_ascii=False, separators=(",", ":"))
            t0 = time.perf_counter()
            async with empty.pool.connection() as conn:
                await conn.execute(RAW_INSERT, (e.subject, 1, e.type, text))
            lat["raw"].append((time.perf_counter() - t0) * 1000)

    async def store_round(kind: str) -> None:
        store = stores[kind]
        for _ in range(per_round):
            if kind == "existing":
                stream, version = pre.stream_id(next(existing)), preload.EVENTS_PER_STREAM
            else:
                stream, version = new_case(), 0
            e = sample_event(stream)
            t0 = time.perf_counter()
            await store.append(stream, version, [e], idempotency_key=f"cmd:{e.id}")
            lat[kind].append((time.perf_counter() - t0) * 1000)

    try:
        for _ in range(WARM):  # warm up pools, plans and caches
            await raw_round()
            for kind in stores:
                await store_round(kind)
        for v in lat.values():
            v.clear()
        for _ in range(ROUNDS):
            for kind in lat:
                with Timer() as t:
                    await (raw_round() if kind == "raw" else store_round(kind))
                secs[kind] += t.seconds
    finally:
        await empty.close()
        await empty.drop()
        await full.close()
        await preload.reset(preload.url_of(settings), pre.schema, pre)
    rate = {k: len(v) / secs[k] for k, v in lat.items()}
    p99 = {k: percentile(v, 99) for k, v in lat.items()}
    raw = {"raw p50 ms": percentile(lat["raw"], 50), "raw p99 ms": p99["raw"]}
    report.add(
        Row(
            "event store append, 1 event/commit, sequential, new stream + idempotency key [empty store]",
            rate["empty"], "appends/s", rate["raw"], "raw single-row INSERT round trip", APPEND_GOAL,
            {"p50 ms": percentile(lat["empty"], 50), "p99 ms": p99["empty"], **raw},
        )
    )  # fmt: skip
    report.add(
        Row(
            f"event store append, 1 event/commit, sequential, new stream + idempotency key [preloaded {pre.label}]",
            rate["new"], "appends/s", rate["raw"], "raw single-row INSERT round trip", APPEND_GOAL,
            {
                "p50 ms": percentile(lat["new"], 50), "p99 ms": p99["new"], "p99 vs empty": p99["new"] / p99["empty"],
                **raw,
            },
        )
    )  # fmt: skip
    report.add(
        Row(
            f"event store append to an existing stream (version 10 → 11) [preloaded {pre.label}]",
            rate["existing"], "appends/s", rate["raw"], "raw single-row INSERT round trip", APPEND_GOAL,
            {
                "p50 ms": percentile(lat["existing"], 50), "p99 ms": p99["existing"],
                "p99 vs empty": p99["existing"] / p99["empty"],
            },
        )
    )  # fmt: skip


# ---- relay -----------------------------------------------------------------------------------------------------
async def bench_relay(
    settings: PlatformSettings, db: Database, variant: str, report: Report, reset: preload.Preload | None
) -> None:
    store = PostgresEventStore(db)
    events = [sample_event(new_case()) for _ in range(N_MESSAGES)]
    for i in range(0, N_MESSAGES, 10):  # 10 events per commit: inserts are not what is measured here
        chunk = events[i : i + 10]
        await store.append(chunk[0].subject, 0, chunk)
    producer = kafka.producer(settings)
    await producer.start()
    try:
        tag = uuid.uuid4().hex[:6]
        raw_topic, relay_topic = f"{settings.topic_prefix}.raw.{tag}", f"{settings.topic_prefix}.relay.{tag}"
        await kafka.ensure_topics(settings, [raw_topic, relay_topic])
        for topic in (raw_topic, relay_topic):  # metadata and leaders known before either side is timed
            await producer.send_and_wait(topic, value=b"{}", key=b"warm-up")
        with Timer() as t_raw:
            futures = []
            for e in events:
                k, v, h = e.to_kafka()
                futures.append(await producer.send(raw_topic, value=v, key=k, headers=h))
            await asyncio.gather(*futures)
        relay = OutboxRelay(store, producer, topic_for=lambda _c: relay_topic, batch_size=500)
        with Timer() as t_relay:
            await relay.drain(timeout=120)
        assert relay.published == N_MESSAGES, relay.published
    finally:
        await producer.stop()
        if reset is not None:
            await preload.reset(preload.url_of(settings), db.schema, reset)
    report.add(
        Row(
            f"outbox relay publish, {N_MESSAGES:,} events in commits of 10 [{variant}]",
            N_MESSAGES / t_relay.seconds, "events/s", N_MESSAGES / t_raw.seconds, "raw idempotent producer loop",
            "≥ 0.5",
        )
    )  # fmt: skip


# ---- consumer --------------------------------------------------------------------------------------------------
async def fill_topic(settings: PlatformSettings) -> str:
    topic = f"{settings.topic_prefix}.consume"
    await kafka.ensure_topics(settings, [topic, Topics(settings.topic_prefix).deadletter])
    producer = kafka.producer(settings)
    await producer.start()
    try:
        futures = []
        for _ in range(N_MESSAGES):
            k, v, h = sample_event(new_case()).to_kafka()
            futures.append(await producer.send(topic, value=v, key=k, headers=h))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return topic


async def raw_consume_decode(settings: PlatformSettings, topic: str, group: str) -> float:
    raw = kafka.consumer(settings, topic, group_id=group)
    await raw.start()
    seen, first = 0, 0.0
    try:
        while seen < N_MESSAGES:
            for records in (await raw.getmany(timeout_ms=500, max_records=500)).values():
                first = first or time.perf_counter()
                for r in records:
                    Envelope.from_kafka(r.value, r.headers).payload(registry)
                seen += len(records)
        return N_MESSAGES / (time.perf_counter() - first)
    finally:
        await raw.stop()


async def bench_consumer(
    settings: PlatformSettings, db: Database, topic: str, variant: str, report: Report, reset: preload.Preload | None
) -> None:
    group = f"{settings.topic_prefix}.{variant.split()[0]}"
    baseline = await raw_consume_decode(settings, topic, f"{group}.raw")
    store = PostgresEventStore(db)
    handled, first = 0, 0.0

    async def handler(env: Envelope, _payload: object) -> None:  # the handler's own write, keyed by the event
        nonlocal handled, first
        first = first or time.perf_counter()
        await store.append(f"in-{env.subject}", 0, [env], idempotency_key=f"evt:{env.id}")
        handled += 1

    producer = kafka.producer(settings)
    await producer.start()
    inner = kafka.consumer(settings, topic, group_id=f"{group}.inbox")
    await inner.start()
    ec = EventConsumer(
        inner,
        name=f"{group}.inbox",
        handle_any=handler,
        inbox=Inbox(db, f"{group}.inbox"),
        dead_letters=DeadLetters(producer, Topics(settings.topic_prefix).deadletter, "bench"),
    )
    try:
        task = asyncio.create_task(ec.run())
        deadline = time.monotonic() + 120
        while ec.stats.handled + ec.stats.duplicates < N_MESSAGES and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - first
        ec.stop()
        await task
    finally:
        await inner.stop()
        await producer.stop()
        if reset is not None:
            await preload.reset(preload.url_of(settings), db.schema, reset)
    if handled < N_MESSAGES:
        raise RuntimeError(f"consumer handled {handled}/{N_MESSAGES} in time")
    report.add(
        Row(
            f"consumer with inbox (decode, dedupe, handler append, inbox record, commit) [{variant}]",
            N_MESSAGES / elapsed, "events/s", baseline, "raw aiokafka consume + decode loop", "≥ 0.5",
            {"dead-lettered": ec.stats.dead_lettered},
        )
    )  # fmt: skip


async def run(settings: PlatformSettings, report: Report) -> None:
    pre = await preload.ensure(settings, report)
    await bench_append(settings, pre, report)
    for variant, reset in (("empty store", None), (f"preloaded {pre.label}", pre)):
        db = await (scratch(settings, "core_relay") if reset is None else preloaded(settings, pre))
        try:
            await bench_relay(settings, db, variant, report, reset)
        finally:
            await db.close()
            if reset is None:
                await db.drop()
    topic = await fill_topic(settings)
    for variant, reset in (("empty store", None), (f"preloaded {pre.label}", pre)):
        db = await (scratch(settings, "core_inbox") if reset is None else preloaded(settings, pre))
        try:
            await bench_consumer(settings, db, topic, variant, report, reset)
        finally:
            await db.close()
            if reset is None:
                await db.drop()
