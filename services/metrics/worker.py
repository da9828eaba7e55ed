"""The metrics worker: reads every department topic and the partner inbound topics and drives the pure folds.

Two roles share one loop (`Folder`):
- the **writer** (`python -m services.metrics.worker`): folds, snapshots changed cases and the positions read to
  MongoDB (cases first, positions after), publishes every changed indicator to `<prefix>.metrics.indicators`
  (compacted, key `indicator|region|period`) and an alert when an indicator crosses its target, and parks
  undecodable or unknown events on the dead-letter topic with the reason;
- a **follower** (inside the query API): loads the same snapshot, follows the same topics from the saved
  positions and folds into its own in-memory replica (folds are deterministic, so every replica agrees), feeding
  queries and the SSE stream.

faust-streaming is not used: the loop is plain aiokafka with manual partition assignment (see the service README
notes in the final report); state survives restarts through the MongoDB snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from pymongo import AsyncMongoClient

import shared.contracts  # noqa: F401  (registers every event type)
from services.metrics.config import Settings
from services.metrics.domain import Value
from services.metrics.engine import MetricsEngine
from services.metrics.reference import load_catalogue, load_reference
from services.metrics.store import Positions, Snapshots
from shared import kafka
from shared.consumer import DeadLetters
from shared.envelope import Envelope
from shared.errors import CaseflowError
from shared.events import EventRegistry
from shared.events import registry as default_registry
from shared.settings import PlatformSettings, load_settings
from shared.topics import PARTNERS, Topics

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
Listener = Callable[[list[Value]], None]
CHANGED = "caseflow.metrics.indicator_changed"
CROSSED = "caseflow.metrics.indicator_target_crossed"


def source_topics(topics: Topics) -> list[str]:
    return [*topics.all_department_topics(), *(topics.partner_inbound(p) for p in PARTNERS)]


def build_engine(settings: Settings, registry: EventRegistry = default_registry) -> MetricsEngine:
    return MetricsEngine(
        load_catalogue(settings.catalogue_file), load_reference(settings.regions_file), registry.types()
    )


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


class Folder:
    """One consumer loop folding the source topics into a `MetricsEngine` (writer or follower role)."""

    def __init__(
        self,
        platform: PlatformSettings,
        engine: MetricsEngine,
        snapshots: Snapshots,
        *,
        writer: bool,
        registry: EventRegistry = default_registry,
        clock: Clock = lambda: datetime.now(UTC),
        max_batch: int = 2000,
    ) -> None:
        self.platform = platform
        self.engine = engine
        self.snapshots = snapshots
        self.writer = writer
        self.registry = registry
        self.clock = clock
        self.max_batch = max_batch
        self.topics = Topics(platform.topic_prefix)
        self.positions: Positions = {}
        self.listeners: list[Listener] = []
        self.last_status: dict[str, str] = {}
        self.folded = 0
        self.dead_lettered = 0
        self.ready = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    # -- lifecycle ----------------------------------------------------------------------------------------------
    async def start(self) -> None:
        await kafka.ensure_topics(self.platform)
        restored, self.positions = await self.snapshots.restore(self.engine, self.clock())
        log.info("metrics %s: restored %d cases", "writer" if self.writer else "follower", restored)
        if self.writer:
            now = self.clock()  # remember restored statuses so the first crossing after a restart still alerts
            for key in self.engine.aggregates.cells:
                if key.endswith("|*") and "|hour:" not in key:
                    v = self.engine.value_of_cell(key, now)
                    self.last_status[f"{v.indicator}|{v.region}|{v.period}"] = v.status
            self._producer = kafka.producer(self.platform)
            await self._producer.start()
        self._consumer = kafka.consumer(self.platform, group_id=None, isolation_level="read_committed")
        await self._consumer.start()
        tps: list[TopicPartition] = []
        for topic in source_topics(self.topics):
            parts = self._consumer.partitions_for_topic(topic) or await self._partitions(topic)
            tps += [TopicPartition(topic, p) for p in sorted(parts)]
        self._consumer.assign(tps)
        for tp in tps:
            # offset 0 needs no ListOffsets round trip (slow while a new topic elects its leader); a start
            # already deleted by retention falls back to auto_offset_reset=earliest
            self._consumer.seek(tp, self.positions.get((tp.topic, tp.partition), 0))
        self._task = asyncio.create_task(self.run(), name="metrics-folder")

    async def _partitions(self, topic: str) -> set[int]:
        assert self._consumer is not None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            await self._consumer._client.force_metadata_update()
            parts = self._consumer.partitions_for_topic(topic)
            if parts:
                return set(parts)
            await asyncio.sleep(0.2)
        raise RuntimeError(f"topic {topic} has no partitions")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            try:  # let the current batch finish its snapshot; cancel only if it hangs
                await asyncio.wait_for(asyncio.shield(self._task), timeout=10)
            except (TimeoutError, Exception):
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._task
        for client in (self._consumer, self._producer):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.stop()

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
            except Exception:  # never let one bad batch stop the service; the batch is re-read on restart
                log.exception("metrics: batch failed")
                await asyncio.sleep(1)
            if not self.ready.is_set() and not batches:
                self.ready.set()  # caught up with what was there when we started

    async def process(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        now = self.clock()
        touched: set[str] = set()
        positions: Positions = {}
        for tp, records in batches.items():
            for msg in records:
                try:
                    env = decode(msg, self.registry)
                except CaseflowError as exc:
                    await self._park(msg, exc.message, exc.code)
                    continue
                touched |= self.engine.apply(env, now)
                self.folded += 1
            if records:
                positions[(tp.topic, tp.partition)] = records[-1].offset + 1
        touched |= self.engine.tick(now)
        self.positions.update(positions)
        if self.writer and positions:
            await self.snapshots.save(self.engine, positions)  # cases first, positions after: replay-safe
        if touched:
            await self._changed(touched, now)

    async def _park(self, msg: ConsumerRecord, reason: str, code: str) -> None:
        self.dead_lettered += 1
        if self.writer and self._producer is not None:
            log.warning("metrics: dead-lettering %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, reason)
            await DeadLetters(self._producer, self.topics.deadletter, "metrics").park(msg, reason, code)

    async def _changed(self, touched: set[str], now: datetime) -> None:
        values = [
            self.engine.value_of_cell(key, now) for key in sorted(touched) if key.endswith("|*") and "|hour:" not in key
        ]
        for listener in list(self.listeners):
            listener(values)
        if not self.writer or self._producer is None:
            return
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

    async def _send(self, key: str, event_type: str, data: dict[str, Any], now: datetime) -> asyncio.Future[Any]:
        assert self._producer is not None
        env = Envelope(
            source="caseflow/metrics", type=event_type, time=now, subject=key[:128], correlationid=key[:128],
            actor="service:metrics", data=data,
        )  # fmt: skip
        _, value, headers = env.to_kafka()
        return await self._producer.send(self.topics.indicators, value=value, key=key.encode(), headers=headers)

    # -- SSE support --------------------------------------------------------------------------------------------
    def subscribe(self, region: str) -> tuple[asyncio.Queue[dict[str, Any]], Callable[[], None]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)

        def listener(values: list[Value]) -> None:
            for v in values:
                if v.region == region and not queue.full():
                    queue.put_nowait(published(v))

        self.listeners.append(listener)
        return queue, lambda: self.listeners.remove(listener)


@contextlib.asynccontextmanager
async def running_folder(settings: Settings, *, writer: bool, clock: Clock | None = None):  # type: ignore[no-untyped-def]
    mongo: AsyncMongoClient = AsyncMongoClient(settings.platform.mongo_url, tz_aware=True)
    db = mongo[f"{settings.platform.topic_prefix}_metrics"]
    folder = Folder(
        settings.platform,
        build_engine(settings),
        Snapshots(db),
        writer=writer,
        max_batch=settings.max_batch,
        clock=clock or (lambda: datetime.now(UTC)),
    )
    await folder.start()
    try:
        yield folder
    finally:
        await folder.stop()
        await mongo.close()


async def serve(settings: Settings) -> None:
    async with running_folder(settings, writer=True) as folder:
        log.info("metrics worker folding %s", source_topics(folder.topics))
        stop = asyncio.Event()
        with contextlib.suppress(NotImplementedError):
            import signal

            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def main() -> None:
    settings = load_settings(Settings)
    logging.basicConfig(level=settings.platform.log_level)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
