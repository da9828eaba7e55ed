"""The metrics worker: every department topic and the partner inbound topics, folded into live indicators.

- the **writer** (`python -m services.metrics.worker`, `services.metrics.stream`; several can share the work): it
  routes, folds, keeps each case's fold state in its changelog topic, publishes every changed indicator to
  `<prefix>.metrics.indicators` (compacted, key `indicator|region|period`) and an alert when an indicator crosses
  its target (`Publisher`, below) and parks undecodable or unknown events on the dead-letter topic with the reason;
- a **follower** (`Folder`, inside the query API): loads the writers' state from Kafka (`store.WriterState`: their
  committed offsets, their changelog, what was routed but not folded yet), follows the source topics with a plain
  aiokafka consumer and folds into its own in-memory replica (folds are deterministic and idempotent by event id,
  so every replica agrees), feeding queries and the SSE stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

import shared.contracts  # noqa: F401  (registers every event type)
from services.metrics.config import Settings
from services.metrics.domain import Value, is_published
from services.metrics.engine import MetricsEngine
from services.metrics.reference import load_catalogue, load_reference
from services.metrics.store import Positions, by_case_topic, ensure_writer_topics, load_writer_state, records_below
from shared import kafka
from shared.consumer import DeadLetters
from shared.contracts.metrics import IndicatorChanged, IndicatorTargetCrossed
from shared.envelope import Envelope
from shared.errors import CaseflowError
from shared.events import EventRegistry
from shared.events import registry as default_registry
from shared.settings import PlatformSettings
from shared.topics import PARTNERS, Topics

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
Listener = Callable[[list[Value]], None]
# the registered contracts partners read (shared/contracts/metrics.py); `published` builds their payload
CHANGED = IndicatorChanged.event_type
CROSSED = IndicatorTargetCrossed.event_type


def source_topics(topics: Topics) -> list[str]:
    return [*topics.all_department_topics(), *(topics.partner_inbound(p) for p in PARTNERS)]


def build_engine(settings: Settings, registry: EventRegistry = default_registry) -> MetricsEngine:
    return MetricsEngine(
        load_catalogue(settings.catalogue_file), load_reference(settings.regions_file), registry.types()
    )


def keep_out_of_gc(what: str) -> None:
    """The fold state just restored lives as long as the process: collect once, then move it out of the cyclic
    GC's reach (`gc.freeze`). Full collections walking ~1M state objects paused folding for 0.3-0.6 s (measured in
    the latency benchmark); only objects created after this are walked."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    log.info("metrics: %s state frozen out of the GC (%d objects, %.2f s)", what, gc.get_freeze_count(),
             time.perf_counter() - started)  # fmt: skip


def decode(msg: ConsumerRecord, registry: EventRegistry) -> Envelope:
    """CloudEvents binary mode → envelope whose data is the payload at the current schema version."""
    env = Envelope.from_kafka(msg.value, msg.headers)
    payload = env.payload(registry)  # unknown type/version or invalid payload raises → dead letter
    if env.schemaversion == payload.version:
        return env
    return env.model_copy(update={"data": payload.model_dump(mode="json"), "schemaversion": payload.version})


def published(value: Value) -> dict[str, Any]:
    return {
        "indicator": value.indicator,
        "region": value.region,
        "period": value.period,
        "dimension": value.dimension,
        "value": value.value,
        "numerator": value.numerator,
        "denominator": value.denominator,
        "unit": value.unit,
        "target": None if value.target is None else {"op": value.target.op, "value": value.target.value},
        "status": value.status,
        "reason": value.reason,
        **({"extra": value.extra} if value.extra else {}),
    }


