"""The three kinds of intake stream and their state: a request (`rq-…`), a hotline call (`call-…`) and a village's
legal advisor entry (`adv-<village>`), plus the empty stream nobody has written to yet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.contracts.common import Department, Partner
from shared.contracts.intake import Channel, CloseOutcome, Level, RequestKind


class Status(StrEnum):
    NEW = "new"
    RECEIVED = "received"
    ANSWERED = "answered"
    REFERRED = "referred"
    ESCALATED = "escalated"
    TRANSFERRED = "transferred"  # handed to 12345 / 110, awaiting (or holding) its result
    CLOSED = "closed"
    EVALUATED = "evaluated"


class CallStatus(StrEnum):
    OFFERED = "offered"
    ANSWERED = "answered"
    ABANDONED = "abandoned"


@dataclass(frozen=True)
class WorkOrder:
    opened_at: datetime
    due_at: datetime
    completed_at: datetime | None = None
    on_time: bool | None = None


@dataclass(frozen=True)
class Transfer:
    """A request 12348 handed to 12345 or 110 (转办): what was asked, the other hotline's ticket and result."""

    to: Partner
    reason: str
    asked: str
    transferred_at: datetime
    ticket: str | None = None
    accepted_at: datetime | None = None
    outcome: str | None = None
    handled_at: datetime | None = None


@dataclass(frozen=True)
class Request:
    request_id: str
    channel: Channel
    level: Level | None
    region: str
    kind: RequestKind
    topic: str
    received_at: datetime
    status: Status = Status.RECEIVED
    person_ref: str | None = None
    call_id: str | None = None
    external_reference: str | None = None
    referred_to: Department | None = None
    escalated_to: tuple[Level, str] | None = None
    work_order: WorkOrder | None = None
    reply_minutes: int | None = None
    qc_drawn: bool = False
    closed_at: datetime | None = None
    outcome: CloseOutcome | None = None
    satisfaction: int | None = None
    transfer: Transfer | None = None  # transferred out to 12345 / 110
    result_reported: bool = False  # a transfer in's result was told back to the hotline that sent it
    # where it stood before closing, so closing knows the outcome
    resolved_as: CloseOutcome | None = None


@dataclass(frozen=True)
class Call:
    call_id: str
    region: str
    offered_at: datetime
    status: CallStatus = CallStatus.OFFERED
    wait_seconds: int | None = None


@dataclass(frozen=True)
class Village:
    village_region: str
    advisor_id: str | None = None
    hours: float = 0.0
    services: int = 0


@dataclass(frozen=True)
class Empty:
    """A stream nobody has written to yet."""


IntakeState = Empty | Request | Call | Village


def initial_state() -> IntakeState:
    return Empty()
