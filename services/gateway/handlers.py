"""The gateway's use cases: check a partner's event against the contracts, produce it once per idempotency key,
and page through the partner's outbound topic with a cursor.

The key → event map lives in PostgreSQL (`partner_keys`, key `<partner>:<key>`) with the envelope, so a
retry after a crash between the record and the produce sends the very same event again (consumers drop the
duplicate by id) and a retry after success produces nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer, TopicPartition
from pydantic import ValidationError

from shared import kafka
from shared.asyncapi import sent_by
from shared.calendar import uncovered_fields
from shared.contracts.common import PartnerRequest
from shared.db import Database
from shared.envelope import Envelope, new_id
from shared.errors import CaseflowError, ConcurrencyConflict, MalformedEvent, UnknownEventType, ValidationFailed
from shared.events import Event, EventRegistry
from shared.settings import PlatformSettings
from shared.topics import Topics


class Unavailable(CaseflowError):
    code = "unavailable"
    http_status = 503


class PayloadInvalid(ValidationFailed):
    """Several fields at fault: every one is named in the problem's `errors`."""

    def __init__(self, event_type: str, errors: list[dict[str, str]]) -> None:
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5])
        super().__init__(f"{event_type} payload invalid: {detail}", field=errors[0]["field"])
        self.errors = errors


def check_event(
    registry: EventRegistry, partner: str, event_type: str, version: int | None, data: dict[str, Any]
) -> Event:
    """The typed payload, or a 422 naming the field: unknown or not-for-this-partner type, version, payload."""
    if event_type not in registry:
        raise UnknownEventType(f"unknown event type {event_type!r}", field="type")
    if event_type not in sent_by(partner, registry):
        raise ValidationFailed(f"{event_type} is not an event the {partner} may send", field="type")
    model = registry.model_for(event_type)
    if version is not None and version != model.version:
        try:
            payload = registry.load(event_type, version, data)
        except UnknownEventType as exc:
            raise UnknownEventType(exc.message, field="version") from None
        except MalformedEvent as exc:
            raise ValidationFailed(exc.message, field="data") from None
    else:
        try:
            payload = model.model_validate(data)
        except ValidationError as exc:
            errors = [
                {"field": ".".join(["data", *(str(p) for p in e["loc"])]), "reason": e["msg"]} for e in exc.errors()
            ]
            raise PayloadInvalid(event_type, errors) from None
    assert isinstance(payload, PartnerRequest)
    outside = [{"field": f"data.{name}", "reason": reason} for name, reason in uncovered_fields(payload)]
    if outside:
        raise PayloadInvalid(event_type, outside)
    return payload


# -- idempotency ----------------------------------------------------------------------------------------------
class KeyStore(Protocol):
    async def claim(self, key: str, record: dict[str, Any]) -> dict[str, Any] | None:
        """Store `record` under `key`; return the existing record instead if the key is taken."""

    async def mark_produced(self, key: str) -> None: ...


class PostgresKeyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, key: str, record: dict[str, Any]) -> dict[str, Any] | None:
        async with self.db.pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO partner_keys (key, fingerprint, envelope, produced, at) VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (key) DO NOTHING",
                (key, record["fingerprint"], record["envelope"], record["produced"], record["at"]),
            )
            if cur.rowcount == 1:
                return None
            cur = await conn.execute(
                "SELECT fingerprint, envelope, produced, at FROM partner_keys WHERE key = %s", (key,)
            )
            row = await cur.fetchone()
        assert row is not None  # keys are never deleted
        return {"_id": key, "fingerprint": row[0], "envelope": row[1], "produced": row[2], "at": row[3]}

    async def mark_produced(self, key: str) -> None:
        async with self.db.pool.connection() as conn:
            await conn.execute("UPDATE partner_keys SET produced = true WHERE key = %s", (key,))


