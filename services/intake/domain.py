"""Intake domain: a citizen's request (咨询/求助/投诉), a hotline call and a village's legal advisor (村居法律顾问).

One decider covers the three stream kinds (`rq-…`, `call-…`, `adv-<village>`) so that the single event store and
its read model rebuild fold every stream with the same functions; each command only applies to its own kind.
Pure: time comes in on the commands (`at`), nothing here reads a clock or does I/O.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import Field

from shared.contracts.common import CaseId, Department, LongText, PersonRef, RegionCode
from shared.contracts.intake import (
    AdvisorAssigned,
    AdvisorServiceKind,
    AdvisorServiceLogged,
    AdvisorUnassigned,
    CallAbandoned,
    CallAnswered,
    CallOffered,
    Channel,
    CloseOutcome,
    ExternalRef,
    Level,
    RequestAnswered,
    RequestClosed,
    RequestEscalated,
    RequestEvaluated,
    RequestKind,
    RequestReceived,
    RequestReferred,
    TopicCode,
    WebReplyDrawnForQc,
    WebReplyPublished,
    WorkOrderCompleted,
    WorkOrderOpened,
)
from shared.decider import Decider
from shared.errors import DomainError, InvalidTransition, NotFound, ValidationFailed
from shared.events import Command, Event

#: Seed 000: 3% of answered web questions are inspected. The draw is a pure function of the case id.
QC_SAMPLE_PERCENT = 3
QC_RULE = "sha256(request_id) mod 100 < 3"
DEFAULT_WORK_ORDER_HOURS = 72
#: Channels whose work can be escalated to a walk-in centre or followed up by a work order.
REMOTE_CHANNELS = frozenset({Channel.HOTLINE_12348, Channel.WEB_12348, Channel.TRANSFER_12345, Channel.TRANSFER_110})
WORK_ORDER_CHANNELS = frozenset({Channel.HOTLINE_12348, Channel.TRANSFER_12345, Channel.TRANSFER_110})


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


# -- state ---------------------------------------------------------------------------------------------------
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


# -- commands ------------------------------------------------------------------------------------------------
class ReceiveRequest(Command):
    request_id: CaseId
    channel: Channel
    level: Level | None = None
    region: RegionCode
    kind: RequestKind
    topic: TopicCode
    person_ref: PersonRef | None = None
    call_id: CaseId | None = None
    external_reference: ExternalRef | None = None
    at: datetime


class AnswerRequest(Command):
    on_the_spot: bool = True
    at: datetime


class ReferRequest(Command):
    to_department: Department
    matter: LongText
    dispute_type: str | None = Field(default=None, min_length=1, max_length=64)
    notary_matter: str | None = Field(default=None, min_length=1, max_length=64)
    at: datetime


class EscalateRequest(Command):
    to_level: Level
    to_region: RegionCode
    at: datetime


class OpenWorkOrder(Command):
    deadline_hours: int = Field(default=DEFAULT_WORK_ORDER_HOURS, ge=1, le=24 * 30)
    at: datetime


class CompleteWorkOrder(Command):
    at: datetime


class PublishWebReply(Command):
    at: datetime


class CloseRequest(Command):
    at: datetime


class EvaluateRequest(Command):
    satisfaction: int = Field(ge=1, le=5)
    at: datetime


class OfferCall(Command):
    call_id: CaseId
    region: RegionCode
    at: datetime


class AnswerCall(Command):
    at: datetime


class AbandonCall(Command):
    at: datetime


class AssignAdvisor(Command):
    village_region: RegionCode
    advisor_id: ExternalRef
    at: datetime


class UnassignAdvisor(Command):
    village_region: RegionCode
    at: datetime


class LogAdvisorService(Command):
    village_region: RegionCode
    advisor_id: ExternalRef
    hours: float = Field(gt=0, le=24)
    kind: AdvisorServiceKind
    served_on: date
    at: datetime


# -- pure rules ----------------------------------------------------------------------------------------------
def region_level_problem(region: str, level: Level) -> str | None:
    """Why a region code does not name a division of `level` (city/county/town/village digits), or None."""
    county, town, village = region[4:6], region[6:9], region[9:12]
    if level is Level.CITY and region[4:] != "00000000":
        return "a city-level centre's region code ends in 8 zeros"
    if level is Level.COUNTY and not (county != "00" and town == "000" and village == "000"):
        return "a county-level centre's region code has digits 5-6 non-zero and ends in 6 zeros"
    if level is Level.TOWN and not (town != "000" and village == "000"):
        return "a town workstation's region code has digits 7-9 non-zero and ends in 3 zeros"
    if level is Level.VILLAGE and village == "000":
        return "a village room's region code has non-zero digits 10-12"
    return None


def qc_bucket(request_id: str) -> int:
    """The reproducible 0–99 bucket of a case: anyone can recompute who was drawn for inspection."""
    return int(hashlib.sha256(request_id.encode()).hexdigest()[:8], 16) % 100


def minutes_between(start: datetime, end: datetime) -> int:
    return max(0, math.ceil((end - start).total_seconds() / 60))


def seconds_between(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds()))


def work_order_due(opened_at: datetime, deadline_hours: int) -> datetime:
    return opened_at + timedelta(hours=deadline_hours)


def is_overdue(state: Request, now: datetime) -> bool:
    wo = state.work_order
    return wo is not None and wo.completed_at is None and now > wo.due_at


# -- decide --------------------------------------------------------------------------------------------------
def _verb(command: Command) -> str:
    """`EvaluateRequest` → "evaluate", `OpenWorkOrder` → "open_work_order": the 409 names the command."""
    name = type(command).__name__
    snake = "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
    return snake.removesuffix("_request")


def _state_name(state: IntakeState) -> str:
    if isinstance(state, Request):
        return state.status.value
    if isinstance(state, Call):
        return f"call {state.status.value}"
    if isinstance(state, Village):
        return "village"
    return "new"


def _refuse(command: Command, state: IntakeState, detail: str = "") -> InvalidTransition:
    return InvalidTransition(_verb(command), _state_name(state), detail)


def decide(command: Command, state: IntakeState) -> list[Event]:
    if isinstance(command, ReceiveRequest):
        return _receive(command, state)
    if isinstance(command, OfferCall | AnswerCall | AbandonCall):
        return _decide_call(command, state)
    if isinstance(command, AssignAdvisor | UnassignAdvisor | LogAdvisorService):
        return _decide_village(command, state)
    if not isinstance(state, Request):
        raise NotFound("no such request", field="id")
    return _decide_request(command, state)


def _receive(c: ReceiveRequest, state: IntakeState) -> list[Event]:
    if not isinstance(state, Empty):
        raise _refuse(c, state, "the request already exists")
    if c.channel is Channel.WALK_IN:
        if c.level is None:
            raise ValidationFailed("a walk-in request names the level of its window", field="level")
        problem = region_level_problem(c.region, c.level)
        if problem:
            raise ValidationFailed(problem, field="region")
    elif c.level is not None:
        raise ValidationFailed(f"level applies to walk_in only, not {c.channel.value}", field="level")
    if c.external_reference is not None and c.channel not in (Channel.TRANSFER_12345, Channel.TRANSFER_110):
        raise ValidationFailed("external_reference is the 12345/110 ticket of a transfer", field="external_reference")
    if c.call_id is not None and c.channel is not Channel.HOTLINE_12348:
        raise ValidationFailed("call_id links a hotline request to its call", field="call_id")
    return [
        RequestReceived(
            request_id=c.request_id,
            channel=c.channel,
            level=c.level,
            region=c.region,
            kind=c.kind,
            topic=c.topic,
            received_at=c.at,
            person_ref=c.person_ref,
            call_id=c.call_id,
            external_reference=c.external_reference,
        )
    ]


def _decide_request(c: Command, s: Request) -> list[Event]:
    open_states = (Status.RECEIVED, Status.ESCALATED)
    if isinstance(c, AnswerRequest):
        if s.status not in open_states:
            raise _refuse(c, s)
        if s.channel is Channel.WEB_12348:
            raise _refuse(c, s, "a web question is answered by publishing a reply")
        return [RequestAnswered(answered_at=c.at, on_the_spot=c.on_the_spot, channel=s.channel, region=s.region)]
    if isinstance(c, ReferRequest):
        if s.status not in open_states:
            raise _refuse(c, s)
        if c.to_department is Department.INTAKE:
            raise ValidationFailed("a referral goes to legal_aid, mediation or notary", field="to_department")
        if c.to_department is Department.MEDIATION and c.dispute_type is None:
            raise ValidationFailed("a mediation referral names the dispute type", field="dispute_type")
        if c.to_department is Department.NOTARY and c.notary_matter is None:
            raise ValidationFailed("a notary referral names the notary matter", field="notary_matter")
        if c.dispute_type is not None and c.to_department is not Department.MEDIATION:
            raise ValidationFailed("dispute_type applies to mediation referrals only", field="dispute_type")
        if c.notary_matter is not None and c.to_department is not Department.NOTARY:
            raise ValidationFailed("notary_matter applies to notary referrals only", field="notary_matter")
        region = s.escalated_to[1] if s.escalated_to else s.region
        return [
            RequestReferred(
                to_department=c.to_department,
                matter=c.matter,
                person_ref=s.person_ref,
                region=region,
                dispute_type=c.dispute_type,
                notary_matter=c.notary_matter,
            )
        ]
    if isinstance(c, EscalateRequest):
        if s.status is not Status.RECEIVED:
            raise _refuse(c, s)
        if s.channel not in REMOTE_CHANNELS:
            raise _refuse(c, s, f"only hotline/web/transfer requests are escalated, not {s.channel.value}")
        problem = region_level_problem(c.to_region, c.to_level)
        if problem:
            raise ValidationFailed(problem, field="to_region")
        return [RequestEscalated(from_channel=s.channel, to_level=c.to_level, to_region=c.to_region, escalated_at=c.at)]
    if isinstance(c, OpenWorkOrder):
        if s.status not in open_states:
            raise _refuse(c, s)
        if s.channel not in WORK_ORDER_CHANNELS:
            raise _refuse(c, s, f"work orders are for hotline and transferred requests, not {s.channel.value}")
        if s.work_order is not None:
            raise DomainError("the request already has a work order", field="work_order")
        due = work_order_due(c.at, c.deadline_hours)
        return [
            WorkOrderOpened(
                opened_at=c.at, deadline_hours=c.deadline_hours, due_at=due, channel=s.channel, region=s.region
            )
        ]
    if isinstance(c, CompleteWorkOrder):
        if s.work_order is None:
            raise _refuse(c, s, "the request has no work order")
        if s.work_order.completed_at is not None:
            raise DomainError("the work order is already completed", field="work_order")
        due = s.work_order.due_at
        return [WorkOrderCompleted(completed_at=c.at, due_at=due, on_time=c.at <= due, region=s.region)]
    if isinstance(c, PublishWebReply):
        if s.channel is not Channel.WEB_12348:
            raise _refuse(c, s, f"replies are published to web questions, not {s.channel.value} requests")
        if s.status is not Status.RECEIVED:
            raise _refuse(c, s)
        events: list[Event] = [
            WebReplyPublished(
                posted_at=s.received_at,
                published_at=c.at,
                minutes=minutes_between(s.received_at, c.at),
                region=s.region,
            )
        ]
        bucket = qc_bucket(s.request_id)
        if bucket < QC_SAMPLE_PERCENT:
            events.append(WebReplyDrawnForQc(rule=QC_RULE, bucket=bucket, drawn_at=c.at, region=s.region))
        return events
    if isinstance(c, CloseRequest):
        if s.status not in (Status.ANSWERED, Status.REFERRED, Status.ESCALATED):
            raise _refuse(c, s)
        if s.work_order is not None and s.work_order.completed_at is None:
            raise DomainError("the work order is still open: complete it first", field="work_order")
        return [
            RequestClosed(
                closed_at=c.at,
                outcome=s.resolved_as or CloseOutcome.ESCALATED,
                handling_seconds=seconds_between(s.received_at, c.at),
                channel=s.channel,
                region=s.region,
            )
        ]
    if isinstance(c, EvaluateRequest):
        if s.status is Status.EVALUATED:
            raise DomainError(f"the case was already evaluated ({s.satisfaction})", field="satisfaction")
        if s.status is not Status.CLOSED:
            raise _refuse(c, s, "a case is evaluated after it is closed")
        return [RequestEvaluated(satisfaction=c.satisfaction, evaluated_at=c.at, channel=s.channel, region=s.region)]
    raise _refuse(c, s, "not a request command")


def _decide_call(c: Command, s: IntakeState) -> list[Event]:
    if isinstance(c, OfferCall):
        if not isinstance(s, Empty):
            raise _refuse(c, s, "the call already exists")
        return [CallOffered(call_id=c.call_id, line=Channel.HOTLINE_12348, region=c.region, offered_at=c.at)]
    if not isinstance(s, Call):
        raise NotFound("no such call", field="id")
    if s.status is not CallStatus.OFFERED:
        raise _refuse(c, s)
    assert isinstance(c, AnswerCall | AbandonCall)
    wait = seconds_between(s.offered_at, c.at)
    if isinstance(c, AnswerCall):
        return [CallAnswered(answered_at=c.at, wait_seconds=wait, region=s.region)]
    return [CallAbandoned(abandoned_at=c.at, wait_seconds=wait, region=s.region)]


def _decide_village(c: Command, s: IntakeState) -> list[Event]:
    if not isinstance(s, Empty | Village):
        raise _refuse(c, s, "not a village registry entry")
    current = s.advisor_id if isinstance(s, Village) else None
    if isinstance(c, AssignAdvisor):
        if current == c.advisor_id:
            return []  # already the advisor: nothing happened
        return [
            AdvisorAssigned(
                village_region=c.village_region, advisor_id=c.advisor_id, previous_advisor_id=current, assigned_at=c.at
            )
        ]
    if isinstance(c, UnassignAdvisor):
        if current is None:
            raise DomainError("the village has no advisor", field="advisor_id")
        return [AdvisorUnassigned(village_region=c.village_region, advisor_id=current, unassigned_at=c.at)]
    assert isinstance(c, LogAdvisorService)
    if current is None:
        raise DomainError("the village has no advisor to log service for", field="advisor_id")
    if current != c.advisor_id:
        raise DomainError(f"advisor {c.advisor_id} is not this village's advisor", field="advisor_id")
    if c.served_on > c.at.date():
        raise ValidationFailed("service cannot be logged ahead of the day it is given", field="served_on")
    return [
        AdvisorServiceLogged(
            village_region=c.village_region,
            advisor_id=c.advisor_id,
            hours=c.hours,
            kind=c.kind,
            served_on=c.served_on,
            logged_at=c.at,
        )
    ]


# -- evolve --------------------------------------------------------------------------------------------------
def evolve(state: IntakeState, event: Event) -> IntakeState:
    if isinstance(event, RequestReceived):
        return Request(
            request_id=event.request_id,
            channel=event.channel,
            level=event.level,
            region=event.region,
            kind=event.kind,
            topic=event.topic,
            received_at=event.received_at,
            person_ref=event.person_ref,
            call_id=event.call_id,
            external_reference=event.external_reference,
        )
    if isinstance(event, CallOffered):
        return Call(call_id=event.call_id, region=event.region, offered_at=event.offered_at)
    if isinstance(event, AdvisorAssigned | AdvisorUnassigned | AdvisorServiceLogged):
        village = state if isinstance(state, Village) else Village(village_region=event.village_region)
        if isinstance(event, AdvisorAssigned):
            return replace(village, advisor_id=event.advisor_id)
        if isinstance(event, AdvisorUnassigned):
            return replace(village, advisor_id=None)
        return replace(village, hours=round(village.hours + event.hours, 2), services=village.services + 1)
    if isinstance(state, Call):
        if isinstance(event, CallAnswered):
            return replace(state, status=CallStatus.ANSWERED, wait_seconds=event.wait_seconds)
        if isinstance(event, CallAbandoned):
            return replace(state, status=CallStatus.ABANDONED, wait_seconds=event.wait_seconds)
        return state
    if not isinstance(state, Request):
        return state
    if isinstance(event, RequestAnswered):
        return replace(state, status=Status.ANSWERED, resolved_as=CloseOutcome.ANSWERED)
    if isinstance(event, RequestReferred):
        return replace(
            state, status=Status.REFERRED, referred_to=event.to_department, resolved_as=CloseOutcome.REFERRED
        )
    if isinstance(event, RequestEscalated):
        return replace(state, status=Status.ESCALATED, escalated_to=(event.to_level, event.to_region))
    if isinstance(event, WorkOrderOpened):
        return replace(state, work_order=WorkOrder(opened_at=event.opened_at, due_at=event.due_at))
    if isinstance(event, WorkOrderCompleted) and state.work_order is not None:
        wo = replace(state.work_order, completed_at=event.completed_at, on_time=event.on_time)
        return replace(state, work_order=wo)
    if isinstance(event, WebReplyPublished):
        return replace(state, status=Status.ANSWERED, reply_minutes=event.minutes, resolved_as=CloseOutcome.ANSWERED)
    if isinstance(event, WebReplyDrawnForQc):
        return replace(state, qc_drawn=True)
    if isinstance(event, RequestClosed):
        return replace(state, status=Status.CLOSED, closed_at=event.closed_at, outcome=event.outcome)
    if isinstance(event, RequestEvaluated):
        return replace(state, status=Status.EVALUATED, satisfaction=event.satisfaction)
    return state


decider: Decider[IntakeState] = Decider("intake", initial_state, decide, evolve)
