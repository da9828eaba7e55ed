"""The outbox relay: publishes appended events to Kafka in commit order and marks them sent.

The event store is the outbox (no dual writes). One relay per service holds a lease in MongoDB at a time, so
several relay instances never interleave and reorder a case's events; the others stand by and take over when
the lease expires. A crash between publish and mark republishes the batch: consumers drop the duplicates by
event id. While Kafka is down commands keep succeeding; the relay retries with backoff and catches up in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.eventstore import Commit, EventStore
from shared.telemetry import context_from

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("caseflow.outbox")


class Lease:
    """A named, expiring lock in MongoDB (find-and-modify on one document: works on FerretDB and MongoDB)."""

    def __init__(self, db: AsyncDatabase, name: str, *, ttl: float = 10.0, owner: str | None = None) -> None:
        self._leases = db["leases"]
        self.name = name
        self.ttl = ttl
        self.owner = owner or str(uuid.uuid4())

    async def acquire(self) -> bool:
        now = datetime.now(UTC)
        try:
            await self._leases.find_one_and_update(
                {"_id": self.name, "$or": [{"owner": self.owner}, {"expires_at": {"$lt": now}}]},
                {"$set": {"owner": self.owner, "expires_at": now + timedelta(seconds=self.ttl)}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # held by someone else and not expired
        return True  # inserted, renewed, or taken over after expiry

    async def release(self) -> None:
        await self._leases.delete_one({"_id": self.name, "owner": self.owner})


class OutboxRelay:
    def __init__(
        self,
        store: EventStore,
        producer: AIOKafkaProducer,
        *,
        topic_for: Callable[[Commit], str],
        lease: Lease | None = None,
        batch_size: int = 500,
        idle_interval: float = 0.2,
        max_backoff: float = 5.0,
        before_mark: Callable[[list[Commit]], None] | None = None,
    ) -> None:
        self.store = store
        self.producer = producer
        self.topic_for = topic_for
        self.lease = lease
        self.batch_size = batch_size
        self.idle_interval = idle_interval
        self.max_backoff = max_backoff
        self.before_mark = before_mark  # test hook: simulate a crash between publish and mark
        self.published = 0
        self.failures = 0
        self._wake = asyncio.Event()
        self._stopping = False

    def notify(self) -> None:
        """Called after a local commit so the relay publishes at once instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.1
        while not self._stopping:
            try:
                if self.lease is not None and not await self.lease.acquire():
                    await self._sleep(self.lease.ttl / 3)
                    continue
                sent = await self.publish_once()
                backoff = 0.1
                if sent == 0:
                    await self._sleep(self.idle_interval)
            except (TimeoutError, KafkaError, PyMongoError, OSError) as exc:
                self.failures += 1
                log.warning("outbox relay: %s: %s (retrying in %.1fs)", type(exc).__name__, exc, backoff)
                await self._sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)

    async def publish_once(self) -> int:
        commits = await self.store.unpublished(self.batch_size)
        if not commits:
            return 0
        futures = []
        for commit in commits:
            topic = self.topic_for(commit)
            for env in commit.events:
                key, value, headers = env.to_kafka()
                with _tracer.start_as_current_span(
                    f"publish {env.type}",
                    context=context_from(env.traceparent),
                    kind=SpanKind.PRODUCER,
                    attributes={"messaging.destination.name": topic, "caseflow.case_id": env.subject},
                ):
                    futures.append(await self.producer.send(topic, value=value, key=key, headers=headers))
        await asyncio.gather(*futures)
        if self.before_mark is not None:
            self.before_mark(commits)
        await self.store.mark_published(commits)
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

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()
