"""Stage three of the metrics writers: the partitions' shares summed into the published indicators.

Every writer process runs a reducer, in the consumer group `<prefix>.metrics.writer-reduce` on the partials topic
(`services.metrics.partials`). That topic has one partition, so one reducer is active and the others stand by; when
the active one dies or leaves, the group gives the partition to another. A reducer given the partition reads it from
the beginning (it is compacted: the latest share of every partition and cell), remembers the statuses it finds (so
the next crossing alerts), publishes every cell once (what its predecessor may not have published yet), and from
then on publishes the cells the shares moved, at most once per `batch_within` s, with the target-crossing alert
(`publisher.Publisher`). It commits what it has published, so its group's lag says whether the indicators are up to
date.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError

from services.metrics.engine import Clock, MetricsEngine
from services.metrics.partials import Sums
from services.metrics.publisher import Publisher
from services.metrics.topics import partials_topic, reduce_group
from shared import kafka
from shared.errors import CaseflowError
from shared.settings import PlatformSettings

log = logging.getLogger(__name__)


class Reducer(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(
        self,
        platform: PlatformSettings,
        new_engine: Callable[[], MetricsEngine],
        publisher: Publisher,
        clock: Clock,
        *,
        session_timeout: float,
        batch_within: float,
        fetch_max_wait_ms: int,
    ) -> None:
        self.platform = platform
        self.new_engine = new_engine
        self.publisher = publisher
        self.clock = clock
        self.session_timeout = session_timeout
        self.batch_within = batch_within
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.topic = partials_topic(platform)
        self.sums = Sums(new_engine())
        self.active = False  # holds the partition and has read it to the end at least once
        self._ends: dict[TopicPartition, int] | None = None  # while reading a fresh assignment to its end
        self._summed: dict[TopicPartition, int] = {}  # next offset per partition, summed but maybe not published
        self._published_at = 0.0  # loop time of the last publishing round
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def engine(self) -> MetricsEngine:
        return self.sums.engine

    async def start(self) -> None:
        timeout_ms = int(self.session_timeout * 1000)
        self._consumer = kafka.consumer(
            self.platform, group_id=reduce_group(self.platform), isolation_level="read_uncommitted",
            session_timeout_ms=timeout_ms, heartbeat_interval_ms=timeout_ms // 3,
            fetch_max_wait_ms=self.fetch_max_wait_ms,
        )  # fmt: skip
        self._consumer.subscribe([self.topic], listener=self)
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name="metrics-reduce")

    async def stop(self) -> None:
        self._stopping = True
        await kafka.finish(self._task, self._consumer)

    async def behind(self) -> int | None:
        """Shares on the partials topic not yet read (as of the last fetch's high watermark), plus one per partition
        with shares read but not yet published: 0 once everything sent is published. None while not active."""
        if not self.active or self._consumer is None:
            return None
        unread = 0
        for tp in self._consumer.assignment():
            end = self._consumer.highwater(tp)
            if end is not None:
                unread += max(0, end - await self._consumer.position(tp))
        return unread + len(self._summed)

    # -- the group's callbacks (run inside getmany) ------------------------------------------------------------
    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self.active = False

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        assert self._consumer is not None
        self.active = False
        self._ends = None
        if not assigned:
            return
        self.sums = Sums(self.new_engine())  # rebuilt from the whole topic: the shares are values, not deltas
        self._summed = {}
        for tp in assigned:
            self._consumer.seek(tp, 0)
        self._ends = await self._consumer.end_offsets(assigned)

    # -- the loop -----------------------------------------------------------------------------------------------
    async def _run(self) -> None:
        assert self._consumer is not None
        while not self._stopping:
            try:
                batches = await self._consumer.getmany(timeout_ms=200, max_records=2_000)
                await self.reduce(batches)
            except asyncio.CancelledError:
                raise
            except (KafkaError, OSError) as exc:  # publishing failed: the next assignment publishes every cell
                log.warning("metrics reduce: %r; reading the shares again", exc)
                with contextlib.suppress(Exception):
                    await self.on_partitions_assigned(list(self._consumer.assignment()))
                await asyncio.sleep(1)

    async def reduce(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        assert self._consumer is not None
        now = self.clock()
        for tp, records in batches.items():
            for msg in records:
                try:
                    self.sums.put(msg.key, msg.value, now)
                except CaseflowError as exc:
                    await self.publisher.park(msg, exc.message, exc.code)
            if records:
                self._summed[tp] = records[-1].offset + 1
        if self._ends is not None:  # reading a fresh assignment: publish once it is read to the end
            positions = {tp: await self._consumer.position(tp) for tp in self._ends}
            if any(positions[tp] < end for tp, end in self._ends.items()):
                return
            self._ends = None
            self.publisher.prime(self.engine, now)
            self.active = True
            log.info("metrics reduce: active, %d cells from %s", len(self.engine.aggregates.cells), self.topic)
        # one publishing round per `batch_within` at most: the writers' shares of one batch arrive in several
        # fetches, and publishing after each would send the same indicators several times over
        clock = asyncio.get_running_loop().time()
        if not self.active or clock - self._published_at < self.batch_within:
            return
        self._published_at = clock
        touched = self.engine.take_changed()
        if touched:
            await self.publisher.changed(self.engine, touched, now)
        if self._summed:
            summed, self._summed = self._summed, {}
            await self._consumer.commit(summed)
