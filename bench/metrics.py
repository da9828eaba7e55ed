"""Metrics: fold throughput vs a raw consume+decode loop, event→indicator latency, memory.

1. Throughput: the legal aid topic is pre-filled with N events (N/2 notified-defence cases, each notice +
   assignment). The figure is one writer (`services.metrics.writer.MetricsWriter`, in this process: its router
   copying the events onto the by-case topic, its faust app folding them — decode + payload validation, fold,
   changelog-table write per changed case and the partitions' shares sent, once per batch — and its reducer);
   the baseline is a raw aiokafka loop that consumes and decodes (`Envelope.from_kafka`) the same topic in the
   same run. Both timed first record → last. Beside them, the same writer counting events without folding them
   (a topic of its own): what the router and faust themselves allow.
2. Latency, with another process producing events at a steady rate (wall clock, same machine), two ways:
   - visible: send → the query API's follower (`services.metrics.follower.Folder`, what the API and its SSE stream
     read) has folded the event and handed the indicators it changed to its listeners, while the production
     writer (`python -m services.metrics.writer`) runs in its own process beside it, as under `make run`;
   - published: send → the reducer's publishing round, on `metrics.indicators`, after the batch that sent the
     event's shares (the writer alone, in this process).
3. Memory: peak RSS of a subprocess holding the pure fold state (engine) of many synthetic cases.

Writers scaling out (one vs two writer processes) is `bench.metrics_writers`.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition

import shared.contracts  # noqa: F401  (registers every event type)
from bench.common import Report, Row, bench_platform, percentile
from bench.writer_procs import cpu_seconds, stop_all, writer_process
from services.metrics.config import Settings
from services.metrics.engine import build_engine
from services.metrics.follower import Folder
from services.metrics.topics import changelog_topic
from services.metrics.writer import MetricsWriter
from shared import kafka
from shared.contracts.legal_aid import DefenceNotified, ProviderAssigned
from shared.envelope import Envelope
from shared.settings import PlatformSettings
from shared.topics import Topics

N_EVENTS = 20_000
RATE = 1_000  # events/s in the latency phase
SENT_HEADER = "bench_sent"  # wall-clock send time, set by the steady producer
STEADY_SECONDS = 10
MEMORY_CASES = 1_000_000  # the size: ~8 min of folding on this 2-core box
REGIONS = ["431002001001", "420704001000", "440203001001", "500114001000", "340302001000"]


def events_of(i: int, at: datetime) -> list[Envelope]:
    case = f"la-b{i}"
    notice = DefenceNotified(
        kind="notified_defence", region=REGIONS[i % 5], defendant_ref=f"p-{i:032x}", notified_by="court",
        partner_reference=f"court-{i}", stage="trial", charge="theft", notified_at=at,
    )  # fmt: skip
    assigned = ProviderAssigned(
        provider_type="lawyer" if i % 4 else "grassroots_worker", provider_id="lw-1",
        assigned_at=at + timedelta(hours=5), due_at=at + timedelta(days=3), on_time=True,
    )  # fmt: skip
    common = {"source": "caseflow/legal_aid", "subject": case, "correlationid": case, "actor": "dept:legal_aid"}
    return [Envelope.wrap(notice, time=at, **common), Envelope.wrap(assigned, time=at + timedelta(hours=5), **common)]


async def prefill(platform: PlatformSettings, topic: str, n: int) -> None:
    producer = kafka.producer(platform, linger_ms=20, max_batch_size=512 * 1024)
    await producer.start()
    at = datetime.now(UTC) - timedelta(hours=6)
    try:
        futures = []
        for i in range(n // 2):
            for env in events_of(i, at):
                key, value, headers = env.to_kafka()
                futures.append(await producer.send(topic, value=value, key=key, headers=headers))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def raw_loop(platform: PlatformSettings, topic: str, n: int) -> float:
    consumer = kafka.consumer(platform, group_id=None)
    await consumer.start()
    try:
        # a fresh consumer knows no topic metadata yet: an empty assignment would spin forever
        tps = [TopicPartition(topic, p) for p in await kafka.partitions_of(consumer, topic, timeout=10)]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, 0)
        done, first = 0, None
        while done < n:
            for records in (await consumer.getmany(timeout_ms=500, max_records=2000)).values():
                first = first or time.perf_counter()
                for msg in records:
                    Envelope.from_kafka(msg.value, msg.headers)
                    done += 1
        return n / (time.perf_counter() - (first or time.perf_counter()))
    finally:
        await consumer.stop()


async def until(done: Callable[[], bool], seconds: float, poll: float = 0.05) -> None:
    """Poll `done` until it holds or `seconds` pass: a benchmark reports what it got by then."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        await asyncio.sleep(poll)


