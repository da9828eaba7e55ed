"""The three kinds of intake stream and their state: a request (`rq-…`), a hotline call (`call-…`) and a village's
legal advisor entry (`adv-<village>`), plus the empty stream nobody has written to yet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.contracts.common import Department
from shared.contracts.intake import AdvisorKind, Channel, CloseOutcome, Level, RequestKind


class Status(StrEnum):
    NEW = "new"
    RECEIVED = "received"
    ANSWERED = "answered"
    REFERRED = "referred"
    ESCALATED = "escalated"
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
    # where it stood before closing, so closing knows the outcome
    resolved_as: CloseOutcome | None = None


@dataclass(frozen=True)
class Call:
    call_id: str
    region: str
    offered_at: datetime
    status: CallStatus = CallStatus.OFFERED
    line: Channel = Channel.HOTLINE_12348
    wait_seconds: int | None = None


@dataclass(frozen=True)
class Village:
    village_region: str
    advisor_id: str | None = None
    hours: float = 0.0
    advisor_kind: AdvisorKind | None = None
    services: int = 0


@dataclass(frozen=True)
class Empty:
    """A stream nobody has written to yet."""


IntakeState = Empty | Request | Call | Village


def initial_state() -> IntakeState:
    return Empty()
