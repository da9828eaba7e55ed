"""The one consumer loop: consumer group, inbox, dead-letter topic, manual commit after handling.

Each batch: decode every message into an envelope and a typed payload (failures → dead letter), drop events
whose id the inbox already holds (one indexed query per batch), run the handler for the rest — different cases
concurrently, each case's events in order — record the ids of those not parked in the inbox (one insert per
batch), then commit the offsets. Handlers that write to the event store use the event id as idempotency key, and
the key is claimed in the same transaction as their events, so a crash between handling and the inbox write
cannot apply a message twice. A message that breaks a rule or the handler goes to the dead-letter topic with the
reason and its origin (and is handled if an operator replays it there after a fix: `caseflow dlq replay`);
transient I/O errors (the database or the broker unreachable) and concurrency conflicts are retried with
backoff on the same message (per-case order holds), so the consumer pauses while a dependency is down and
resumes without loss. Nothing crashes the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from psycopg import OperationalError
from psycopg_pool import PoolTimeout

from shared import kafka
from shared.contracts.common import Partner, PartnerEventRejected
from shared.db import Database
from shared.envelope import Envelope
from shared.errors import CaseflowError, ConcurrencyConflict
from shared.events import Event, EventRegistry
from shared.events import registry as default_registry
from shared.logs import case_context
from shared.partners import partner_of_topic
from shared.retry import Backoff
from shared.telemetry import consuming

log = logging.getLogger(__name__)

Handler = Callable[[Envelope, Event], Awaitable[None]]
TRANSIENT = (OperationalError, PoolTimeout, KafkaError, OSError, asyncio.TimeoutError)
#: what a handler's attempt is retried on (with backoff, same message): transient I/O, and a concurrency conflict
#: (an earlier attempt still holds the event's idempotency key, e.g. across a database restart, or a lost race)
RETRIED = (ConcurrencyConflict, *TRANSIENT)


class Inbox:
    """Ids of events a consumer group has processed (table `inbox`, primary key consumer + event id)."""

    def __init__(self, db: Database, group: str) -> None:
        self._db = db
        self.group = group

    async def seen(self, event_ids: Iterable[str]) -> set[str]:
        ids = list(dict.fromkeys(event_ids))
        if not ids:
            return set()
        async with self._db.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT event_id FROM inbox WHERE consumer = %s AND event_id = ANY(%s)", (self.group, ids)
            )
            return {row[0] for row in await cur.fetchall()}

    async def record(self, event_ids: Iterable[str]) -> None:
        ids = list(dict.fromkeys(event_ids))
        if not ids:
            return
        async with self._db.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO inbox (consumer, event_id) SELECT %s, unnest(%s::text[]) ON CONFLICT DO NOTHING",
                (self.group, ids),
            )


class MemoryInbox:
    """Inbox for unit tests and stateless consumers."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    async def seen(self, event_ids: Iterable[str]) -> set[str]:
        return self.ids & set(event_ids)

    async def record(self, event_ids: Iterable[str]) -> None:
        self.ids.update(event_ids)


@dataclass
class ConsumerStats:
    received: int = 0
    handled: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    ignored: int = 0
    retries: int = 0
    last_errors: list[str] = field(default_factory=list)


class DeadLetters:
    """Parks a message on the dead-letter topic with the reason and where it came from.

    With `notify_topic` (partner -> topic), a message refused from a partner's inbound topic also yields a
    `PartnerEventRejected` notice on that topic: a department names its own topic (the router delivers the
    notice to the partner), the router names the partner's outbound topic. The sender learns why without
    reading the dead-letter topic.
    """

    def __init__(
        self,
        producer: AIOKafkaProducer,
        topic: str,
        consumer_name: str,
        *,
        notify_topic: Callable[[str], str] | None = None,
    ) -> None:
        self.producer = producer
        self.topic = topic
        self.consumer_name = consumer_name
        self.notify_topic = notify_topic

    async def park(self, msg: ConsumerRecord, reason: str, error_code: str, *, notify: bool = True) -> None:
        headers = list(msg.headers or ()) + [
            ("dlq_reason", reason.encode()[:4000]),
            ("dlq_error", error_code.encode()),
            ("dlq_consumer", self.consumer_name.encode()),
            ("dlq_topic", msg.topic.encode()),
            ("dlq_partition", str(msg.partition).encode()),
            ("dlq_offset", str(msg.offset).encode()),
            ("dlq_time", datetime.now(UTC).isoformat().encode()),
        ]
        await self.producer.send_and_wait(self.topic, value=msg.value, key=msg.key, headers=headers)
        partner = partner_of_topic(msg.topic)
        if notify and partner is not None and self.notify_topic is not None:
            notice = rejection_notice(msg, partner, reason, error_code, self.consumer_name)
            await (await kafka.send(self.producer, self.notify_topic(partner), notice))


