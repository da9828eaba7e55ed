"""Metrics rebuild: replay events/s against a raw consume+decode loop over the same topics, in the same run.

The topics hold N events of realistic case streams across the five reference cities (`bench.case_streams`,
seeded), written once under a topic prefix named after N and the seed, in six partitions, and reused by later
runs (the bench broker keeps its logs in `.cache/bench-infra`; a marker in `.cache/bench-replay` says the prefix
was written whole). The figure is `caseflow rebuild`'s replay (`services.metrics.replay`, two worker processes,
from start until the indicators are reduced); the baseline is one process consuming the same partitions and
decoding each record into its envelope (`Envelope.from_kafka`). N is 1,000,000 events (`--quick`: 100,000), or
`CASEFLOW_BENCH_REPLAY_EVENTS`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from bench import case_streams
from bench.common import Report, Row, bench_platform
from bench.preload import quick
from services.metrics.config import Settings
from services.metrics.replay.run import replay
from services.metrics.sources import source_partitions
from services.metrics.writer_state import records_below
from shared import kafka
from shared.envelope import Envelope
from shared.settings import PlatformSettings
from shared.topics import Topics

SEED = 21
FORMAT = 1  # bump when the generated streams change: the topics are then written again
PARTITIONS = 6
WORKERS = 2
MARKERS = Path(__file__).resolve().parents[1] / ".cache" / "bench-replay"
ONE_WORKER_UP_TO = 200_000  # events: at larger sizes the one-process replay is left out (it doubles the time)


def size() -> int:
    return int(os.environ.get("CASEFLOW_BENCH_REPLAY_EVENTS") or (100_000 if quick() else 1_000_000))


def topic_of(topics: Topics, suffix: str) -> str:
    if suffix.startswith("partner:"):
        return topics.partner_inbound(suffix.removeprefix("partner:"))
    return topics.department(suffix)


async def written(base: PlatformSettings, n: int) -> PlatformSettings:
    """A platform whose source topics hold the n generated events (written now unless a marker says they are)."""
    name = f"replay{n}s{SEED}f{FORMAT}"
    marker = MARKERS / name
    if marker.exists():
        return base.model_copy(update={"topic_prefix": marker.read_text().strip(), "partitions": PARTITIONS})
    prefix = f"{name}t{int(time.time())}"  # a run stopped while writing leaves its topics, never reused
    platform = base.model_copy(update={"topic_prefix": prefix, "partitions": PARTITIONS})
    await kafka.ensure_topics(platform)
    topics = Topics(prefix)
    producer = kafka.producer(platform, linger_ms=20, max_batch_size=512 * 1024)
    await producer.start()
    started = time.perf_counter()
    try:
        pending = []
        for i, (suffix, key, value, headers) in enumerate(case_streams.records(n, SEED)):
            pending.append(await producer.send(topic_of(topics, suffix), value=value, key=key, headers=headers))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending = []
                print(f"  written {i + 1:,} of {n:,} events ({time.perf_counter() - started:.0f} s)", flush=True)
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    MARKERS.mkdir(parents=True, exist_ok=True)
    marker.write_text(prefix)
    return platform


async def raw_consume_decode(platform: PlatformSettings) -> tuple[int, float]:
    """(records, events/s): one process reading every source partition to its end, decoding each envelope."""
    consumer = kafka.consumer(platform, group_id=None, max_partition_fetch_bytes=8 * 1024 * 1024)
    await consumer.start()
    try:
        tps = await source_partitions(consumer, Topics(platform.topic_prefix))
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        started, done = time.perf_counter(), 0
        async for _, records in records_below(consumer, ends, max_records=10_000):
            for msg in records:
                Envelope.from_kafka(msg.value, msg.headers)
            done += len(records)
        return done, done / (time.perf_counter() - started)
    finally:
        await consumer.stop()


async def run(base: PlatformSettings, report: Report) -> None:
    n = size()
    platform = await written(base, n)
    settings = Settings(platform=platform)
    events, raw = await raw_consume_decode(platform)
    result = await replay(settings, workers=WORKERS, show_progress=False)
    rate = result.events / result.seconds
    extra = {"events": result.events, "cases": result.cases, "seconds": result.seconds, "workers": WORKERS,
             "refused": sum(result.refused.values()), "busiest worker CPU s": result.worker_cpu_seconds,
             "main process CPU s": result.main_cpu_seconds}  # fmt: skip
    if n <= ONE_WORKER_UP_TO:
        one = await replay(settings, workers=1, show_progress=False)
        extra["1-worker events/s"] = one.events / one.seconds
    if 10_000_000 % n == 0:
        extra["10M events would take min"] = 10_000_000 / rate / 60
    report.add(
        Row(f"metrics rebuild replay, {n:,} events of case streams in 5 cities", rate, "events/s", raw,
            "raw consume+decode, 1 process", "≥ 20,000 events/s", extra)
    )  # fmt: skip
    assert events == result.events, f"the raw loop read {events} records, the replay {result.events}"


def main() -> None:
    if "--quick" in sys.argv:
        os.environ["CASEFLOW_BENCH_QUICK"] = "1"
    asyncio.run(run(bench_platform(), Report()))


if __name__ == "__main__":
    main()