def sent_at(msg: Any) -> float | None:
    """The steady producer's wall-clock send time of a record, if it carries one."""
    sent = next((v for k, v in msg.headers or () if k == SENT_HEADER), None)
    return None if sent is None else float(sent)


class TimedFolder(Folder):
    """The query API's follower, noting when each event's indicator changes reached its listeners (SSE)."""

    latencies: list[float] | None = None  # None until the steady phase starts

    async def process(self, batches: dict[Any, list[Any]], *, track: bool = True) -> int:
        n = await super().process(batches, track=track)  # folds, then hands the changed indicators to the listeners
        if self.latencies is not None and track:
            done = time.time()
            self.latencies += [done - sent for records in batches.values() for msg in records if (sent := sent_at(msg))]
        return n


class TimedWriter(MetricsWriter):
    """The production writer, noting when each event's indicator changes were published (for the benchmark only):
    an event's fold batch sends its shares, and the reducer's next publishing round publishes them."""

    first: float | None = None
    latencies: list[float]

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.latencies = []
        self._shared: list[float] = []  # send times of events whose shares were sent, not yet published
        reduce = self.reducer.reduce

        async def timed_reduce(batches: dict[Any, list[Any]]) -> None:
            await reduce(batches)  # sums the shares, publishes the changed indicators
            if batches and self.reducer.active and self._shared:
                done = time.time()
                self.latencies += [done - sent for sent in self._shared]
                self._shared = []

        self.reducer.reduce = timed_reduce  # type: ignore[method-assign]

    async def fold_batch(self, messages: list[Any]) -> None:
        if self.first is None:
            self.first = time.perf_counter()
        await super().fold_batch(messages)  # folds, writes the table, sends the shares the batch moved
        self._shared += [sent for msg in messages if (sent := sent_at(msg))]


class CountingWriter(MetricsWriter):
    """The same router, faust app, topics and batches, doing nothing but count: the framework's own ceiling."""

    first: float | None = None

    async def fold_batch(self, messages: list[Any]) -> None:
        self.first = self.first or time.perf_counter()
        self.folded += len(messages)


async def faust_floor(platform: PlatformSettings) -> float:
    """Events/s of a faust agent that only counts, on a pre-filled topic of its own (same events and size)."""
    own = platform.model_copy(update={"topic_prefix": platform.topic_prefix + "f"})
    await kafka.ensure_topics(own)
    await prefill(own, Topics(own.topic_prefix).department("legal_aid"), N_EVENTS)
    counter = CountingWriter(Settings(platform=own))
    await counter.start()
    try:
        await until(lambda: counter.folded >= N_EVENTS, 60)
        return counter.folded / (time.perf_counter() - (counter.first or time.perf_counter()))
    finally:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(counter.stop(), 30)


async def steady(platform: PlatformSettings, topic: str, rate: int, seconds: float) -> int:
    """Produce `rate` events/s for `seconds`, each stamped with its wall-clock send time; returns how many.

    Run in a process of its own (`python -m bench.metrics steady ...`), as a department would be, so the
    producer's CPU is not taken from the writer measured."""
    producer = kafka.producer(platform, linger_ms=1)
    await producer.start()
    try:
        start = time.perf_counter()
        sent, futures = 0, []
        while time.perf_counter() - start < seconds:
            target = int((time.perf_counter() - start) * rate)
            while sent < target:
                env = events_of(10_000_000 + sent, datetime.now(UTC))[0]
                key, value, headers = env.to_kafka()
                headers.append((SENT_HEADER, str(time.time()).encode()))
                futures.append(await producer.send(topic, value=value, key=key, headers=headers))
                sent += 1
            await asyncio.sleep(0.005)
        await asyncio.gather(*futures)
        return sent
    finally:
        await producer.stop()


