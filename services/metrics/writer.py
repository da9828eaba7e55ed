"""The metrics writer (`python -m services.metrics.writer`): one process of three stages, so several share the work.

1. **Route** (`route.py`): the source topics copied onto the by-case topic, keyed by correlation id, so a case's
   events share a partition.
2. **Fold** (here): the faust app (`faust_app.py`) gives this writer some by-case partitions; it folds each into an
   engine of its own, writes every case a batch changed to the changelog and sends the shares of the published
   cells the batch moved to the partials topic (`partials.py`), all acknowledged before faust acks the batch. A
   timer sends shares when no batch has for `batch_within` s (deadlines pass while no event arrives). Undecodable
   or unknown events go to the dead-letter topic with the reason and where the router read them.
3. **Reduce** (`reduce.py`): one writer at a time sums the shares and publishes the changed indicators.

Settled cases leave memory for a settled-case store per partition (`settled_store.py`, docs/decisions/0013).
On every assignment the writer rebuilds its partitions' engines (and their stores) from the changelog and sends
every share of those partitions again (emptying those the engines no longer have), before folding goes on. Folds
are idempotent by event id, so nothing needs Kafka transactions. Why the stages and the changelog are built so:
docs/decisions/0003 and 0004.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from services.metrics.catalogue import load_catalogue
from services.metrics.config import Settings
from services.metrics.engine import Clock, MetricsEngine, keep_out_of_gc
from services.metrics.faust_app import (
    fetch_promptly,
    heartbeat_while_assigned,
    make_app,
    raw_schema,
    seek_unread_partitions_too,
)
from services.metrics.fold import CaseState
from services.metrics.partials import Shares, stale_names
from services.metrics.publisher import Publisher
from services.metrics.reduce import Reducer
from services.metrics.reference import load_reference
from services.metrics.route import CaseRouter, as_routed
from services.metrics.settled_store import SettledCases, process_stores
from services.metrics.sources import decode, source_topics
from services.metrics.topics import by_case_topic, changelog_topic, ensure_writer_topics, partials_topic, partition_of
from services.metrics.writer_state import changelog_cases, compacted_records, dump_case
from shared import clock as scenario
from shared import kafka
from shared.errors import CaseflowError
from shared.events import EventRegistry
from shared.events import registry as default_registry
from shared.settings import load_settings
from shared.telemetry import consuming, setup_telemetry
from shared.topics import Topics

log = logging.getLogger(__name__)
IN_FLIGHT = 2_000  # shares sent before waiting for their acknowledgements (a load sends every cell)
LOAD_LOGGED = 100_000  # cases loaded from the changelog between two progress lines


class MetricsWriter:
    """One writer process: its router, its faust app folding the by-case partitions it owns, and its reducer.

    `start()`/`stop()` embed it in a running event loop."""

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
        self.clock: Clock = clock or scenario.now
        catalogue, reference = load_catalogue(settings.catalogue_file), load_reference(settings.regions_file)
        self.new_engine = functools.partial(MetricsEngine, catalogue, reference, registry.types())
        self.engines: dict[int, MetricsEngine] = {}  # by-case partition owned → the fold state of its cases
        self.shares = Shares()
        self.publisher = Publisher(self.topics)
        self.router = CaseRouter(
            self.platform, source_topics(self.topics), lambda: self._producer, max_batch=settings.max_batch,
            session_timeout=settings.session_timeout, fetch_max_wait_ms=settings.fetch_max_wait_ms,
        )  # fmt: skip
        self.reducer = Reducer(
            self.platform, self.new_engine, self.publisher, self.clock, session_timeout=settings.session_timeout,
            batch_within=settings.batch_within, fetch_max_wait_ms=settings.fetch_max_wait_ms,
        )  # fmt: skip
        self.folded = 0
        self.dead_lettered = 0
        self.recoveries = 0
        self._stores: Path | None = None  # this process's settled-case stores (`settled_store.process_stores`)
        self._retired: list[MetricsEngine] = []  # engines a rebalance replaced: their stores go between batches
        self.recovered_cases = 0  # cases the last recovery read from the changelog
        self.flushed = 0
        self.recovered = asyncio.Event()
        self._assigning = asyncio.Event()  # the first assignment has begun loading
        self._seek_back: asyncio.Future[None] | None = None
        self._lock = asyncio.Lock()  # one flush at a time: the shares of a cell leave in order
        self._ready = asyncio.Event()  # the engines of the owned partitions are loaded: folding may go on
        self.app = make_app(settings)
        self.app.on_partitions_assigned.connect(self._on_assigned)  # type: ignore[arg-type]  # faust's stubs
        self.app.on_partitions_revoked.connect(self._on_revoked)  # type: ignore[arg-type]  # want sync receivers
        self.by_case = by_case_topic(self.platform)
        self.source = self.app.topic(self.by_case, schema=raw_schema(), allow_empty=True)
        self.app.agent(self.source, name="metrics-fold")(self._agent)
        seek_unread_partitions_too(self.app, {self.by_case})
        fetch_promptly(self.app, settings.fetch_max_wait_ms)
        heartbeat_while_assigned(self.app)
        self._last_flush = 0.0  # loop time of the last flush
        self.app.timer(settings.batch_within)(self._flush_if_idle)

    @property
    def _producer(self) -> AIOKafkaProducer:
        assert self.publisher.producer is not None, "started by start()"
        return self.publisher.producer

    def case(self, correlation_id: str) -> CaseState | None:
        """A case's fold state, if this writer owns its partition."""
        engine = self.engines.get(partition_of(correlation_id.encode(), self.platform.partitions))
        return None if engine is None else engine.case(correlation_id)

    # -- lifecycle ----------------------------------------------------------------------------------------------
    async def start(self, timeout: float = 90) -> None:
        """Start every stage; returns once the first assignment's partitions are loaded (however long the changelog:
        a province's million cases take minutes). Raises TimeoutError when no assignment begins in `timeout` s, and
        RuntimeError when the faust app crashes meanwhile."""
        # the writers' topics exist, with leaders, before faust starts: the first assignment reads the changelog
        # and the partials topic, and the first batch writes to them
        await ensure_writer_topics(self.platform)
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)  # faust creates only the last level
        self.publisher.producer = kafka.producer(self.platform)
        await self.publisher.producer.start()
        await self.reducer.start()
        await self.app.start()
        await asyncio.wait_for(self._assigning.wait(), timeout)
        while not self.recovered.is_set():
            if self.app.crashed:
                raise RuntimeError(f"metrics writer crashed while loading its partitions: {self.app.crash_reason!r}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.recovered.wait(), 1)
        await self.router.start()

    async def stop(self) -> None:
        await self.router.stop()  # first: what it routed is folded by whoever owns it
        if self._seek_back is not None:
            self._seek_back.cancel()
        with contextlib.suppress(Exception):
            await self.app.stop()
        with contextlib.suppress(Exception):
            await self.flush()  # what the last events changed
        await self.reducer.stop()
        if self.publisher.producer is not None:
            with contextlib.suppress(Exception):
                await self.publisher.producer.stop()
        self._retired += self.engines.values()
        self._close_retired()

    def owned(self) -> set[int]:
        """The by-case partitions this writer folds (an engine each)."""
        return set(self.engines)

    async def _on_assigned(self, sender: Any, assigned: set[Any], **_: Any) -> None:
        """After every (re)assignment: one engine per owned by-case partition, from the changelog's cases of those
        partitions (the aggregates are their sum); then every share of those partitions sent again, and an empty one
        for each the partials topic holds that the engines no longer have (a previous owner may have died before
        sending its last ones). Shares are values: the reducer publishes only what they move. Folding waits until
        this is done."""
        owned = {tp.partition for tp in assigned if tp.topic == self.by_case}
        self._assigning.set()
        now = self.clock()
        engines = await self._engines_from_changelog(owned, now)
        stale: set[tuple[int, str]] = set()
        async for _kafka_partition, records in compacted_records(self.platform, partials_topic(self.platform)):
            stale |= stale_names(((r.key, r.value) for r in records), engines)
        keep_out_of_gc("writer")
        async with self._lock:
            replaced, self.engines = self.engines, engines
            self.shares = Shares()
            shares = await self._send_shares(stale=stale)
        self._retired += replaced.values()
        self.recoveries += 1
        self.recovered_cases = sum(e.case_count for e in engines.values())
        log.info("metrics writer: owns by-case partitions %s, %d cases recovered from %s, %d shares sent (%d emptied)",
                 sorted(owned), self.recovered_cases, changelog_topic(self.platform), shares, len(stale))  # fmt: skip
        self._ready.set()
        self.recovered.set()
        self._seek_back = asyncio.ensure_future(self._seek_back_after_recovery())

    async def _on_revoked(self, sender: Any, revoked: set[Any], **_: Any) -> None:
        """Forget the revoked partitions, so their new owner is the only writer sending their shares. Nothing is
        sent here: faust has waited for the batch in flight (every acked batch sent its shares), the new owner
        sends every share of them again, and a writer that finds itself evicted after a pause
        must not send its stale view of partitions that moved on without it."""
        gone = {tp.partition for tp in revoked if tp.topic == self.by_case}
        self._ready.clear()
        async with self._lock:
            dropped = [e for p, e in self.engines.items() if p in gone]
            self.engines = {p: e for p, e in self.engines.items() if p not in gone}
        self._retired += dropped
        log.info("metrics writer: by-case partitions %s revoked", sorted(gone))

    async def _engines_from_changelog(self, partitions: set[int], now: datetime) -> dict[int, MetricsEngine]:
        """One engine per partition, with a fresh settled-case store, loaded from the changelog fetch by fetch:
        settled cases go to the store as they come, so memory holds only the hot ones."""
        if self._stores is None:
            self._stores = process_stores(self.settings.state_dir, self.app.conf.id)
        stores = {p: SettledCases.fresh(self._stores / f"g{self.recoveries}-p{p}") for p in partitions}
        engines = {p: self.new_engine(settled=stores[p], published_only=True) for p in partitions}  # no hour cells
        loaded, started = 0, asyncio.get_running_loop().time()
        async for partition, cases in changelog_cases(self.platform, partitions=partitions):
            loaded += engines[partition].restore_all(cases, now)
            if loaded // LOAD_LOGGED > (loaded - len(cases)) // LOAD_LOGGED:
                log.info("metrics writer: %d cases of partitions %s loaded (%.0f/s)", loaded, sorted(partitions),
                         loaded / max(asyncio.get_running_loop().time() - started, 1e-3))  # fmt: skip
        return engines

    def _close_retired(self) -> None:
        """Remove the settled-case stores of engines a rebalance replaced, once no batch can be folding into them
        (between batches): a new assignment has rebuilt its own."""
        retired, self._retired = self._retired, []
        for engine in retired:
            if engine.settled is not None:
                engine.settled.close(remove=True)

    async def _seek_back_after_recovery(self) -> None:
        """Seek the source partitions back to the committed offsets once more, after faust resumed them.

        Records faust fetches around its own seek after recovery can be lost (docs/decisions/0004). Folds are
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
        # in batches (max_batch events or batch_within s): see fold_batch
        async for events in stream.take_events(self.settings.max_batch, within=self.settings.batch_within):
            await self.fold_batch([event.message for event in events])

    async def fold_batch(self, messages: list[Any]) -> None:
        """Fold faust `Message`s (topic, partition, offset, key, value, headers) into the engines; write each case
        the batch changed to the changelog once and send the shares it moved, all acknowledged before faust may
        ack (and then commit) the batch."""
        await self._ready.wait()  # a rebalance is loading the engines
        self._close_retired()
        while True:
            engines = self.engines
            changed = {found for msg in messages if (found := await self.fold(msg, engines)) is not None}
            if self.engines is engines:
                break
            # a rebalance swapped the engines while we folded: fold the batch into the new ones (folds are idempotent)
        changelog = changelog_topic(self.platform)
        states = [  # no await in between: the engines cannot change under this
            (partition, cid, dump_case(engines[partition].held(cid))) for partition, cid in changed
        ]
        written = [
            await self._producer.send(changelog, state, key=cid.encode(), partition=partition)
            for partition, cid, state in states
        ]
        await self.flush()
        await asyncio.gather(*written)

    async def fold(self, msg: Any, engines: dict[int, MetricsEngine]) -> tuple[int, str] | None:
        """Fold one message; returns (partition, correlation id) of the case it changed, None for a duplicate or a
        bad one."""
        try:
            env = decode(msg, self.registry)
        except CaseflowError as exc:
            self.dead_lettered += 1
            await self.publisher.park(as_routed(msg), exc.message, exc.code)
            return None
        engine = engines.get(msg.partition)
        if engine is None:
            return None  # revoked while this batch waited: its new owner folds it (faust commits nothing for it)
        try:
            with consuming(env, msg.topic, f"fold {env.type}"):
                changed = engine.apply(env, self.clock())
        except Exception as exc:  # a fold bug must not stop the others: park the event with the reason
            log.exception("metrics: fold failed for %s", env.id)
            self.dead_lettered += 1
            await self.publisher.park(as_routed(msg), f"fold failed: {exc!r}", "fold_failed")
            return None
        self.folded += 1
        return (msg.partition, env.correlationid) if changed else None

    async def _flush_if_idle(self) -> None:
        """The timer's round, for deadlines that pass while no event arrives: skipped while batches flush anyway."""
        if asyncio.get_running_loop().time() - self._last_flush >= self.settings.batch_within:
            await self.flush()

    async def flush(self) -> None:
        """Send the shares moved since the last flush, with those of cases whose deadline has just passed."""
        async with self._lock:  # one flush at a time: the shares of a cell leave in order
            self._last_flush = asyncio.get_running_loop().time()
            await self._send_shares()
            self.flushed += 1

    async def _send_shares(self, *, stale: set[tuple[int, str]] | None = None) -> int:
        """Send the shares the engines moved since the last call, or (`stale` given: after an assignment) every
        share of the owned partitions, the `stale` ones emptied. Returns how many."""
        now = self.clock()
        topic = partials_topic(self.platform)
        sent, count = [], 0
        for partition, engine in self.engines.items():
            engine.tick(now)
            engine.trim(now)
            touched = engine.take_changed()
            records = (
                self.shares.changes(partition, engine, touched) if stale is None
                else self.shares.everything(partition, engine, {name for p, name in stale if p == partition})
            )  # fmt: skip
            for key, value in records:
                sent.append(await self._producer.send(topic, value, key=key, partition=0))
                count += 1
                if len(sent) >= IN_FLIGHT:  # a load sends every cell: bound what waits, let the others heartbeat
                    await asyncio.gather(*sent)
                    sent = []
        await asyncio.gather(*sent)
        return count


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
    setup_telemetry("metrics-writer", settings.platform)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
