"""The intake decider: `decide(command, state)`, one rule per command looked up by the command's type; with
`evolve` (evolve.py) it makes `decider`."""

from __future__ import annotations

from services.intake.domain.commands import (
    AbandonCall,
    AnswerCall,
    AnswerRequest,
    AssignAdvisor,
    CloseRequest,
    CompleteWorkOrder,
    EscalateRequest,
    EvaluateRequest,
    LogAdvisorService,
    OfferCall,
    OpenWorkOrder,
    PublishWebReply,
    ReceiveRequest,
    ReferRequest,
    UnassignAdvisor,
)
from services.intake.domain.evolve import evolve
from services.intake.domain.rules import (
    QC_RULE,
    QC_SAMPLE_PERCENT,
    REMOTE_CHANNELS,
    WORK_ORDER_CHANNELS,
    minutes_between,
    qc_bucket,
    region_level_problem,
    seconds_between,
    work_order_due,
)
from services.intake.domain.state import (
    Call,
    CallStatus,
    Empty,
    IntakeState,
    Request,
    Status,
    Village,
    initial_state,
)
from shared.contracts.common import Department
from shared.contracts.intake import (
    AdvisorAssigned,
    AdvisorServiceLogged,
    AdvisorUnassigned,
    CallAbandoned,
    CallAnswered,
    CallOffered,
    Channel,
    CloseOutcome,
    RequestAnswered,
    RequestClosed,
    RequestEscalated,
    RequestEvaluated,
    RequestReceived,
    RequestReferred,
    WebReplyDrawnForQc,
    WebReplyPublished,
    WorkOrderCompleted,
    WorkOrderOpened,
)
from shared.decider import Decider, Rules, decide_by_type
from shared.errors import DomainError, InvalidTransition, NotFound, ValidationFailed
from shared.events import Command, Event

_OPEN_STATES = (Status.RECEIVED, Status.ESCALATED)


# -- decide: refusals ----------------------------------------------------------------------------------------
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


def _request(state: IntakeState) -> Request:
    """The request a command acts on; a command on any other stream kind finds no request."""
    if not isinstance(state, Request):
        raise NotFound("no such request", field="id")
    return state


def _open_request(c: Command, state: IntakeState) -> Request:
    s = _request(state)
    if s.status not in _OPEN_STATES:
        raise _refuse(c, s)
    return s


# -- decide: a request ---------------------------------------------------------------------------------------
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


def _answer(c: AnswerRequest, state: IntakeState) -> list[Event]:
    s = _open_request(c, state)
    if s.channel is Channel.WEB_12348:
        raise _refuse(c, s, "a web question is answered by publishing a reply")
    return [RequestAnswered(answered_at=c.at, on_the_spot=c.on_the_spot, channel=s.channel, region=s.region)]


def _check_referral(c: ReferRequest) -> None:
    """A referral goes to another department and names what that department needs (and nothing it does not)."""
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


def _refer(c: ReferRequest, state: IntakeState) -> list[Event]:
    s = _open_request(c, state)
    _check_referral(c)
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


def _escalate(c: EscalateRequest, state: IntakeState) -> list[Event]:
    s = _request(state)
    if s.status is not Status.RECEIVED:
        raise _refuse(c, s)
    if s.channel not in REMOTE_CHANNELS:
        raise _refuse(c, s, f"only hotline/web/transfer requests are escalated, not {s.channel.value}")
    problem = region_level_problem(c.to_region, c.to_level)
    if problem:
        raise ValidationFailed(problem, field="to_region")
    return [RequestEscalated(from_channel=s.channel, to_level=c.to_level, to_region=c.to_region, escalated_at=c.at)]


def _open_work_order(c: OpenWorkOrder, state: IntakeState) -> list[Event]:
    s = _open_request(c, state)
    if s.channel not in WORK_ORDER_CHANNELS:
        raise _refuse(c, s, f"work orders are for hotline and transferred requests, not {s.channel.value}")
    if s.work_order is not None:
        raise DomainError("the request already has a work order", field="work_order")
    due = work_order_due(c.at, c.deadline_hours)
    return [
        WorkOrderOpened(opened_at=c.at, deadline_hours=c.deadline_hours, due_at=due, channel=s.channel, region=s.region)
    ]


