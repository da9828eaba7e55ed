"""The outbox relay: publishes committed events to Kafka, each stream in order, and deletes what was sent.

The relay wakes when a commit lands (LISTEN/NOTIFY on the store's channel), and polls every `idle_interval`
as well, so a lost notification or a restarted database only delays it. Each round claims a batch of outbox
rows (`FOR UPDATE SKIP LOCKED`, never a stream's row ahead of an earlier one another relay holds), publishes
them with the idempotent producer, waits for every acknowledgement and deletes the rows in the same
transaction. A crash between publish and delete publishes the batch again: consumers drop the duplicates by
event id. While Kafka or the database is down, commands keep succeeding (or answer 503) and the relay retries
with backoff, then catches up in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from psycopg import Error as DatabaseError
from psycopg_pool import PoolTimeout

from shared import kafka
from shared.eventstore import Commit, EventStore
from shared.retry import Backoff

log = logging.getLogger(__name__)
RETRIED = (TimeoutError, KafkaError, DatabaseError, PoolTimeout, OSError)


class OutboxRelay:
    def __init__(
        self,
        store: EventStore,
        producer: AIOKafkaProducer,
        *,
        topic_for: Callable[[Commit], str],
        wakeups: Callable[[], AsyncIterator[None]] | None = None,
        batch_size: int = 500,
        idle_interval: float = 1.0,
        max_backoff: float = 5.0,
        before_mark: Callable[[list[Commit]], None] | None = None,
    ) -> None:
        self.store = store
        self.producer = producer
        self.topic_for = topic_for
        self.wakeups = wakeups
        self.batch_size = batch_size
        self.idle_interval = idle_interval
        self.max_backoff = max_backoff
        self.before_mark = before_mark  # test hook: simulate a crash between publish and delete
        self.published = 0
        self.failures = 0
        self._wake = asyncio.Event()
        self._stopping = False

    def notify(self) -> None:
        """Publish now instead of at the next notification or poll (a local commit just landed)."""
        self._wake.set()

    async def run(self) -> None:
        listener = asyncio.create_task(self._listen()) if self.wakeups is not None else None
        backoff = Backoff(ceiling=self.max_backoff)
        try:
            while not self._stopping:
                try:
                    sent = await self.publish_once()
                    backoff.reset()
                    if sent == 0:
                        await self._sleep(self.idle_interval)
                except RETRIED as exc:
                    self.failures += 1
                    pause = backoff.next()
                    log.warning("outbox relay: %s: %s (retrying in %.1fs)", type(exc).__name__, exc, pause)
                    await self._sleep(pause)
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener

    async def publish_once(self) -> int:
        async with self.store.claim_unpublished(self.batch_size) as commits:
            if not commits:
                return 0
            futures = []
            for commit in commits:
                topic = self.topic_for(commit)
                for env in commit.events:
                    futures.append(await kafka.send(self.producer, topic, env))
            await asyncio.gather(*futures)
            if self.before_mark is not None:
                self.before_mark(commits)
        n = sum(len(c.events) for c in commits)
        self.published += n
        return n

    async def drain(self, timeout: float = 30.0) -> None:
        """Publish until nothing is left (used at shutdown and in tests)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while await self.publish_once():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("outbox not drained in time")

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def _listen(self) -> None:
        """Turn the store's notifications into wake-ups; reconnect after a failure (the poll covers the gap)."""
        assert self.wakeups is not None
        while not self._stopping:
            try:
                async for _ in self.wakeups():
                    self._wake.set()
            except (DatabaseError, OSError) as exc:
                log.debug("outbox relay: notifications interrupted: %s", exc)
            await asyncio.sleep(self.idle_interval)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()
