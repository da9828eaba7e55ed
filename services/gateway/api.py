"""Partner REST routes: POST an event to the partner's inbound topic, GET the partner's outbound events.

Scope `partner:<name>`; the token's partner must be the path's (a police token never reads the court's
notices nor writes as the court). Problems are RFC 9457 problem+json naming the field.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.gateway.handlers import Gateway, PayloadInvalid, decode_cursor, encode_cursor, pull
from shared.api import IdempotencyKey, problem
from shared.auth import Principal, require
from shared.errors import Forbidden
from shared.topics import PARTNERS

router = APIRouter(prefix="/partners", tags=["partners"])
#: `shared.topics.PARTNERS` (tests/unit/integrations/test_gateway.py keeps the two equal)
PartnerName = Literal["court", "police", "procuratorate", "petition_office", "hotline_12345", "dispatch_110"]
SCOPES = tuple(f"partner:{p}" for p in PARTNERS)


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=256, description="event type, e.g. caseflow.partner.dispute_referred")
    version: int | None = Field(default=None, ge=1, description="payload schema version (default: current)")
    data: dict[str, Any]
    partner_reference: str = Field(min_length=1, max_length=64, description="the partner's own case number")
    correlation_id: str | None = Field(default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")


class EventAccepted(BaseModel):
    event_id: str
    correlation_id: str
    topic: str
    duplicate: bool


class EventOut(BaseModel):
    id: str
    type: str
    source: str
    subject: str
    time: datetime
    correlationid: str
    causationid: str | None = None
    traceparent: str | None = Field(
        default=None, description="W3C trace context: send it back as the `traceparent` header of the answer"
    )
    schemaversion: int
    data: dict[str, Any]


class EventPage(BaseModel):
    items: list[EventOut]
    next: str = Field(description="pass as `after` to continue where this page ended")


def _own(principal: Principal, partner: str) -> None:
    if principal.partner != partner or f"partner:{partner}" not in principal.scopes:
        raise Forbidden(f"a token for {principal.subject!r} cannot act for the {partner}", field="partner")


@router.post("/{partner}/events", status_code=202, response_model=EventAccepted)
async def submit_event(
    partner: PartnerName,
    body: EventIn,
    request: Request,
    idempotency_key: IdempotencyKey = None,
    principal: Principal = require(*SCOPES),
) -> Any:
    _own(principal, partner)
    settings = request.app.state.settings
    size = len(json.dumps(body.data, ensure_ascii=False).encode())
    if size > settings.max_event_bytes:
        reason = f"payload of {size} bytes exceeds the {settings.max_event_bytes}-byte limit"
        return problem(413, "payload_too_large", reason, errors=[{"field": "data", "reason": reason}])
    gateway: Gateway = request.app.state.gateway
    try:
        accepted = await gateway.submit(
            partner,
            actor=principal.actor,
            event_type=body.type,
            version=body.version,
            data=body.data,
            partner_reference=body.partner_reference,
            correlation_id=body.correlation_id,
            idempotency_key=idempotency_key,
        )
    except PayloadInvalid as exc:
        return problem(422, exc.code, exc.message, errors=exc.errors)
    return EventAccepted(**accepted.__dict__)


@router.get("/{partner}/events", response_model=EventPage)
async def pull_events(
    partner: PartnerName,
    request: Request,
    after: Annotated[str | None, Query(max_length=2000, description="cursor from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    principal: Principal = require(*SCOPES),
) -> EventPage | JSONResponse:
    _own(principal, partner)
    cursor = decode_cursor(after)
    gateway: Gateway = request.app.state.gateway
    settings = request.app.state.settings
    envelopes, position = await pull(
        settings.platform, gateway.topics.partner_outbound(partner), cursor, limit, settings.pull_wait_seconds
    )
    items = [EventOut(**env.model_dump(exclude={"specversion", "datacontenttype", "actor"})) for env in envelopes]
    return EventPage(items=items, next=encode_cursor(position))
