"""The CloudEvents 1.0 envelope every event travels in, and its Kafka binary-mode binding.

Attributes: id, source, type, specversion, time, subject (= case id), datacontenttype; extensions
correlationid (end-to-end case id), causationid, traceparent (W3C), actor (audit) and schemaversion.
On Kafka the key is the subject (per-case order), attributes are `ce_*` headers and the value is the JSON data.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared import clock
from shared.errors import MalformedEvent
from shared.events import Event, EventRegistry

SPECVERSION = "1.0"
JSON = "application/json"
#: The largest event value a consumer reads (well under Kafka's 1 MB default message limit): a case event is a few
#: kilobytes; anything near this is a mistake or an attack, refused with the reason before it is parsed.
MAX_EVENT_BYTES = 256_000
_ATTRS = (
    "id",
    "source",
    "type",
    "specversion",
    "time",
    "subject",
    "correlationid",
    "causationid",
    "traceparent",
    "actor",
    "schemaversion",
)


def utcnow() -> datetime:
    """Platform time (shared.clock): an event's time is the scenario's."""
    return clock.now()


def new_id() -> str:
    return str(uuid.uuid4())


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=new_id, min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=256)
    type: str = Field(min_length=1, max_length=256)
    specversion: str = SPECVERSION
    time: datetime = Field(default_factory=utcnow)
    subject: str = Field(min_length=1, max_length=128)
    datacontenttype: str = JSON
    correlationid: str = Field(min_length=1, max_length=128)
    causationid: str | None = Field(default=None, max_length=128)
    traceparent: str | None = Field(default=None, max_length=128)
    actor: str = Field(min_length=1, max_length=256)
    schemaversion: int = Field(default=1, ge=1)
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("specversion")
    @classmethod
    def _only_cloudevents_1(cls, v: str) -> str:
        if v != SPECVERSION:
            raise ValueError(f"unsupported CloudEvents specversion {v!r}")
        return v

    @field_validator("time")
    @classmethod
    def _aware_utc(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("time must carry a timezone")
        return v.astimezone(UTC)

    # -- construction ---------------------------------------------------------------------------------------
    @classmethod
    def wrap(
        cls,
        payload: Event,
        *,
        source: str,
        subject: str,
        correlationid: str,
        actor: str,
        causationid: str | None = None,
        traceparent: str | None = None,
        time: datetime | None = None,
        id: str | None = None,
    ) -> Envelope:
        return cls(
            id=id or new_id(),
            source=source,
            type=payload.event_type,
            time=time or utcnow(),
            subject=subject,
            correlationid=correlationid,
            causationid=causationid,
            traceparent=traceparent,
            actor=actor,
            schemaversion=payload.version,
            data=payload.model_dump(mode="json"),
        )

    def payload(self, registry: EventRegistry) -> Event:
        """The typed payload at the reader's current schema version (upcast if stored older)."""
        return registry.load(self.type, self.schemaversion, self.data)

    # -- JSON (structured mode) -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Envelope:
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise MalformedEvent(f"invalid envelope: {_describe(exc)}") from exc

    @classmethod
    def from_json(cls, raw: bytes | str) -> Envelope:
        try:
            return cls.from_dict(json.loads(raw))
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as exc:
            raise MalformedEvent(f"envelope is not JSON: {exc}") from exc

    # -- Kafka binary content mode --------------------------------------------------------------------------
    def to_kafka(self) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
        """(key, value, headers) per the CloudEvents Kafka protocol binding, binary content mode."""
        attrs = self.model_dump(mode="json", exclude={"data", "datacontenttype"}, exclude_none=True)
        headers = [(f"ce_{k}", str(v).encode()) for k, v in attrs.items()]
        headers.append(("content-type", self.datacontenttype.encode()))
        value = json.dumps(self.data, ensure_ascii=False, separators=(",", ":")).encode()
        return self.subject.encode(), value, headers

    @classmethod
    def from_kafka(cls, value: bytes | None, headers: list[tuple[str, bytes]] | tuple) -> Envelope:
        attrs: dict[str, Any] = {}
        content_type = JSON
        for name, raw in headers or ():
            try:
                text = raw.decode() if raw is not None else ""
            except UnicodeDecodeError as exc:
                raise MalformedEvent(f"header {name} is not UTF-8") from exc
            if name.startswith("ce_") and name[3:] in _ATTRS:
                attrs[name[3:]] = text
            elif name == "content-type":
                content_type = text
        if "type" not in attrs:
            raise MalformedEvent("not a CloudEvent: ce_type header missing", field="ce_type")
        if not content_type.startswith(JSON):
            raise MalformedEvent(f"unsupported content-type {content_type!r}", field="content-type")
        if value and len(value) > MAX_EVENT_BYTES:
            raise MalformedEvent(f"event of {len(value)} bytes exceeds the {MAX_EVENT_BYTES}-byte limit", field="data")
        try:
            data = json.loads(value) if value else {}
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise MalformedEvent(f"event data is not JSON: {exc}", field="data") from exc
        if not isinstance(data, dict):
            raise MalformedEvent("event data must be a JSON object", field="data")
        return cls.from_dict({**attrs, "data": data, "datacontenttype": content_type})


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)
