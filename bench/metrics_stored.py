"""One writer at 1,000 events/s with a province's cases already stored (issue 21): publish latency by size.

For each size the benchmark writes the changelog a writer would have left after `n` closed cases over a year (the
seeded streams of `bench.closed_cases`, each case folded with `services.metrics.fold.fold` and written as its
changelog record), starts a production writer on it (the recovery loads every case: settled ones into its
settled-case store, their marks into the aggregates), lets it fold a warm-up, then times the steady phase of
`bench.metrics` (send → indicators published on `metrics.indicators`). Reports the p99 with the recovery time and
the writer's peak RSS (the cases are stored by a process of their own), so the row shows whether the stored cases
slow the live path and what a writer holding them weighs.

The RSS rows start the production writer (`python -m services.metrics.writer`, as under `make run`) on changelogs
of 100k, 1M and 3M closed cases (written once, kept in the bench Kafka under a prefix of their own and reused) and
read its kernel peak once it has loaded them and its reducer has taken the shares it sent, against the same writer
with nothing stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from aiokafka import TopicPartition

from bench import metrics
from bench.closed_cases import closed_cases
from bench.common import Report, Row, percentile
from bench.writer_procs import OWNS, peak_rss_of, stop_all, writer_process
from services.metrics.catalogue import load_catalogue
from services.metrics.config import Settings
from services.metrics.fold import CaseState, fold
from services.metrics.topics import changelog_topic, ensure_writer_topics, partition_of
from services.metrics.writer_state import dump_case, end_positions
from shared import kafka
from shared.settings import PlatformSettings, load_settings
from shared.topics import Topics

SIZES = [100_000, 1_000_000, 3_000_000]
RSS_SIZES = [100_000, 1_000_000, 3_000_000]
QUICK_SIZES = [10_000]
CACHED = "benchstored1"  # the cached changelogs' topic prefix: a new one when `bench.closed_cases` or the fold moves
SETTLE_S = 30.0  # after a writer's load, for its reducer to take the shares it sent
YEAR = timedelta(days=365)
WARM_UP = 2_000  # events folded before the steady phase
IN_FLIGHT = 20_000  # changelog records sent before waiting for their acknowledgements


async def store_closed_cases(platform: PlatformSettings, n: int) -> float:
    """Write the changelog of `n` closed cases spread over a year, as writers would have left it; returns seconds."""
    started = time.perf_counter()
    catalogue = load_catalogue()
    await ensure_writer_topics(platform)
    topic = changelog_topic(platform)
    producer = kafka.producer(platform, linger_ms=50, max_batch_size=1024 * 1024)
    await producer.start()
    try:
        sent = []
        for i, events in enumerate(closed_cases(n, span=YEAR)):
            case = CaseState(events[0].correlationid)
            for event in events:
                case = fold(case, event, catalogue)
            key = case.correlation_id.encode()
            sent.append(
                await producer.send(topic, dump_case(case), key=key, partition=partition_of(key, platform.partitions))
            )
            if len(sent) >= IN_FLIGHT:
                await asyncio.gather(*sent)
                sent = []
                print(f"  stored {i + 1:,}/{n:,} cases", file=sys.stderr, flush=True)
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def stored_in_subprocess(platform: PlatformSettings, n: int) -> float:
    """`store_closed_cases` in a process of its own (`python -m bench.metrics_stored N`, the platform in its
    environment as a service gets it): the measuring process's RSS is then the writer's, not the garbage of a
    million folded cases. Returns its seconds."""
    env = {**os.environ, **platform.to_env()}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.metrics_stored", str(n), stdout=subprocess.PIPE, env=env
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"storing {n:,} closed cases failed ({proc.returncode})")
    return float(out.split()[-1])


async def latency_with_stored(base: PlatformSettings, n: int) -> Row:
    platform = base.model_copy(update={"topic_prefix": f"{base.topic_prefix}s{n}"})
    await kafka.ensure_topics(platform)
    stored_s = await stored_in_subprocess(platform, n)
    topic = Topics(platform.topic_prefix).department("legal_aid")
    await metrics.prefill(platform, topic, WARM_UP)
    with tempfile.TemporaryDirectory(prefix="bench-stored-", dir=os.environ.get("TMPDIR")) as state:
        writer = metrics.TimedWriter(Settings(platform=platform, state_dir=Path(state)))
        started = time.perf_counter()
        await writer.start(timeout=3600)
        recovery_s = time.perf_counter() - started
        try:
            await metrics.until(lambda: writer.folded >= WARM_UP, 300)
            await caught_up(writer)  # the recovery republished every cell: start timing once that is through
            lat, sent = await metrics.steady_latencies(platform, topic, writer)
        finally:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(writer.stop(), 60)
    return Row(
        f"metrics event→indicators topic latency p99 (writer alone), {n:,} closed cases stored",
        percentile(lat, 99) * 1000, "ms", goal="p99 ≤ 1000 ms at 1,000 events/s",
        extra={"p50 ms": percentile(lat, 50) * 1000, "events": len(lat), "not seen": sent - len(lat),
               "cases recovered": writer.recovered_cases, "recovery s": recovery_s, "changelog written s": stored_s,
               "writer peak RSS MB": peak_rss_of(os.getpid())},  # the sizes run ascending: the last size's
    )  # fmt: skip


async def caught_up(writer: metrics.TimedWriter, timeout: float = 1800) -> None:
    """Until the writer's reducer has read and published every share sent so far."""
    deadline = time.monotonic() + timeout
    while await writer.reducer.behind() != 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the writer's reducer did not catch up in {timeout:.0f} s")
        await asyncio.sleep(0.5)


