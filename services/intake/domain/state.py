"""The four kinds of intake stream and their state: a request (`rq-…`), a hotline call (`call-…`), a village's
legal advisor entry (`adv-<village>`) and a region's monthly web-reply QC counter (`qc-<region>-<YYYY-MM>`), plus
the empty stream nobody has written to yet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.contracts.common import Department, Partner
from shared.contracts.intake import AdvisorKind, Channel, CloseOutcome, Level, RequestKind
from shared.contracts.intake_review import ComplaintFinding, QcResult


class Status(StrEnum):
    NEW = "new"
    RECEIVED = "received"
    ANSWERED = "answered"
    REFERRED = "referred"
    REFERRAL_REFUSED = "referral_refused"  # back with intake: the department referred to refused it
    ESCALATED = "escalated"
    HANDLED = "handled"  # a complaint, looked into
    REPLIED = "replied"  # a complaint, its reply given
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
class Refusal:
    """Why the department a request was referred to refused it."""

    refused_by: Department
    reason_code: str
    reason: str
    refused_at: datetime


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
    refusal: Refusal | None = None  # the last refused referral, kept when the request is referred elsewhere
    escalated_to: tuple[Level, str] | None = None
    work_order: WorkOrder | None = None
    reply_minutes: int | None = None
    qc_drawn: bool = False
    qc_result: QcResult | None = None
    reply_due_at: datetime | None = None  # complaints: when the reply is due
    finding: ComplaintFinding | None = None
    complaint_about: Department | None = None
    replied_at: datetime | None = None
    reply_on_time: bool | None = None
    closed_at: datetime | None = None
    outcome: CloseOutcome | None = None
    satisfaction: int | None = None
    transfer: Transfer | None = None  # transferred out to 12345 / 110
    result_reported: bool = False  # a transfer in's result was told back to the hotline that sent it
    # where it stood before closing, so closing knows the outcome
    resolved_as: CloseOutcome | None = None

    @property
    def is_complaint(self) -> bool:
        return self.kind is RequestKind.COMPLAINT


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
class QcDraw:
    """One reply the quota drew: which, its ordinal in the month, and how many were drawn including it."""

    request_id: str
    ordinal: int
    drawn: int


@dataclass(frozen=True)
class QcMonth:
    """A region's web replies published in one China month, and those drawn for inspection."""

    region: str
    month: str
    published: int = 0
    draws: tuple[QcDraw, ...] = ()

    def draw_of(self, request_id: str) -> QcDraw | None:
        return next((d for d in self.draws if d.request_id == request_id), None)


@dataclass(frozen=True)
class Empty:
    """A stream nobody has written to yet."""


IntakeState = Empty | Request | Call | Village | QcMonth


def initial_state() -> IntakeState:
    return Empty()
