"""Stage one of a metrics writer: every source event again, on the by-case topic, keyed by its correlation id.

A case's events arrive on several topics (intake, legal aid, a partner's inbound…), each keyed by its own case id
or partner reference, so no source partition holds a whole case. The router copies each record as it is (bytes
and headers, plus where it came from) to `<prefix>.metrics.writer-by-case`, in the partition of its correlation id
(`topics.partition_of`): there every event of a case shares one partition, and the writer owning that partition
folds the whole case. Writers can then share the work (faust splits the by-case partitions between them).

Each writer process runs a router; the routers share the source partitions in the consumer group
`<prefix>.metrics.writer-route` and commit a batch only once the by-case topic has acknowledged all of it. A
router that dies or loses its partitions mid-batch leaves that batch to be routed again: the copies are dropped
by the fold (it keeps the event ids it folded). A record with no correlation id goes on under its own key, so the
writer parks it on the dead-letter topic with the reason, as any undecodable event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from services.metrics.topics import Positions, by_case_topic, partition_of, route_group
from shared import kafka
from shared.settings import PlatformSettings

log = logging.getLogger(__name__)
ORIGIN = ("caseflow_origin_topic", "caseflow_origin_partition", "caseflow_origin_offset")


def correlation_key(msg: ConsumerRecord) -> bytes:
    for name, value in msg.headers or ():
        if name == "ce_correlationid" and value:
            return bytes(value)
    return msg.key or b"-"


def origin_of(headers: list[tuple[str, bytes]] | tuple) -> tuple[str, int, int] | None:
    """(topic, partition, offset) the router copied a by-case record from, if it says."""
    found = {name: value for name, value in headers or () if name in ORIGIN}
    try:
        topic, partition, offset = (found[name].decode() for name in ORIGIN)
        return topic, int(partition), int(offset)
    except (KeyError, ValueError):
        return None


class CaseRouter:
    def __init__(
        self,
        platform: PlatformSettings,
        sources: list[str],
        producer: Callable[[], AIOKafkaProducer],
        *,
        max_batch: int,
        session_timeout: float,
        fetch_max_wait_ms: int,
    ) -> None:
        self.platform = platform
        self.sources = sources
        self.producer = producer  # the writer's one producer, started by the writer
        self.max_batch = max_batch
        self.session_timeout = session_timeout
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.topic = by_case_topic(platform)
        self.read_to: Positions = {}  # next source offset per partition, routed and acknowledged
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        timeout_ms = int(self.session_timeout * 1000)
        self._consumer = kafka.consumer(
            self.platform, *self.sources, group_id=route_group(self.platform),
            session_timeout_ms=timeout_ms, heartbeat_interval_ms=timeout_ms // 3,
            fetch_max_wait_ms=self.fetch_max_wait_ms,
        )  # fmt: skip
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name="metrics-route")

    async def stop(self) -> None:
        self._stopping = True
        await kafka.finish(self._task, self._consumer)

    async def _run(self) -> None:
        """Fetch, send, and acknowledge the previous batch while this one is on its way: one batch in flight, so a
        batch's copies leave without waiting for the broker's answer to the one before."""
        assert self._consumer is not None
        pending: Routing | None = None
        while not self._stopping:
            routing: Routing | None = None
            try:
                batches = await self._consumer.getmany(timeout_ms=100, max_records=self.max_batch)
                routing = await self.send(batches) if batches else None
                if pending is not None:
                    await self.settle(pending)
                pending, routing = routing, None
            except asyncio.CancelledError:
                raise
            except (KafkaError, OSError) as exc:  # the broker or a rebalance: route the unsettled batches again
                log.warning("metrics route: batch not routed (%r), again", exc)
                self.again(*(r for r in (pending, routing) if r is not None))
                pending = None
                await asyncio.sleep(1)
        if pending is not None:
            with contextlib.suppress(KafkaError, OSError):  # unsettled: routed again by the partitions' next owner
                await self.settle(pending)

    async def send(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> Routing:
        """Copy one batch to the by-case topic; `settle` it once the broker has acknowledged every copy."""
        partitions = self.platform.partitions
        producer = self.producer()
        sent = []
        for tp, records in batches.items():
            for msg in records:
                key = correlation_key(msg)
                where = (tp.topic.encode(), str(tp.partition).encode(), str(msg.offset).encode())
                headers = [*(msg.headers or ()), *zip(ORIGIN, where, strict=True)]
                partition = partition_of(key, partitions)
                sent.append(await producer.send(self.topic, msg.value, key=key, headers=headers, partition=partition))
        return Routing(
            sent,
            firsts={tp: records[0].offset for tp, records in batches.items() if records},
            ends={tp: records[-1].offset + 1 for tp, records in batches.items() if records},
        )

    async def settle(self, routing: Routing) -> None:
        assert self._consumer is not None
        await asyncio.gather(*routing.sent)
        await self._consumer.commit(routing.ends)
        for tp, offset in routing.ends.items():
            self.read_to[(tp.topic, tp.partition)] = offset

    def again(self, *unsettled: Routing) -> None:
        """Seek back to the first record of the earliest unsettled batch of each partition."""
        assert self._consumer is not None
        firsts: dict[TopicPartition, int] = {}
        for routing in unsettled:
            for tp, offset in routing.firsts.items():
                firsts[tp] = min(offset, firsts.get(tp, offset))
        for tp, offset in firsts.items():
            with contextlib.suppress(Exception):  # a partition no longer ours is routed by its new owner
                self._consumer.seek(tp, offset)


@dataclass(slots=True)
class Routing:
    """One batch on its way: the broker's acknowledgements to wait for, and the offsets to seek back to or commit."""

    sent: list[asyncio.Future[Any]]
    firsts: dict[TopicPartition, int]
    ends: dict[TopicPartition, int]


def as_routed(msg: Any) -> Any:
    """A by-case record as where the router read it (topic, partition, offset), for the dead-letter topic."""
    origin = origin_of(msg.headers)
    if origin is None:
        return msg
    topic, partition, offset = origin
    return SimpleNamespace(topic=topic, partition=partition, offset=offset, key=msg.key, value=msg.value,
                           headers=msg.headers)  # fmt: skip