class MemoryKeyStore:
    """For unit tests."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    async def claim(self, key: str, record: dict[str, Any]) -> dict[str, Any] | None:
        if key in self.docs:
            return dict(self.docs[key])
        self.docs[key] = {"_id": key, **record}
        return None

    async def mark_produced(self, key: str) -> None:
        self.docs[key]["produced"] = True


Publish = Callable[[str, Envelope], Awaitable[None]]


@dataclass(frozen=True)
class Accepted:
    event_id: str
    correlation_id: str
    topic: str
    duplicate: bool


class Gateway:
    def __init__(self, topics: Topics, registry: EventRegistry, keys: KeyStore, publish: Publish) -> None:
        self.topics = topics
        self.registry = registry
        self.keys = keys
        self.publish = publish

    async def submit(
        self,
        partner: str,
        *,
        actor: str,
        event_type: str,
        version: int | None,
        data: dict[str, Any],
        partner_reference: str,
        correlation_id: str | None,
        idempotency_key: str | None,
    ) -> Accepted:
        if data.get("partner_reference", partner_reference) != partner_reference:
            raise ValidationFailed("differs from the body's partner_reference", field="data.partner_reference")
        payload = check_event(
            self.registry, partner, event_type, version, {**data, "partner_reference": partner_reference}
        )
        env = Envelope.wrap(
            payload,
            source=f"partner/{partner}",
            subject=partner_reference,
            correlationid=correlation_id or f"corr-{new_id()}",
            actor=actor,
        )
        topic = self.topics.partner_inbound(partner)
        if idempotency_key is None:
            await self.publish(topic, env)
            return Accepted(env.id, env.correlationid, topic, duplicate=False)
        key = f"{partner}:{idempotency_key}"
        fingerprint = _fingerprint(event_type, version, data, partner_reference, correlation_id)
        record = {"fingerprint": fingerprint, "envelope": env.to_json().decode(), "produced": False,
                  "at": datetime.now(UTC)}  # fmt: skip
        existing = await self.keys.claim(key, record)
        duplicate = existing is not None
        if existing is not None:
            if existing["fingerprint"] != fingerprint:
                raise ConcurrencyConflict("Idempotency-Key already used for a different event", field="Idempotency-Key")
            env = Envelope.from_json(existing["envelope"])
            if existing.get("produced"):
                return Accepted(env.id, env.correlationid, topic, duplicate=True)
        await self.publish(topic, env)  # also after an interrupted earlier try: same id, consumers dedupe
        await self.keys.mark_produced(key)
        return Accepted(env.id, env.correlationid, topic, duplicate=duplicate)


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def kafka_publisher(producer: AIOKafkaProducer) -> Publish:
    async def publish(topic: str, env: Envelope) -> None:
        await (await kafka.send(producer, topic, env))

    return publish


# -- pull -----------------------------------------------------------------------------------------------------
def encode_cursor(positions: dict[int, int]) -> str:
    raw = json.dumps({str(p): o for p, o in sorted(positions.items())}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str | None) -> dict[int, int]:
    if not token:
        return {}
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        positions = {int(p): int(o) for p, o in raw.items()}
    except (binascii.Error, ValueError, TypeError, AttributeError, UnicodeDecodeError):
        raise ValidationFailed("not a cursor this gateway issued", field="after") from None
    if any(p < 0 or o < 0 for p, o in positions.items()):
        raise ValidationFailed("not a cursor this gateway issued", field="after")
    return positions


async def pull(
    settings: PlatformSettings, topic: str, after: dict[int, int], limit: int, wait: float
) -> tuple[list[Envelope], dict[int, int]]:
    """Up to `limit` events after the cursor, in time order across partitions (each partition in offset order)."""
    consumer = kafka.consumer(settings, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic) or await _partitions(consumer, topic)
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        begin = await consumer.beginning_offsets(tps)
        end = await consumer.end_offsets(tps)
        start = {tp.partition: max(after.get(tp.partition, 0), begin[tp]) for tp in tps}
        for tp in tps:
            consumer.seek(tp, start[tp.partition])
        wanted = {tp.partition: min(end[tp], start[tp.partition] + limit) for tp in tps}
        fetched: dict[int, list[Any]] = {tp.partition: [] for tp in tps}
        deadline = time.monotonic() + wait

        def pending() -> bool:
            return any(start[p] + len(fetched[p]) < wanted[p] for p in fetched)

        while pending() and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200, max_records=limit)
            for tp, records in batch.items():
                fetched[tp.partition].extend(r for r in records if r.offset < wanted[tp.partition])
    finally:
        await consumer.stop()
    # k-way merge by timestamp: a page is a prefix of every partition, so the cursor never skips a record
    out: list[Envelope] = []
    position = {p: start[p] for p in start}
    heads = dict.fromkeys(fetched, 0)
    while len(out) < limit:
        ready = [(fetched[p][i].timestamp, p) for p, i in heads.items() if i < len(fetched[p])]
        if not ready:
            break
        _, p = min(ready)
        record = fetched[p][heads[p]]
        heads[p] += 1
        position[p] = record.offset + 1
        try:
            out.append(Envelope.from_kafka(record.value, record.headers))
        except CaseflowError:
            continue  # not a CloudEvent: nothing a partner could read; the cursor moves past it
    return out, {**after, **position}


async def _partitions(consumer: Any, topic: str) -> set[int]:
    try:
        return await kafka.partitions_of(consumer, topic, timeout=5)
    except TimeoutError:
        raise Unavailable(f"topic {topic} not available") from None