def rejection_notice(msg: ConsumerRecord, partner: str, reason: str, error_code: str, consumer: str) -> Envelope:
    """A `PartnerEventRejected` for a refused partner message, built from whatever of its headers survive; it
    continues the refused message's trace when that carried one (`DeadLetters` sends it in a span of its own)."""
    attrs = {}
    for name, raw in msg.headers or ():
        if name.startswith("ce_") and raw is not None:
            attrs[name[3:]] = raw.decode(errors="replace")[:128]
    reference = attrs.get("subject") or None
    fallback = f"rejected:{msg.topic}:{msg.partition}:{msg.offset}"[-128:]
    payload = PartnerEventRejected(
        recipient=Partner(partner),
        partner_reference=reference,
        reason=reason[:2000],
        error_code=error_code,
        rejected_by=consumer,
        rejected_event_id=attrs.get("id"),
        rejected_type=attrs.get("type"),
    )
    return Envelope.wrap(
        payload,
        source=f"caseflow/{consumer}",
        subject=reference or fallback,
        correlationid=attrs.get("correlationid") or reference or fallback,
        actor=f"dept:{consumer}",
        causationid=attrs.get("id"),
        traceparent=attrs.get("traceparent"),
    )


class EventConsumer:
    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        *,
        name: str,
        handlers: dict[type[Event], Handler] | None = None,
        handle_any: Handler | None = None,
        inbox: Inbox | MemoryInbox,
        dead_letters: DeadLetters,
        registry: EventRegistry = default_registry,
        accept: Callable[[ConsumerRecord, Envelope], str | None] | None = None,
        max_batch: int = 500,
        max_backoff: float = 5.0,
        concurrency: int = 16,
        gatekeeper: bool = False,
    ) -> None:
        self.consumer = consumer
        self.name = name
        self.handlers = handlers or {}
        self.handle_any = handle_any
        self.inbox = inbox
        self.dead_letters = dead_letters
        self.registry = registry
        self.accept = accept  # returns a refusal reason (e.g. the source does not match the principal)
        self.max_batch = max_batch
        self.max_backoff = max_backoff
        self.concurrency = concurrency
        # Events no one can read (malformed, unknown type or version, impersonation) are refused alike by every
        # consumer of a partner's inbound topic; only the gatekeeper (the router) tells the sender, so the
        # partner gets one notice. Refusals by a handler are specific to its department and always notify.
        self.gatekeeper = gatekeeper
        self.stats = ConsumerStats()
        self._stopping = False

    async def run(self) -> None:
        while not self._stopping:
            try:
                batches = await self.consumer.getmany(timeout_ms=200, max_records=self.max_batch)
            except KafkaError as exc:
                log.warning("%s: fetch failed: %s", self.name, exc)
                await asyncio.sleep(1)
                continue
            for tp, records in batches.items():
                await self.process_batch(tp, records)

    def stop(self) -> None:
        self._stopping = True

    async def process_batch(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        decoded: list[tuple[ConsumerRecord, Envelope, Event]] = []
        for msg in records:
            self.stats.received += 1
            item = await self._decode(msg)
            if item is not None:
                decoded.append(item)
        seen = await self._retry(lambda: self.inbox.seen(env.id for _, env, _ in decoded))
        done: dict[str, None] = {}  # ordered set: a batch may carry the same event twice
        per_case: dict[str, list[tuple[ConsumerRecord, Envelope, Event]]] = {}
        for item in decoded:
            env = item[1]
            if env.id in seen or env.id in done:
                self.stats.duplicates += 1
                continue
            done[env.id] = None
            per_case.setdefault(env.subject, []).append(item)
        # cases are independent: handle them side by side, each case's events strictly in order
        limit = asyncio.Semaphore(self.concurrency)
        parked: set[str] = set()

        async def handle_case(items: list[tuple[ConsumerRecord, Envelope, Event]]) -> None:
            async with limit:
                for msg, env, payload in items:
                    if not await self._handle(msg, env, payload):
                        parked.add(env.id)

        await asyncio.gather(*(handle_case(items) for items in per_case.values()))
        # a parked event stays out of the inbox: replayed from the dead-letter topic after a fix (`caseflow dlq
        # replay`), it is handled then; the handlers' idempotency keys keep a second delivery from acting twice
        await self._retry(lambda: self.inbox.record(i for i in done if i not in parked))
        if records:
            await self._retry(lambda: self._commit(tp, records[-1].offset + 1))

    async def _commit(self, tp: TopicPartition, offset: int) -> None:
        try:
            await self.consumer.commit({tp: offset})
        except (CommitFailedError, IllegalStateError) as exc:
            # the group moved the partition (this process stalled past its session, say): a retry would spin
            # forever on a partition it no longer owns; its owner resumes from the last commit, the inbox drops
            # what was handled here
            log.warning("%s: %s@%d not committed, the partition moved: %s", self.name, tp, offset, type(exc).__name__)

    async def _decode(self, msg: ConsumerRecord) -> tuple[ConsumerRecord, Envelope, Event] | None:
        try:
            env = Envelope.from_kafka(msg.value, msg.headers)
            payload = env.payload(self.registry)
        except CaseflowError as exc:
            await self._park(msg, exc.message, exc.code, notify=self.gatekeeper)
            return None
        if self.accept is not None:
            refusal = self.accept(msg, env)
            if refusal:
                await self._park(msg, refusal, "refused", notify=self.gatekeeper)
                return None
        return msg, env, payload

    async def _handle(self, msg: ConsumerRecord, env: Envelope, payload: Event) -> bool:
        """Handle one event; False when it was parked on the dead-letter topic."""
        handler = self.handlers.get(type(payload)) or self.handle_any
        if handler is None:
            self.stats.ignored += 1
            return True
        backoff = Backoff(ceiling=self.max_backoff)
        with (
            case_context(env.subject),
            consuming(env, msg.topic),
        ):
            while True:
                try:
                    await handler(env, payload)
                    self.stats.handled += 1
                    return True
                except RETRIED as exc:  # I/O that comes back, or an earlier attempt holding the key: it clears
                    self.stats.retries += 1
                    pause = await backoff.sleep()
                    log.warning("%s: %s on %s; retried after %.1fs", self.name, exc, env.id, pause)
                except CaseflowError as exc:
                    await self._park(msg, exc.message, exc.code)
                    return False
                except Exception as exc:  # a bug must not stop the partition: park it, loudly
                    log.exception("%s: handler failed on %s", self.name, env.id)
                    await self._park(msg, f"handler error: {type(exc).__name__}: {exc}", "handler_error")
                    return False

    async def _park(self, msg: ConsumerRecord, reason: str, code: str, *, notify: bool = True) -> None:
        self.stats.dead_lettered += 1
        self.stats.last_errors = [*self.stats.last_errors[-9:], reason]
        log.warning("%s: dead-lettering %s[%d]@%d: %s", self.name, msg.topic, msg.partition, msg.offset, reason)
        await self._retry(lambda: self.dead_letters.park(msg, reason, code, notify=notify))

    async def _retry(self, op: Callable[[], Awaitable]):  # type: ignore[no-untyped-def]
        backoff = Backoff(ceiling=self.max_backoff)
        while True:
            try:
                return await op()
            except TRANSIENT as exc:
                self.stats.retries += 1
                pause = await backoff.sleep()
                log.warning("%s: %s; retried after %.1fs", self.name, exc, pause)
