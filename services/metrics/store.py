"""The metrics writer's state, kept in Kafka, and how a follower starts from it.

The faust writer (`services.metrics.stream`) keeps every case's fold state (pickled: this service's own frozen
dataclasses, read by no one else) in its table's changelog topic `<prefix>.metrics.writer-cases-changelog`
(compacted, key = correlation id), and commits its source offsets in its consumer group `<prefix>.metrics.writer`
only once the changelog holds what the acked events changed. A follower (the query API's replica) reads the
committed offsets first and the changelog to its end after: that state holds every event before those offsets
(and perhaps some after them), so following the source topics from the offsets folds every event still missing,
and the few it sees again are dropped by id (folds are idempotent). The aggregates are never stored: they are the
sum of the cases' contributions, recomputed when the cases are loaded. No MongoDB: the metrics service's state
lives where its events do.
"""

from __future__ import annotations

import logging
import pickle

from aiokafka import TopicPartition

from services.metrics.domain import CaseState
from shared import kafka
from shared.settings import PlatformSettings

log = logging.getLogger(__name__)
Positions = dict[tuple[str, int], int]  # (topic, partition) → next offset to read
TABLE = "cases"


def app_id(platform: PlatformSettings) -> str:
    """The faust writer's app id, also its consumer group."""
    return f"{platform.topic_prefix}.metrics.writer"


def changelog_topic(platform: PlatformSettings) -> str:
    return f"{app_id(platform)}-{TABLE}-changelog"


async def committed_positions(platform: PlatformSettings, source: list[TopicPartition]) -> Positions:
    """The writer group's committed offsets on the source partitions (absent where it committed none)."""
    consumer = kafka.consumer(platform, group_id=app_id(platform))  # never subscribes: it only asks
    await consumer.start()
    try:
        out: Positions = {}
        for tp in source:
            offset = await consumer.committed(tp)
            if offset is not None and offset >= 0:
                out[(tp.topic, tp.partition)] = offset
        return out
    finally:
        await consumer.stop()


async def writer_cases(platform: PlatformSettings, *, timeout: float = 5) -> list[CaseState]:
    """Every case in the writer's changelog, read to the end offsets present now (the latest state per case).

    No changelog topic (the writer never ran) is no state."""
    consumer = kafka.consumer(platform, group_id=None, isolation_level="read_uncommitted")
    await consumer.start()
    try:
        topic = changelog_topic(platform)
        if topic not in await consumer.topics():  # one metadata request, not a wait for a topic that may never come
            log.info("metrics: no %s yet, nothing to load", topic)
            return []
        parts = await kafka.partitions_of(consumer, topic, timeout=timeout)
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        latest: dict[bytes, bytes | None] = {}
        left = {tp for tp in tps if ends[tp] > 0}
        while left:
            for tp, records in (await consumer.getmany(*left, timeout_ms=500, max_records=5000)).items():
                for r in records:
                    if r.offset < ends[tp] and r.key is not None:
                        latest[r.key] = r.value  # a later record of a case replaces the earlier (None: deleted)
            for tp in list(left):
                if await consumer.position(tp) >= ends[tp]:
                    left.discard(tp)
        return [pickle.loads(v) for v in latest.values() if v is not None]  # noqa: S301 — the writer's own table
    finally:
        await consumer.stop()
