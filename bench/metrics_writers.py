"""Metrics writers scaling out: N events sent as fast as the broker takes them to a topic prefix with six by-case
partitions, folded by one and then by two writer processes (`python -m services.metrics.writer`, once they have
split the partitions between them); timed from the first send until every criminal-aid coverage indicator is
published with the value one engine folding the same events gives, with the writers' CPU per event meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import BenchInfraSettings, Report, Row
from bench.metrics import events_of
from bench.writer_procs import cpu_seconds, stop_all, writer_process, writers_sharing
from caseflow_cli import infra
from services.metrics.aggregates import is_published
from services.metrics.config import Settings
from services.metrics.engine import build_engine
from shared import kafka
from shared.settings import PlatformSettings
from shared.topics import Topics

# events per phase: enough that the fixed tail (the last batch's shares reduced and published, ~0.5 s) weighs
# little beside the folding it times
EVENTS = 60_000


def expected_coverage(n: int) -> dict[bytes, tuple[float, float]]:
    """What one engine folding the n events publishes for criminal-aid coverage: key → (numerator, denominator)."""
    engine = build_engine(Settings())
    at = datetime.now(UTC) - timedelta(hours=6)
    for i in range(n // 2):
        for env in events_of(i, at):
            engine.apply(env, datetime.now(UTC))
    out = {}
    for key in engine.aggregates.cells:
        if key.startswith("criminal_aid_coverage|") and is_published(key):
            v = engine.value_of_cell(key, datetime.now(UTC))
            out[key.rpartition("|")[0].encode()] = (v.numerator, v.denominator)
    return out


async def published(platform: PlatformSettings, expected: dict[bytes, tuple[float, float]], timeout: float) -> float:
    """The moment every expected indicator was published with its expected value (perf_counter)."""
    consumer = kafka.consumer(platform, Topics(platform.topic_prefix).indicators, group_id=None,
                              isolation_level="read_uncommitted")  # fmt: skip
    await consumer.start()
    try:
        latest: dict[bytes, tuple[float, float]] = {}
        deadline = time.monotonic() + timeout
        while any(latest.get(k) != v for k, v in expected.items()):
            if time.monotonic() > deadline:
                missing = sum(latest.get(k) != v for k, v in expected.items())
                raise TimeoutError(f"{missing} of {len(expected)} indicators not published as expected")
            for records in (await consumer.getmany(timeout_ms=200, max_records=5000)).values():
                for r in records:
                    if r.key in expected:
                        body = json.loads(r.value)
                        latest[r.key] = (body["numerator"], body["denominator"])
        return time.perf_counter()
    finally:
        await consumer.stop()


@dataclass(frozen=True)
class Phase:
    """One phase: events/s to published indicators, and CPU ms per event meanwhile of the writers together, of the
    busiest writer, and of everything else on the box that the phase runs (the broker and this process, the
    producer and the indicator reader)."""

    rate: float
    writers_cpu: float
    busiest_cpu: float
    others_cpu: float


async def writers_rate(base: PlatformSettings, writers: int) -> Phase:
    """Events/s from the first send to every indicator published, with `writers` writer processes sharing the
    six by-case partitions (a topic prefix of its own; the events pre-encoded, sent as fast as the broker takes),
    and the CPU spent per event meanwhile (`Phase`)."""
    platform = base.model_copy(update={"topic_prefix": f"{base.topic_prefix}w{writers}", "partitions": 6})
    await kafka.ensure_topics(platform)
    topic = Topics(platform.topic_prefix).department("legal_aid")
    expected = expected_coverage(EVENTS)
    at = datetime.now(UTC) - timedelta(hours=6)
    records = [env.to_kafka() for i in range(EVENTS // 2) for env in events_of(i, at)]
    others = [os.getpid(), broker_pid()]
    with tempfile.TemporaryDirectory(prefix="bench-writers-") as home:
        logs = [Path(home) / f"writer-{i}.log" for i in range(writers)]
        procs = [writer_process(platform, Path(home) / f"state-{i}", log) for i, log in enumerate(logs)]
        try:
            await writers_sharing(procs, logs, platform.partitions)
            cpu = [cpu_seconds(proc.pid) for proc in procs]
            others_before = sum(map(cpu_seconds, others))
            producer = kafka.producer(platform, linger_ms=20, max_batch_size=512 * 1024)
            await producer.start()
            try:
                started = time.perf_counter()
                sends = [await producer.send(topic, value=v, key=k, headers=h) for k, v, h in records]
                await asyncio.gather(*sends)
            finally:
                await producer.stop()
            done = await published(platform, expected, timeout=300)
            used = [cpu_seconds(proc.pid) - before for proc, before in zip(procs, cpu, strict=True)]
            others_used = sum(map(cpu_seconds, others)) - others_before
            per_event = 1000 / EVENTS
            return Phase(EVENTS / (done - started), sum(used) * per_event, max(used) * per_event,
                         others_used * per_event)  # fmt: skip
        finally:
            stop_all(procs)


def broker_pid() -> int:
    kafka_server = infra.status(BenchInfraSettings()).kafka
    if kafka_server.pid is None:
        raise RuntimeError("the bench Kafka broker is not running")
    return kafka_server.pid


async def run(platform: PlatformSettings, report: Report) -> None:
    one, two = await writers_rate(platform, 1), await writers_rate(platform, 2)
    report.add(
        Row("metrics throughput to published indicators, 2 writer processes", two.rate, "events/s", one.rate,
            "1 writer process", "≥ 1.8x one", {"events": EVENTS, "by-case partitions": 6,
            "CPU ms/event 1 writer": one.writers_cpu, "CPU ms/event 2 writers": two.writers_cpu,
            "busiest of 2": two.busiest_cpu, "broker + bench CPU ms/event, 1 writer": one.others_cpu,
            "broker + bench, 2 writers": two.others_cpu, "cores": os.cpu_count() or 0})
    )  # fmt: skip
