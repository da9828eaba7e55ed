"""The metrics writer: a faust-streaming app driving the pure folds over every department and partner topic.

- **App**: id `<prefix>.metrics.writer` (also its consumer group: the metrics principal may use groups named
  `<prefix>.metrics.*`), broker and SASL credentials from `PlatformSettings`, table store `memory://` or
  `rocksdb://` (rocksdict) from `METRICS_STORE`, `topic_partitions` = the platform's partition count.
- **Agent** `metrics-fold` over the source topics (raw bytes; CloudEvents binary mode, decoded with
  `worker.decode`), in batches (`take_events`: `max_batch` events or `batch_within` s): each event is folded
  into the `MetricsEngine`, then each case the batch changed is written to the table once and the indicators the
  batch changed are published once (`flush`), all before faust acks the batch. A timer flushes when no batch
  has for `batch_within` s, for deadlines that pass while no event arrives. Undecodable or unknown events go to the
  dead-letter topic with the reason and folding goes on (delivery is at least once, so a redelivered bad event
  is parked again).
- **Table** `cases` (changelog topic `<prefix>.metrics.writer-cases-changelog`): correlation id → the case's
  pickled fold state. A restarted or rebalanced writer recovers it from the changelog and rebuilds the engine's
  aggregates from it (they are the sum of the cases' contributions). The table uses the key partitioner, not the
  source partition: a case's events arrive on several topics keyed by different case ids, and one changelog
  partition per case keeps its latest state last.
- **Idempotence** instead of Kafka transactions: a case holds the ids of the events folded into it and the fold
  drops an id it already holds, so an event redelivered after a crash (the changelog is flushed before offsets are
  committed), replayed or produced twice never counts twice. That also makes two work-arounds for faust 0.15.3 on
  aiokafka 0.14 safe: records faust fetched and dropped while recovering a table were not always read again
  (`seek_unread_partitions_too`, `_seek_back_after_recovery`), so the writer seeks back to the committed offsets
  once more and refolds a few events.
- Changed indicators go to `<prefix>.metrics.indicators` with the target-crossing alert (`worker.Publisher`).
- The query API's followers start from this state: the group's committed offsets, then the changelog
  (`services.metrics.store`). The writer needs no database.

Run one writer instance: the aggregates it publishes are global (a city sums villages from every partition), and
a second member of the group would split the partitions between the two. A writer that owns only some source
partitions logs an error and publishes nothing until a rebalance gives it all of them back (then it publishes
every cell once). faust creates its internal topics at start (`<prefix>.metrics.writer-cases-changelog`,
compacted, and `<prefix>.metrics.writer-__assignor-__leader`); under broker ACLs the metrics principal may not
create topics, so the admin creates them beforehand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import faust
from aiokafka import AIOKafkaProducer

from services.metrics.config import Settings
from services.metrics.domain import CaseState
from services.metrics.engine import MetricsEngine
from services.metrics.store import TABLE, Positions, app_id, changelog_topic
from services.metrics.worker import Clock, Publisher, build_engine, decode, keep_out_of_gc, source_topics
from shared import kafka
from shared.errors import CaseflowError
from shared.events import EventRegistry
from shared.events import registry as default_registry
from shared.settings import PlatformSettings, load_settings
from shared.topics import Topics

log = logging.getLogger(__name__)


def broker_credentials(platform: PlatformSettings) -> faust.SASLCredentials | None:
    if platform.kafka_security_protocol == "PLAINTEXT":
        return None
    return faust.SASLCredentials(
        username=platform.kafka_username,
        password=platform.kafka_password.get_secret_value() if platform.kafka_password else None,
        mechanism=platform.kafka_sasl_mechanism,
        ssl_context=ssl.create_default_context() if platform.kafka_security_protocol == "SASL_SSL" else None,
    )


def make_app(settings: Settings) -> faust.App:
    platform = settings.platform
    return faust.App(
        app_id(platform),
        broker=[f"kafka://{hp.strip()}" for hp in platform.kafka_bootstrap.split(",")],
        broker_credentials=broker_credentials(platform),
        store=settings.store,
        datadir=str(settings.state_dir / app_id(platform)),
        topic_partitions=platform.partitions,
        topic_replication_factor=platform.replication_factor,
        consumer_auto_offset_reset="earliest",
        # faust's 60 s default keeps a killed writer's partitions unassigned for a minute after its restart
        broker_session_timeout=settings.session_timeout,
        web_enabled=False,  # queries are served by the metrics API (services.metrics.main)
        autodiscover=False,
    )


def seek_unread_partitions_too(app: faust.App, topics: set[str]) -> None:
    """Make the app's "seek back to the committed offsets" also rewind partitions committed at 0 or not at all.

    While faust reads a changelog after a rebalance it fetches the paused source partitions too and drops those
    records, counting on a seek to the committed offsets afterwards; aiokafka 0.14's `seek_to_committed` skips
    offsets that are 0 or missing, so the dropped records of such a partition were never folded. Patched on this
    app's own consumer thread only.
    """
    thread = app.consumer._thread  # type: ignore[attr-defined]

    async def seek_to_committed() -> dict[Any, int | None]:
        consumer = thread._ensure_consumer()

        async def in_consumer_thread() -> dict[Any, int | None]:
            committed: dict[Any, int | None] = await consumer.seek_to_committed()
            for tp, offset in committed.items():
                # nothing committed yet: read it all. Not seek_to_beginning: a partition awaiting its offset
                # reset has no position, and faust's livelock check crashes the consumer reading it
                if tp.topic in topics and not offset:
                    consumer.seek(tp, 0)
            return committed

        result: dict[Any, int | None] = await thread.call_thread(in_consumer_thread)
        return result

    thread.seek_to_committed = seek_to_committed


def raw_schema() -> faust.Schema:
    """Bytes in, bytes out. A new one per table/topic: faust changes the schema object it is given."""
    return faust.Schema(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")


class MetricsWriter:
    """The faust app plus the engine it drives; `start()`/`stop()` embed it in a running event loop."""

    def __init__(
        self,
        settings: Settings,
        *,
        registry: EventRegistry = default_registry,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.platform = settings.platform
        self.topics = Topics(self.platform.topic_prefix)
        self.registry = registry
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self.engine: MetricsEngine = build_engine(settings, registry)
        self.publisher = Publisher(self.topics)
        self.read_to: Positions = {}  # next offset per source partition, since start
        self.folded = 0
        self.dead_lettered = 0
        self.recoveries = 0
        self.recovered_cases = 0  # cases the last recovery read from the changelog
        self.partial = False  # owns only some source partitions: publishes nothing (see _on_recovered)
        self.flushed = 0
        self.recovered = asyncio.Event()
        self._seek_back: asyncio.Future[None] | None = None
        self._lock = asyncio.Lock()  # one flush (publish round) at a time: changes of an indicator leave in order
        self.app = make_app(settings)
        self.cases = self.app.Table(
            TABLE,
            key_type=bytes,  # bytes → faust's raw codec for the table and its changelog
            value_type=bytes,
            partitions=self.platform.partitions,
            use_partitioner=True,  # see the module docstring: one changelog partition per case
        )
        self.cases.on_recover(self._on_recovered)
        self.source = self.app.topic(*source_topics(self.topics), schema=raw_schema(), allow_empty=True)
        self.app.agent(self.source, name="metrics-fold")(self._agent)
        seek_unread_partitions_too(self.app, set(self.source.topics))
        self._last_flush = 0.0  # loop time of the last publishing round
        self.app.timer(settings.batch_within)(self._flush_if_idle)

    # -- lifecycle ----------------------------------------------------------------------------------------------
    async def start(self, timeout: float = 90) -> None:
        await kafka.ensure_topics(self.platform)
        # the changelog exists, with leaders, before faust starts: faust declares it itself only after its first
        # rebalance, and a table write meanwhile found no partitions for it (a crashed agent on a 3-broker cluster)
        changelog = changelog_topic(self.platform)
        await kafka.ensure_topics(self.platform, [changelog], compacted=True)
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)  # faust creates only the last level
        self.publisher.producer = kafka.producer(self.platform)
        await self.publisher.producer.start()
        await self.app.start()
        # faust partitions table keys with its producer's metadata, without waiting for it (as aiokafka's send
        # would): wait here until that producer knows the changelog's partitions
        await asyncio.wait_for(self.app.producer._ensure_producer().partitions_for(changelog), timeout)
        await asyncio.wait_for(self.recovered.wait(), timeout)

    async def stop(self) -> None:
        if self._seek_back is not None:
            self._seek_back.cancel()
        with contextlib.suppress(Exception):
            await self.app.stop()
        with contextlib.suppress(Exception):
            await self.flush()  # what the last events changed
        producer: AIOKafkaProducer | None = self.publisher.producer
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()

    async def _on_recovered(self) -> None:
        """After every (re)assignment: rebuild the engine from the table's cases (aggregates are their sum)."""
        now = self.clock()
        engine = build_engine(self.settings, self.registry)
        latest: dict[str, CaseState] = {}
        for raw in list(self.cases.values()):
            case: CaseState = pickle.loads(raw)  # noqa: S301 — our own changelog, written by this app
            held = latest.get(case.correlation_id)
            # the rocksdb store may hold a case in two partition files (where the event was read, where the
            # changelog put it); a fold only ever adds event ids, so the case with more of them is the later one
            if held is None or len(case.event_ids) > len(held.event_ids):
                latest[case.correlation_id] = case
        engine.restore_all(latest.values(), now)
        del latest
        keep_out_of_gc("writer")
        wanted = len(self.source.topics) * self.platform.partitions
        owned = sum(1 for tp in self.app.assignor.assigned_actives() if tp.topic in self.source.topics)
        async with self._lock:
            old, self.engine = self.engine, engine
            self.publisher.prime(engine, now)
            was_partial, self.partial = self.partial, owned < wanted
            if self.partial:
                log.error(
                    "metrics writer owns %d of %d source partitions (another writer in group %s?): its sums "
                    "would be partial, so it publishes no indicators until it owns them all", owned, wanted,
                    self.app.conf.id,
                )  # fmt: skip
            elif was_partial:  # changes made while partial were never published: publish every cell once
                engine.aggregates.touch(engine.aggregates.cells)
            else:  # what the last engine changed and did not publish yet
                engine.aggregates.touch(old.take_changed())
        self.recoveries += 1
        self.recovered_cases = len(engine.cases)
        log.info("metrics writer: recovered %d cases from %s", len(engine.cases), changelog_topic(self.platform))
        self.recovered.set()
        self._seek_back = asyncio.ensure_future(self._seek_back_after_recovery())

    async def _seek_back_after_recovery(self) -> None:
        """Seek the source partitions back to the committed offsets once more, after faust resumed them.

        While recovering, faust fetches source records and drops them, then seeks back; records it fetched
        around that seek were seen lost in tests (a replay from offset 0 skipped a partition). Folds are
        idempotent, so reading again from the committed offsets costs a few refolds and loses nothing.
        """
        try:
            recovery = self.app.tables.recovery  # type: ignore[attr-defined]
            await asyncio.wait_for(recovery.completed.wait(), timeout=60)
            await asyncio.sleep(0.5)  # past the flow resume that follows `completed`
            await self.app.consumer.perform_seek()
        except Exception as exc:  # a rebalance meanwhile seeks again on its own
            log.warning("metrics writer: seek after recovery failed: %r", exc)

    # -- folding ------------------------------------------------------------------------------------------------
    async def _agent(self, stream: Any) -> None:
        # in batches (max_batch events or batch_within s): each case the batch changed is written to the table once
        # and the indicators it changed are published once, before faust acks the batch's events (so the changelog
        # holds them before their offsets can be committed)
        async for events in stream.take_events(self.settings.max_batch, within=self.settings.batch_within):
            await self.fold_batch([event.message for event in events])

    async def fold_batch(self, messages: list[Any]) -> None:
        """Fold faust `Message`s (topic, partition, offset, key, value, headers) into the engine and table."""
        while True:
            engine = self.engine
            changed = {cid for msg in messages if (cid := await self.fold(msg, engine)) is not None}
            if self.engine is engine:
                break
            # a recovery swapped the engine while we folded: fold the batch into the new one (folds are idempotent)
        for cid in changed:  # no await in between: the engine cannot change under this loop
            self.cases[cid.encode()] = pickle.dumps(engine.cases[cid], protocol=5)
        await self.flush()

    async def fold(self, msg: Any, engine: MetricsEngine) -> str | None:
        """Fold one message; returns the correlation id of the case it changed, None for a duplicate or a bad one."""
        self.read_to[(msg.topic, msg.partition)] = msg.offset + 1
        try:
            env = decode(msg, self.registry)
        except CaseflowError as exc:
            self.dead_lettered += 1
            await self.publisher.park(msg, exc.message, exc.code)
            return None
        try:
            changed = engine.apply(env, self.clock())
        except Exception as exc:  # a fold bug must not stop the others: park the event with the reason
            log.exception("metrics: fold failed for %s", env.id)
            self.dead_lettered += 1
            await self.publisher.park(msg, f"fold failed: {exc!r}", "fold_failed")
            return None
        self.folded += 1
        return env.correlationid if changed else None

    async def _flush_if_idle(self) -> None:
        """The timer's round, for deadlines that pass while no event arrives: skipped while batches flush anyway."""
        if asyncio.get_running_loop().time() - self._last_flush >= self.settings.batch_within:
            await self.flush()

    async def flush(self) -> None:
        """Publish the indicators changed since the last flush, with those whose deadline has just passed."""
        async with self._lock:  # one publisher at a time: changes of one indicator leave in order
            self._last_flush = asyncio.get_running_loop().time()
            now = self.clock()
            self.engine.tick(now)
            touched = self.engine.take_changed()
            if touched and not self.partial:
                await self.publisher.changed(self.engine, touched, now)
            self.flushed += 1


@contextlib.asynccontextmanager
async def running_writer(settings: Settings, *, clock: Clock | None = None) -> AsyncIterator[MetricsWriter]:
    writer = MetricsWriter(settings, clock=clock)
    try:
        await writer.start()
        yield writer
    finally:
        await writer.stop()


async def serve(settings: Settings) -> None:
    async with running_writer(settings) as writer:
        log.info("metrics writer (faust app %s) folding %s", writer.app.conf.id, source_topics(writer.topics))
        stop = asyncio.Event()
        with contextlib.suppress(NotImplementedError):
            import signal

            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        while not stop.is_set():
            if writer.app.crashed:  # exit non-zero: the supervisor (make run, Kubernetes) restarts the writer
                raise SystemExit(f"metrics writer crashed: {writer.app.crash_reason!r}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1)


def main() -> None:
    settings = load_settings(Settings)
    logging.basicConfig(level=settings.platform.log_level)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