async def cached_changelog(base: PlatformSettings, n: int) -> tuple[PlatformSettings, float]:
    """The platform whose changelog holds `n` closed cases, under a topic prefix of its own in the bench Kafka
    (`.cache/bench-infra`): written by the first run that needs it, reused by the next. Returns the seconds it took
    to write (0 when reused)."""
    platform = base.model_copy(update={"topic_prefix": f"{CACHED}p{base.partitions}s{n}"})
    await kafka.ensure_topics(platform)
    await ensure_writer_topics(platform)
    topic = changelog_topic(platform)
    held = await end_positions(platform, [TopicPartition(topic, p) for p in range(platform.partitions)])
    if sum(held.values()) >= n:
        return platform, 0.0
    return platform, await stored_in_subprocess(platform, n)


async def production_writer_rss(platform: PlatformSettings, timeout: float = 3600) -> tuple[float, float, int]:
    """Start `python -m services.metrics.writer` on `platform`; once it has loaded its partitions and sent their
    shares (its log says so), give its reducer `SETTLE_S` to take them, then stop it. Returns its peak RSS (MB, the
    kernel's VmHWM), the load's seconds and the cases it recovered."""
    with tempfile.TemporaryDirectory(prefix="bench-writer-rss-", dir=os.environ.get("TMPDIR")) as d:
        log = Path(d) / "writer.log"
        proc = writer_process(platform, Path(d) / "state", log)
        started = time.perf_counter()
        try:
            while not (found := OWNS.search(log.read_bytes())):
                if proc.poll() is not None:
                    raise RuntimeError(f"the writer exited with {proc.returncode}: {log.read_bytes()[-2000:]!r}")
                if time.perf_counter() - started > timeout:
                    raise TimeoutError(f"the writer did not load its partitions in {timeout:.0f} s")
                await asyncio.sleep(0.5)
            loaded_s = time.perf_counter() - started
            await asyncio.sleep(SETTLE_S)
            return peak_rss_of(proc.pid), loaded_s, int(found.group(2))
        finally:
            stop_all([proc])


async def writer_rss_rows(base: PlatformSettings, report: Report, sizes: list[int]) -> None:
    """The production writer's peak RSS with `sizes` closed cases stored in `base.partitions` by-case partitions
    (it owns them all), against the same writer's with nothing stored, measured in the same run."""
    idle, _, _ = await production_writer_rss(base.model_copy(update={"topic_prefix": f"{base.topic_prefix}idle"}))
    for n in sizes:
        platform, stored_s = await cached_changelog(base, n)
        peak, loaded_s, recovered = await production_writer_rss(platform)
        report.add(Row(
            f"production writer peak RSS, {n:,} closed cases stored in {base.partitions} by-case partitions "
            "(load, then its shares reduced)", peak, "MB",
            baseline=idle, baseline_name="the same writer with nothing stored",
            goal="≤ 400 MB at 1,000,000 cases, flat from 1M to 3M",
            extra={"cases recovered": recovered, "load s": loaded_s, "cases/s": recovered / loaded_s,
                   "changelog written s (0: cached)": stored_s},
        ))  # fmt: skip


async def run(platform: PlatformSettings, report: Report) -> None:
    quick = bool(os.environ.get("CASEFLOW_BENCH_QUICK"))
    for n in QUICK_SIZES if quick else SIZES:
        row = await latency_with_stored(platform, n)
        print(f"  {row.name}: {row.figure:,.0f} ms {row.extra}", flush=True)
        report.add(row)
    await writer_rss_rows(platform, report, QUICK_SIZES if quick else RSS_SIZES)
    # a writer's cells grow with the partitions it owns: the platform's default partition count too, at 1M
    production = platform.model_copy(update={"partitions": PlatformSettings.model_fields["partitions"].default})
    await writer_rss_rows(production, report, QUICK_SIZES if quick else [1_000_000])


if __name__ == "__main__":  # the store phase: N, the platform from CASEFLOW_* in the environment
    print(asyncio.run(store_closed_cases(load_settings(PlatformSettings), int(sys.argv[1]))))