class Publisher:
    """Sends indicator changes and target crossings, parks dead letters, feeds in-process listeners (SSE).

    Shared by the faust writer and the follower `Folder`; with no producer (a follower) only listeners are fed.
    """

    def __init__(self, topics: Topics, producer: AIOKafkaProducer | None = None) -> None:
        self.topics = topics
        self.producer = producer
        self.listeners: list[Listener] = []
        self.last_status: dict[str, str] = {}  # indicator|region|period → status last published

    def prime(self, engine: MetricsEngine, now: datetime) -> None:
        """Remember restored statuses, so the first crossing after a restart still alerts."""
        self.last_status.clear()
        for key in engine.aggregates.cells:
            if is_published(key):
                v = engine.value_of_cell(key, now)
                self.last_status[f"{v.indicator}|{v.region}|{v.period}"] = v.status

    async def park(self, msg: Any, reason: str, code: str) -> None:
        """`msg`: anything with a Kafka record's topic, partition, offset, key, value and headers."""
        if self.producer is not None:
            log.warning("metrics: dead-lettering %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, reason)
            await DeadLetters(self.producer, self.topics.deadletter, "metrics").park(msg, reason, code)

    async def changed(self, engine: MetricsEngine, touched: set[str], now: datetime) -> list[Value]:
        values = [engine.value_of_cell(key, now) for key in sorted(touched) if is_published(key)]
        for listener in list(self.listeners):
            listener(values)
        if self.producer is None:
            return values
        futures = []
        for v in values:
            key = f"{v.indicator}|{v.region}|{v.period}"
            body = published(v)
            futures.append(await self._send(key, CHANGED, body, now))
            before = self.last_status.get(key)
            self.last_status[key] = v.status
            if before in ("met", "not_met") and v.status in ("met", "not_met") and before != v.status:
                futures.append(await self._send(f"alert|{key}", CROSSED, {**body, "previous_status": before}, now))
        if futures:
            await asyncio.gather(*futures)
        return values

    async def _send(self, key: str, event_type: str, data: dict[str, Any], now: datetime) -> asyncio.Future[Any]:
        assert self.producer is not None
        env = Envelope(
            source="caseflow/metrics", type=event_type, time=now, subject=key[:128], correlationid=key[:128],
            actor="service:metrics", data=data,
        )  # fmt: skip
        _, value, headers = env.to_kafka()
        return await self.producer.send(self.topics.indicators, value=value, key=key.encode(), headers=headers)

    def subscribe(self, region: str) -> tuple[asyncio.Queue[dict[str, Any]], Callable[[], None]]:
        """SSE support: a queue of the region's indicator changes, and the function that unsubscribes it."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)

        def listener(values: list[Value]) -> None:
            for v in values:
                if v.region == region and not queue.full():
                    queue.put_nowait(published(v))

        self.listeners.append(listener)
        return queue, lambda: self.listeners.remove(listener)


class Folder:
    """The follower: a read replica of the fold state (the writer's state + the source topics) for the query API."""

    def __init__(
        self,
        platform: PlatformSettings,
        engine: MetricsEngine,
        *,
        registry: EventRegistry = default_registry,
        clock: Clock = lambda: datetime.now(UTC),
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
        """Load the writers' state, then follow the source topics from where it ends (`store.WriterState`)."""
        await ensure_writer_topics(self.platform)
        self._consumer = kafka.consumer(self.platform, group_id=None, isolation_level="read_committed")
        await self._consumer.start()
        sources = await self._partitions(source_topics(self.topics))
        by_case = await self._partitions([by_case_topic(self.platform)])
        state = await load_writer_state(self.platform, sources, by_case)
        self.positions = state.positions
        restored = self.engine.restore_all(state.cases, self.clock())
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
        touched = self.engine.take_changed()
        if touched:
            await self._changed(touched, now)
        return n

    async def _changed(self, touched: set[str], now: datetime) -> None:
        await self.publisher.changed(self.engine, touched, now)

    def subscribe(self, region: str) -> tuple[asyncio.Queue[dict[str, Any]], Callable[[], None]]:
        return self.publisher.subscribe(region)


@contextlib.asynccontextmanager
async def running_folder(settings: Settings, *, writer: bool, clock: Clock | None = None):  # type: ignore[no-untyped-def]
    """The writer (the faust app, `running_writer`) or a follower replica, started and stopped around the block."""
    if writer:
        from services.metrics.stream import running_writer  # faust is imported only where the writer runs

        async with running_writer(settings, clock=clock) as w:
            yield w
        return
    folder = Folder(
        settings.platform,
        build_engine(settings),
        max_batch=settings.max_batch,
        clock=clock or (lambda: datetime.now(UTC)),
    )
    await folder.start()
    try:
        yield folder
    finally:
        await folder.stop()


def main() -> None:
    """`python -m services.metrics.worker` (what `make run` starts): the faust writer."""
    from services.metrics.stream import main as stream_main

    stream_main()


if __name__ == "__main__":
    main()
