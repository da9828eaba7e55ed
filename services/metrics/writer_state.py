"""The metrics writers' state, kept in Kafka, and how it is read back (by a follower, a new owner, a rebuild).

The writers keep every case's fold state in their changelog (`topics.changelog_topic`; pickled: this service's
own frozen dataclasses, read by no one else) and commit their by-case offsets in the consumer group
`<prefix>.metrics.writer` only once the changelog holds what the acked events changed; their routers commit the
source offsets (group `<prefix>.metrics.writer-route`) once the by-case topic holds the copies. A follower (the
query API's replica) starts from `WriterState`: every event is in the state it loads, or after the offsets it
follows from, and the few it sees twice are dropped by id (folds are idempotent). The aggregates are never
stored: they are the sum of the cases' contributions, recomputed when the cases are loaded.
"""

from __future__ import annotations

import io
import logging
import pickle
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from services.metrics.fold import CaseState
from services.metrics.topics import Positions, app_id, changelog_topic, route_group
from shared import kafka
from shared.settings import PlatformSettings

log = logging.getLogger(__name__)
# where the fold state's classes lived when older changelog records were pickled
_MOVED = {"services.metrics.domain": "services.metrics.fold"}


def dump_case(case: CaseState) -> bytes:
    """A case as its changelog record holds it."""
    return pickle.dumps(case, protocol=5)


class _CaseUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        return super().find_class(_MOVED.get(module, module), name)


def load_case(raw: bytes) -> CaseState:
    """A case from its changelog record (the writers' own: unpickled as such)."""
    try:
        case: CaseState = pickle.loads(raw)  # noqa: S301 — the writers' own changelog
    except ModuleNotFoundError as exc:  # a record pickled while its classes lived in a module since renamed
        if exc.name not in _MOVED:
            raise
        case = _CaseUnpickler(io.BytesIO(raw)).load()
    return case


@dataclass(frozen=True)
class WriterState:
    """Where a follower starts: the writers' cases, the events routed but maybe not folded into them yet, and the
    source offsets to follow from. Read in this order, so nothing falls between (the cases, step 4, are streamed
    by `changelog_cases` after `load_writer_state` has read the offsets):

    1. `positions`, the routers' committed offsets on the source topics: every source event before them is on the
       by-case topic (a router commits once the by-case topic has acknowledged);
    2. `folded`, the writers' committed offsets on the by-case topic: every by-case event before them is in the
       changelog (faust commits once the changelog holds what the acked events changed);
    3. `by_case_ends`, the by-case end offsets now: above every event routed before step 1;
    4. then the changelog read to its end: every case folded before step 2.

    Folding the changelog's cases, then the by-case records from `folded` to `by_case_ends`, then the source topics
    from `positions` misses no event; the ones seen twice are dropped by id.
    """

    positions: Positions
    folded: Positions
    by_case_ends: Positions


async def load_writer_state(
    platform: PlatformSettings, sources: list[TopicPartition], by_case: list[TopicPartition]
) -> WriterState:
    positions = await committed_positions(platform, sources, route_group(platform))
    folded = await committed_positions(platform, by_case, app_id(platform))
    ends = await end_positions(platform, by_case)
    return WriterState(positions, folded, ends)


async def committed_positions(platform: PlatformSettings, source: list[TopicPartition], group: str) -> Positions:
    """A group's committed offsets on the partitions `source` (absent where it committed none)."""
    consumer = kafka.consumer(platform, group_id=group)  # never subscribes: it only asks
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


async def end_positions(platform: PlatformSettings, tps: list[TopicPartition]) -> Positions:
    consumer = kafka.consumer(platform, group_id=None, isolation_level="read_uncommitted")
    await consumer.start()
    try:
        return {(tp.topic, tp.partition): offset for tp, offset in (await consumer.end_offsets(tps)).items()}
    finally:
        await consumer.stop()


async def records_below(
    consumer: AIOKafkaConsumer, ends: Mapping[TopicPartition, int], max_records: int = 5000
) -> AsyncIterator[tuple[TopicPartition, list[ConsumerRecord]]]:
    """The records of assigned, positioned partitions below `ends` (offsets read beforehand: a log read to a fixed
    point while others still write to it), fetched until every position has reached its end."""
    left = {tp for tp, end in ends.items() if await consumer.position(tp) < end}
    while left:
        for tp, records in (await consumer.getmany(*left, timeout_ms=500, max_records=max_records)).items():
            yield tp, [r for r in records if r.offset < ends[tp]]
        for tp in list(left):
            if await consumer.position(tp) >= ends[tp]:
                left.discard(tp)


async def compacted_records(
    platform: PlatformSettings, topic: str, *, partitions: set[int] | None = None, timeout: float = 5,
    max_records: int = 1000,
) -> AsyncIterator[tuple[int, list[ConsumerRecord]]]:
    """The records of a compacted topic (of its `partitions` only, if given) in offset order, `max_records` at most
    at a time (what a reader holds decoded at once), up to the end offsets present now: a later record of a key
    replaces an earlier one. No such topic (its writer never ran) yields nothing."""
    consumer = kafka.consumer(platform, group_id=None, isolation_level="read_uncommitted")
    await consumer.start()
    try:
        if topic not in await consumer.topics():  # one metadata request, not a wait for a topic that may never come
            log.info("metrics: no %s yet, nothing to load", topic)
            return
        parts = await kafka.partitions_of(consumer, topic, timeout=timeout)
        tps = [TopicPartition(topic, p) for p in sorted(parts) if partitions is None or p in partitions]
        if not tps:
            return
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        async for tp, records in records_below(consumer, await consumer.end_offsets(tps), max_records):
            yield tp.partition, records
    finally:
        await consumer.stop()


async def read_compacted(
    platform: PlatformSettings, topic: str, *, partitions: set[int] | None = None, timeout: float = 5
) -> dict[bytes, bytes]:
    """The latest value per key of a compacted topic (`compacted_records`), deleted keys left out."""
    latest: dict[bytes, bytes | None] = {}
    async for _, records in compacted_records(platform, topic, partitions=partitions, timeout=timeout):
        for r in records:
            if r.key is not None:
                latest[r.key] = r.value  # a later record of a key replaces the earlier (None: deleted)
    return {k: v for k, v in latest.items() if v is not None}


async def changelog_cases(
    platform: PlatformSettings, *, partitions: set[int] | None = None
) -> AsyncIterator[tuple[int, list[CaseState]]]:
    """The writers' changelog as (partition, cases) fetch by fetch, a case's later records after its earlier ones:
    for loading it into an engine without holding it whole (`MetricsEngine.restore_all` per fetch)."""
    async for partition, records in compacted_records(platform, changelog_topic(platform), partitions=partitions):
        yield partition, [load_case(r.value) for r in records if r.key is not None and r.value is not None]


async def writer_cases(platform: PlatformSettings, *, timeout: float = 5) -> list[CaseState]:
    """Every case in the writers' changelog: the latest state per case."""
    cases = await read_compacted(platform, changelog_topic(platform), timeout=timeout)
    return [load_case(v) for v in cases.values()]
