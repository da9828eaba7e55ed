"""The follower (跟随副本): the query API's in-memory replica of the fold state.

It loads the writers' state from Kafka (`writer_state.WriterState`: their committed offsets, their changelog, what
was routed but not folded yet), then follows the source topics with a plain aiokafka consumer and folds them
itself; folds are deterministic and idempotent by event id, so every replica agrees. Queries and the SSE stream
read it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from services.metrics.config import Settings
from services.metrics.engine import Clock, MetricsEngine, build_engine, keep_out_of_gc
from services.metrics.publisher import Listener, Publisher
from services.metrics.settled_store import SettledCases, process_stores
from services.metrics.sources import decode, source_topics
from services.metrics.topics import Positions, by_case_topic, ensure_writer_topics
from services.metrics.writer_state import changelog_cases, load_writer_state, records_below
from shared import clock as scenario
from shared import kafka
from shared.errors import CaseflowError
from shared.events import EventRegistry
from shared.events import registry as default_registry
from shared.settings import PlatformSettings
from shared.topics import Topics

log = logging.getLogger(__name__)


class Folder:
    """The follower: a read replica of the fold state (the writer's state + the source topics) for the query API."""

    def __init__(
        self,
        platform: PlatformSettings,
        engine: MetricsEngine,
        *,
        registry: EventRegistry = default_registry,
        clock: Clock = scenario.now,
        max_batch: int = 2000,
    ) -> None:
        self.platform = platform
        self.engine = engine
        self.registry = registry
        self.clock = clock
        self.max_batch = max_batch
        self.topics = Topics(platform.topic_prefix)
        self.publisher = Publisher(self.topics)  # no producer: the writer publishes, a follower feeds SSE only
        self.positions: Positions = {}
        self.folded = 0
        self.dead_lettered = 0
        self.ready = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def listeners(self) -> list[Listener]:
        return self.publisher.listeners

    # -- lifecycle ----------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Load the writers' state, then follow the source topics from where it ends (`WriterState`)."""
        await ensure_writer_topics(self.platform)
        self._consumer = kafka.consumer(self.platform, group_id=None, isolation_level="read_committed")
        await self._consumer.start()
        sources = await self._partitions(source_topics(self.topics))
        by_case = await self._partitions([by_case_topic(self.platform)])
        state = await load_writer_state(self.platform, sources, by_case)
        self.positions = state.positions
        restored = 0
        self.engine.forget_old_hours(self.clock())  # as `trim` does: a year of hour cells would be made, then dropped
        async for _, cases in changelog_cases(self.platform):  # fetch by fetch: settled cases leave memory as read
            restored += self.engine.restore_all(cases, self.clock())
        # events the routers passed on but no writer had folded into the changelog yet: from the by-case topic
        caught_up = await self._fold_range(by_case, state.folded, state.by_case_ends)
        log.info("metrics follower: %d cases from the writers' changelog, %d events routed after it; folding on "
                 "from the routers' offsets", restored, caught_up)  # fmt: skip
        keep_out_of_gc("follower")
        self._consumer.assign(sources)
        for tp in sources:
            # offset 0 needs no ListOffsets round trip (slow while a new topic elects its leader); a start
            # already deleted by retention falls back to auto_offset_reset=earliest
            self._consumer.seek(tp, self.positions.get((tp.topic, tp.partition), 0))
        self._task = asyncio.create_task(self.run(), name="metrics-folder")

    async def _partitions(self, topics: list[str]) -> list[TopicPartition]:
        assert self._consumer is not None
        tps: list[TopicPartition] = []
        for topic in topics:
            parts = await kafka.partitions_of(self._consumer, topic, timeout=15)
            tps += [TopicPartition(topic, p) for p in sorted(parts)]
        return tps

    async def _fold_range(self, tps: list[TopicPartition], starts: Positions, ends: Positions) -> int:
        """Fold the records of `tps` from `starts` (0 where absent) up to `ends`; returns how many."""
        assert self._consumer is not None
        self._consumer.assign(tps)
        for tp in tps:
            self._consumer.seek(tp, starts.get((tp.topic, tp.partition), 0))
        below = {tp: ends[(tp.topic, tp.partition)] for tp in tps}
        n = 0
        async for tp, records in records_below(self._consumer, below, self.max_batch):
            n += await self.process({tp: records}, track=False)
        return n

    async def stop(self) -> None:
        self._stopping = True
        await kafka.finish(self._task, self._consumer)
        if self.engine.settled is not None:
            self.engine.settled.close(remove=True)

    # -- the loop -----------------------------------------------------------------------------------------------
    async def run(self) -> None:
        assert self._consumer is not None
        while not self._stopping:
            try:
                batches = await self._consumer.getmany(timeout_ms=100, max_records=self.max_batch)
            except KafkaError as exc:
                log.warning("metrics: fetch failed: %s", exc)
                await asyncio.sleep(1)
                continue
            try:
                await self.process(batches)
            except asyncio.CancelledError:
                raise
            except Exception:  # never let one bad batch stop the service
                log.exception("metrics: batch failed")
                await asyncio.sleep(1)
            if not self.ready.is_set() and not batches:
                self.ready.set()  # caught up with what was there when we started

    async def process(self, batches: dict[TopicPartition, list[ConsumerRecord]], *, track: bool = True) -> int:
        """Fold a fetch; `track`: the records are the source topics' (their positions are the follower's)."""
        now = self.clock()
        n = 0
        for tp, records in batches.items():
            for msg in records:
                try:
                    env = decode(msg, self.registry)
                except CaseflowError:
                    self.dead_lettered += 1  # the writer parks it on the dead-letter topic
                    continue
                self.engine.apply(env, now)
                self.folded += 1
                n += 1
            if records and track:
                self.positions[(tp.topic, tp.partition)] = records[-1].offset + 1
        self.engine.tick(now)
        self.engine.trim(now)
        touched = self.engine.take_changed()
        if touched:
            await self._changed(touched, now)
        return n

    async def _changed(self, touched: set[str], now: datetime) -> None:
        await self.publisher.changed(self.engine, touched, now)

    def subscribe(self, region: str) -> tuple[asyncio.Queue[dict[str, Any]], Callable[[], None]]:
        return self.publisher.subscribe(region)


def follower_store(settings: Settings) -> SettledCases:
    """A follower's settled-case store: its own, under the state directory, filled from the changelog on start."""
    return SettledCases.fresh(process_stores(settings.state_dir, "follower") / "cases")


@contextlib.asynccontextmanager
async def running_folder(settings: Settings, *, writer: bool, clock: Clock | None = None):  # type: ignore[no-untyped-def]
    """The writer (the faust app, `running_writer`) or a follower replica, started and stopped around the block."""
    if writer:
        from services.metrics.writer import running_writer  # faust is imported only where the writer runs

        async with running_writer(settings, clock=clock) as w:
            yield w
        return
    folder = Folder(
        settings.platform,
        build_engine(settings, settled=follower_store(settings)),
        max_batch=settings.max_batch,
        clock=clock or scenario.now,
    )
    await folder.start()
    try:
        yield folder
    finally:
        await folder.stop()
