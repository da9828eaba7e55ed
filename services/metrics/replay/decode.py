"""The replay's batch decoder: source records → the light events the fold reads, or rejections with their place.

The live writer decodes each record into a pydantic `Envelope` (`services.metrics.sources.decode`); building that
model is most of its decode cost. Here a record whose attributes pass a cheap check that is stricter than the
envelope's rules (every attribute present, lengths within the envelope's limits, an RFC 3339 time with an offset,
specversion 1.0, a plain positive schema version) becomes a `Replayed` directly; any other record goes through
`sources.decode` itself, so a record is accepted or refused for the same reason as live. The payload is always
validated by the registry (unknown type or version, invalid payload: refused as live), and the fold reads the
stored data as live does (the upcast payload's data when the record's version is older).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from services.metrics.sources import decode as envelope_decode
from shared.envelope import JSON, MAX_EVENT_BYTES
from shared.errors import CaseflowError
from shared.events import EventRegistry

_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)")
_VERSION = re.compile(r"[1-9]\d{0,8}")
# attribute → (required, longest): the envelope's own limits (`shared.envelope.Envelope`)
_LIMITS = {
    "id": (True, 128), "source": (True, 256), "type": (True, 256), "subject": (True, 128),
    "correlationid": (True, 128), "actor": (True, 256), "causationid": (False, 128), "traceparent": (False, 128),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Replayed:
    """One event as the fold reads it (the attributes of `shared.envelope.Envelope` that `fold` uses)."""

    id: str
    type: str
    time: datetime
    subject: str
    correlationid: str
    actor: str
    traceparent: str | None
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record the fold refuses (the live writer dead-letters it), with where it lies and why."""

    topic: str
    partition: int
    offset: int
    code: str  # `unknown_event_type` (type or version no contract covers) or `malformed_event`
    reason: str

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}: {self.code}: {self.reason}"


class BatchDecoder:
    """Decodes batches of source records; counts the records on the fast path and the refused ones by code."""

    def __init__(self, registry: EventRegistry) -> None:
        self.registry = registry
        self.fast = 0
        self.checked = 0  # records whose envelope `sources.decode` judged
        self.refused: Counter[str] = Counter()

    def decode(self, records: list[Any]) -> tuple[list[tuple[Any, Replayed]], list[Rejection]]:
        """(record, event) for each record folded, and the refused ones with their topic, partition and offset."""
        events: list[tuple[Any, Replayed]] = []
        rejections: list[Rejection] = []
        for msg in records:
            try:
                events.append((msg, self.one(msg)))
            except CaseflowError as exc:
                rejections.append(self.refuse(msg, exc.code, exc.message))
            except Exception as exc:  # a payload that breaks an upcaster: reported with its place, not a crash
                rejections.append(self.refuse(msg, "malformed_event", repr(exc)))
        return events, rejections

    def refuse(self, msg: Any, code: str, reason: str) -> Rejection:
        self.refused[code] += 1
        return Rejection(msg.topic, msg.partition, msg.offset, code, reason)

    def one(self, msg: Any) -> Replayed:
        """The record's event; raises `CaseflowError` (with the live writer's code) for a record it refuses."""
        attrs = _plain_attributes(msg.headers)
        value = msg.value
        data = _json_object(value) if attrs is not None else None
        if attrs is None or data is None:
            self.checked += 1
            return _from_envelope(envelope_decode(msg, self.registry))
        version = int(attrs["schemaversion"])
        payload = self.registry.load(attrs["type"], version, data)  # refuses as live: unknown, too new, invalid
        if payload.version != version:
            data = payload.model_dump(mode="json")
        self.fast += 1
        return Replayed(
            attrs["id"], attrs["type"], datetime.fromisoformat(attrs["time"]).astimezone(UTC), attrs["subject"],
            attrs["correlationid"], attrs["actor"], attrs.get("traceparent"), data,
        )  # fmt: skip


def _plain_attributes(headers: Any) -> dict[str, str] | None:
    """The `ce_*` attributes when they certainly pass the envelope's rules; None when the envelope must judge."""
    attrs: dict[str, str] = {}
    for name, raw in headers or ():
        try:
            text = raw.decode()  # every header, as the envelope reads them (one not UTF-8 refuses the record)
        except (AttributeError, UnicodeDecodeError):
            return None
        if name == "content-type":
            if not text.startswith(JSON):
                return None
        elif name.startswith("ce_"):
            attrs[name[3:]] = text
    for name, (required, longest) in _LIMITS.items():
        text = attrs.get(name)
        if text is None:
            if required:
                return None
        elif not 0 < len(text) <= longest:
            return None
    if attrs.get("specversion") != "1.0" or not _TIME.fullmatch(attrs.get("time", "")):
        return None
    if not _VERSION.fullmatch(attrs.get("schemaversion", "")):
        return None
    return attrs


_JSON = msgspec.json.Decoder()  # 4-5x `json.loads` on these records; what it refuses, `json` judges (fallback)


def _json_object(value: bytes | None) -> dict[str, Any] | None:
    if not value or len(value) > MAX_EVENT_BYTES:
        return None
    try:
        data = _JSON.decode(value)
    except msgspec.DecodeError:
        return None
    return data if isinstance(data, dict) else None


def _from_envelope(env: Any) -> Replayed:
    return Replayed(env.id, env.type, env.time, env.subject, env.correlationid, env.actor, env.traceparent, env.data)