async def steady_latencies(
    platform: PlatformSettings, topic: str, timed: TimedWriter | TimedFolder
) -> tuple[list[float], int]:
    """The steady phase, timed by `timed` (writer or follower): its latencies, sorted, and the events sent."""
    timed.latencies = []
    sent = await steady_in_subprocess(platform, topic)
    await until(lambda: len(timed.latencies or ()) >= sent, 20, poll=0.1)
    return sorted(timed.latencies), sent


async def steady_in_subprocess(platform: PlatformSettings, topic: str) -> int:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.metrics", "steady", platform.kafka_bootstrap, topic, str(RATE),
        str(STEADY_SECONDS), stdout=subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"steady producer exited with {proc.returncode}")
    return int(out.split()[-1])


MEMORY_SCRIPT = r"""
import resource, sys, time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
import shared.contracts
from services.metrics.engine import MetricsEngine
from services.metrics.catalogue import load_catalogue
from services.metrics.reference import load_reference
from shared.events import registry
n = int(sys.argv[1])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
engine = MetricsEngine(load_catalogue(), load_reference(), registry.types())
regions = ["431002001001", "420704001000", "440203001001", "500114001000", "340302001000"]
t0 = datetime(2026, 3, 2, tzinfo=UTC)
start = time.perf_counter()
for i in range(n):
    at = t0 + timedelta(seconds=i * 30)
    case = f"la-{i}"
    common = dict(subject=case, correlationid=case, actor="dept:legal_aid")
    engine.apply(SimpleNamespace(id=f"{i}a", type="caseflow.legal_aid.defence_notified", time=at, data={
        "region": regions[i % 5], "notified_at": at.isoformat(), "partner_reference": f"court-{i}"}, **common), at)
    engine.apply(SimpleNamespace(id=f"{i}b", type="caseflow.legal_aid.provider_assigned", time=at, data={
        "provider_type": "lawyer", "assigned_at": (at + timedelta(hours=5)).isoformat()}, **common), at)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{peak / 1024:.1f} {(peak - base) / 1024:.1f} {seconds:.1f} {len(engine.aggregates.cells)}")
"""


async def records_on(platform: PlatformSettings, topic: str) -> int:
    """How many records `topic` holds (the sum of its partitions' end offsets)."""
    consumer = kafka.consumer(platform, group_id=None, isolation_level="read_uncommitted")
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in await kafka.partitions_of(consumer, topic)]
        return sum((await consumer.end_offsets(tps)).values())
    finally:
        await consumer.stop()


async def writer_folding(
    platform: PlatformSettings, topic: str, timeout: float, writer: subprocess.Popen[bytes], log: Path
) -> None:
    """Send 1,000 more events (500 cases) and wait until the writer has written them to its changelog.

    Not its committed offsets: after a restart faust 0.15.3 may stop committing a partition whose first offsets
    were folded and acked by the previous instance but not committed (a gap at the head of its acked list), while
    folding goes on; `caseflow rebuild --check` found that writer's state equal to the topics'."""
    changelog = changelog_topic(platform)
    before = await records_on(platform, changelog)
    await prefill(platform, topic, 1000)
    deadline = time.monotonic() + timeout
    while (written := await records_on(platform, changelog) - before) < 500:
        if writer.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the metrics writer exited with {writer.returncode}; its log ends:\n{tail}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the metrics writer wrote {written} of 500 case states in {timeout:.0f} s")
        await asyncio.sleep(1)