def _complete_work_order(c: CompleteWorkOrder, state: IntakeState) -> list[Event]:
    s = _request(state)
    if s.work_order is None:
        raise _refuse(c, s, "the request has no work order")
    if s.work_order.completed_at is not None:
        raise DomainError("the work order is already completed", field="work_order")
    due = s.work_order.due_at
    return [WorkOrderCompleted(completed_at=c.at, due_at=due, on_time=c.at <= due, region=s.region)]


def _publish_web_reply(c: PublishWebReply, state: IntakeState) -> list[Event]:
    s = _request(state)
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


def _close(c: CloseRequest, state: IntakeState) -> list[Event]:
    s = _request(state)
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


def _evaluate(c: EvaluateRequest, state: IntakeState) -> list[Event]:
    s = _request(state)
    if s.status is Status.EVALUATED:
        raise DomainError(f"the case was already evaluated ({s.satisfaction})", field="satisfaction")
    if s.status is not Status.CLOSED:
        raise _refuse(c, s, "a case is evaluated after it is closed")
    return [RequestEvaluated(satisfaction=c.satisfaction, evaluated_at=c.at, channel=s.channel, region=s.region)]


# -- decide: a hotline call ----------------------------------------------------------------------------------
def _offer_call(c: OfferCall, state: IntakeState) -> list[Event]:
    if not isinstance(state, Empty):
        raise _refuse(c, state, "the call already exists")
    return [CallOffered(call_id=c.call_id, line=Channel.HOTLINE_12348, region=c.region, offered_at=c.at)]


def _ringing_call(c: Command, state: IntakeState) -> Call:
    if not isinstance(state, Call):
        raise NotFound("no such call", field="id")
    if state.status is not CallStatus.OFFERED:
        raise _refuse(c, state)
    return state


def _answer_call(c: AnswerCall, state: IntakeState) -> list[Event]:
    s = _ringing_call(c, state)
    if c.at < s.offered_at:
        raise ValidationFailed("a call cannot be answered before it was offered", field="answered_at")
    return [CallAnswered(answered_at=c.at, wait_seconds=seconds_between(s.offered_at, c.at), region=s.region)]


def _abandon_call(c: AbandonCall, state: IntakeState) -> list[Event]:
    s = _ringing_call(c, state)
    return [CallAbandoned(abandoned_at=c.at, wait_seconds=seconds_between(s.offered_at, c.at), region=s.region)]


# -- decide: a village's legal advisor -----------------------------------------------------------------------
def _current_advisor(c: Command, state: IntakeState) -> str | None:
    if not isinstance(state, Empty | Village):
        raise _refuse(c, state, "not a village registry entry")
    return state.advisor_id if isinstance(state, Village) else None


def _assign_advisor(c: AssignAdvisor, state: IntakeState) -> list[Event]:
    current = _current_advisor(c, state)
    if current == c.advisor_id:
        return []  # already the advisor: nothing happened
    return [
        AdvisorAssigned(
            village_region=c.village_region, advisor_id=c.advisor_id, previous_advisor_id=current, assigned_at=c.at
        )
    ]


def _unassign_advisor(c: UnassignAdvisor, state: IntakeState) -> list[Event]:
    current = _current_advisor(c, state)
    if current is None:
        raise DomainError("the village has no advisor", field="advisor_id")
    return [AdvisorUnassigned(village_region=c.village_region, advisor_id=current, unassigned_at=c.at)]


def _log_advisor_service(c: LogAdvisorService, state: IntakeState) -> list[Event]:
    current = _current_advisor(c, state)
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


_RULES: Rules[IntakeState] = {
    ReceiveRequest: _receive,
    AnswerRequest: _answer,
    ReferRequest: _refer,
    EscalateRequest: _escalate,
    OpenWorkOrder: _open_work_order,
    CompleteWorkOrder: _complete_work_order,
    PublishWebReply: _publish_web_reply,
    CloseRequest: _close,
    EvaluateRequest: _evaluate,
    OfferCall: _offer_call,
    AnswerCall: _answer_call,
    AbandonCall: _abandon_call,
    AssignAdvisor: _assign_advisor,
    UnassignAdvisor: _unassign_advisor,
    LogAdvisorService: _log_advisor_service,
}


def _not_a_rule(command: Command, state: IntakeState) -> InvalidTransition:
    return _refuse(command, _request(state), "not a request command")


decide = decide_by_type(_RULES, _not_a_rule)


decider: Decider[IntakeState] = Decider("intake", initial_state, decide, evolve)
