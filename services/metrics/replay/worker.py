"""One replay worker process: reads every source partition to the fixed end offsets, folds the by-case partitions
it owns, and hands back their shares.

Every worker reads every record (a case's events lie on several topics, so no source partition belongs to one
worker) but decodes and folds only the records whose correlation id falls in its by-case partitions
(`topics.partition_of`, partition % workers == index), so each record is folded, or refused, by exactly one
worker. Reading a record it skips costs a header lookup; shipping records between processes would cost more.
"""

from __future__ import annotations

import asyncio
import gc
import pickle
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiokafka import TopicPartition

from services.metrics.config import Settings
from services.metrics.engine import build_engine
from services.metrics.replay.decode import BatchDecoder, Rejection
from services.metrics.replay.folds import FoldedShares, PartitionFolds
from services.metrics.route import correlation_key
from services.metrics.topics import Positions, partition_of
from services.metrics.writer_state import records_below
from shared import kafka
from shared.events import registry

FETCH = {"max_records": 10_000, "max_partition_fetch_bytes": 8 * 1024 * 1024, "fetch_max_bytes": 64 * 1024 * 1024}
LISTED = 50  # rejections listed per worker (all are counted)


@dataclass(frozen=True)
class Job:
    """What every worker of one replay shares: where to read from and to, and the instant indicators are taken."""

    settings: Settings
    starts: Positions
    ends: Positions
    workers: int
    now: datetime
    with_event_ids: bool = False  # `--check` compares each case's folded events


@dataclass
class WorkerResult:
    index: int
    shares: FoldedShares
    cases: int
    read: int = 0  # records read (every worker reads them all)
    folded: int = 0
    duplicates: int = 0
    fast: int = 0  # decoded on the fast path
    refused: dict[str, int] = field(default_factory=dict)  # code → count
    rejections: list[Rejection] = field(default_factory=list)  # the first LISTED
    event_ids: dict[str, frozenset[str]] = field(default_factory=dict)
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process's CPU time: what the replay costs whatever else the machine runs


def run(job: Job, index: int, progress: Any, results: Any) -> None:
    """The process entry: put the `WorkerResult` (or the exception that stopped it) on `results`."""
    gc.disable()  # a short-lived process building millions of acyclic objects: full collections only cost time
    try:
        outcome: object = asyncio.run(replay_share(job, index, progress))
    except Exception as exc:
        outcome = exc
    try:
        pickle.dumps(outcome)
    except Exception:
        outcome = RuntimeError(f"replay worker {index} failed: {outcome!r}")
    results.put((index, outcome))


async def replay_share(job: Job, index: int, progress: Any = None) -> WorkerResult:
    """Read the sources to `job.ends`, fold this worker's by-case partitions, return their shares."""
    started = time.perf_counter()
    settings = job.settings
    partitions = settings.platform.partitions
    owned = [p for p in range(partitions) if p % job.workers == index]
    decoder = BatchDecoder(registry)
    base = build_engine(settings)
    folds = PartitionFolds(base.catalogue, owned)
    rejections: list[Rejection] = []
    read = 0
    consumer = kafka.consumer(settings.platform, group_id=None, isolation_level="read_committed", **_fetch())
    await consumer.start()
    try:
        tps = {TopicPartition(t, p): end for (t, p), end in job.ends.items() if end > job.starts.get((t, p), 0)}
        consumer.assign(list(tps))
        for tp in tps:
            consumer.seek(tp, job.starts.get((tp.topic, tp.partition), 0))
        async for _, records in records_below(consumer, tps, max_records=FETCH["max_records"]):
            read += len(records)
            refused = _fold_mine(records, index, job.workers, partitions, decoder, folds)
            rejections.extend(refused[: LISTED - len(rejections)])
            if progress is not None:
                progress[index] = read
    finally:
        await consumer.stop()

    return WorkerResult(
        index, folds.shares(base, job.now, index), folds.case_count(), read, folds.folded, folds.duplicates,
        decoder.fast, dict(decoder.refused), rejections, folds.event_ids() if job.with_event_ids else {},
        time.perf_counter() - started, time.process_time(),
    )  # fmt: skip


def _fold_mine(
    records: list[Any], index: int, workers: int, partitions: int, decoder: BatchDecoder, folds: PartitionFolds
) -> list[Rejection]:
    """Decode and fold the records of this worker's by-case partitions; the ones refused."""
    events, refused = decoder.decode(
        [msg for msg in records if partition_of(correlation_key(msg), partitions) % workers == index]
    )
    for msg, event in events:  # a decoded event's correlation id is its record's `ce_correlationid`
        failure = folds.fold(partition_of(event.correlationid.encode(), partitions), event)
        if failure is not None:
            refused.append(decoder.refuse(msg, "fold_failed", failure))
    return refused


def _fetch() -> dict[str, int]:
    return {k: v for k, v in FETCH.items() if k != "max_records"}