async def visible_latency(platform: PlatformSettings, topic: str, state_dir: str) -> tuple[list[float], int, float]:
    """Send → folded by the query API's follower, with the production writer running in its own process.

    Returns the latencies, the events sent and the CPU seconds the writer used during the phase."""
    log = Path(state_dir) / "writer.log"
    writer = writer_process(platform, Path(state_dir), log)
    try:
        await writer_folding(platform, topic, 180, writer, log)  # recovered and folding: not starting, not crashed
        follower = TimedFolder(platform, build_engine(Settings(platform=platform)))
        await follower.start()
        try:
            await asyncio.wait_for(follower.ready.wait(), 60)
            writer_cpu = cpu_seconds(writer.pid)
            lat, sent = await steady_latencies(platform, topic, follower)
            if writer.poll() is not None:
                raise RuntimeError(f"the metrics writer exited with {writer.returncode} during the latency phase")
            return lat, sent, cpu_seconds(writer.pid) - writer_cpu
        finally:
            await follower.stop()
    finally:
        stop_all([writer])


def latency_row(name: str, lat: list[float], sent: int, goal: str = "") -> Row:
    extra = {"p50 ms": percentile(lat, 50) * 1000, "events": len(lat), "rate/s": RATE, "not seen": sent - len(lat)}
    return Row(name, percentile(lat, 99) * 1000, "ms", goal=goal, extra=extra)


async def run(platform: PlatformSettings, report: Report) -> None:
    settings = Settings(platform=platform)
    topic = Topics(platform.topic_prefix).department("legal_aid")
    await kafka.ensure_topics(platform)
    await prefill(platform, topic, N_EVENTS)
    raw = await raw_loop(platform, topic, N_EVENTS)

    folder = TimedWriter(settings)
    await folder.start()
    try:
        await until(lambda: folder.folded >= N_EVENTS, 60)
        fold_rate = folder.folded / (time.perf_counter() - (folder.first or time.perf_counter()))
        folded = folder.folded  # the latency phase folds more (and faust may deliver some again)
        lat, sent = await steady_latencies(platform, topic, folder)
        published_row = latency_row("metrics event→indicators topic latency p99 (writer alone)", lat, sent)
    finally:
        try:  # the figures are taken: a writer that does not stop in time must not hold the report back
            await asyncio.wait_for(folder.stop(), 30)
        except TimeoutError:
            print("  metrics writer did not stop within 30 s; moving on", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as state_dir:
        lat, sent, writer_cpu = await visible_latency(platform, topic, state_dir)
    visible = latency_row("metrics event→indicator visible latency p99 (query API)", lat, sent, "p99 ≤ 1000 ms")
    visible.extra["writer CPU s alongside"] = writer_cpu
    report.add(visible)
    report.add(published_row)
    # after the writer: a second faust app in the process slowed the writer's latency phase (p50 4.0 s -> 9.7 s)
    floor = await faust_floor(platform)
    report.add(
        Row("metrics fold throughput (1 writer)", fold_rate, "events/s", raw, "raw consume+decode", "≥0.5 of raw",
            {"events": folded, "counting writer events/s": floor, "ratio to counting": fold_rate / floor})
    )  # fmt: skip

    out = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(MEMORY_CASES)], capture_output=True, text=True, check=True
    ).stdout.split()
    peak, delta, seconds, cells = (float(x) for x in out)
    report.add(
        Row(f"metrics fold-state peak RSS at {MEMORY_CASES:,} cases", peak, "MB",
            extra={"state MB": delta, "fold s": seconds, "cells": cells, "KB per case": delta * 1024 / MEMORY_CASES})
    )  # fmt: skip


def main() -> None:
    if sys.argv[1:2] == ["steady"]:  # the latency phase's producer: steady BOOTSTRAP TOPIC RATE SECONDS
        bootstrap, topic, rate, seconds = sys.argv[2:6]
        platform = PlatformSettings(kafka_bootstrap=bootstrap)
        print(asyncio.run(steady(platform, topic, int(rate), float(seconds))))
        return
    asyncio.run(run(bench_platform(), Report()))


if __name__ == "__main__":
    main()
