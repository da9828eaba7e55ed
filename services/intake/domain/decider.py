"""The intake decider: `decide(command, state)`, one rule per command looked up by the command's type; with
`evolve` (evolve.py) it makes `decider`."""

from __future__ import annotations

from services.intake.domain.advisors import assign_advisor, log_advisor_service, unassign_advisor
from services.intake.domain.commands import (
    AbandonCall,
    AnswerCall,
    AnswerRequest,
    AssignAdvisor,
    CloseRequest,
    CompleteWorkOrder,
    CountWebReply,
    EscalateRequest,
    EvaluateRequest,
    HandleComplaint,
    InspectWebReply,
    LogAdvisorService,
    NoteReferralRefusal,
    OfferCall,
    OpenWorkOrder,
    PublishWebReply,
    ReceiveRequest,
    ReferRequest,
    ReplyToComplaint,
    UnassignAdvisor,
)
from services.intake.domain.complaints import handle_complaint, reply_to_complaint
from services.intake.domain.evolve import evolve
from services.intake.domain.refusals import not_a_complaint, open_request, refuse, request_of
from services.intake.domain.rules import (
    REMOTE_CHANNELS,
    WORK_ORDER_CHANNELS,
    complaint_reply_due,
    minutes_between,
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
    initial_state,
)
from services.intake.domain.transfers import (
    ReceiveTransfer,
    RecordTransferOutcome,
    RecordTransferTicket,
    TransferRequest,
    close_problem,
    is_same_transfer_in,
    record_outcome,
    record_ticket,
    result_back,
    transfer,
    transfer_work_order,
)
from services.intake.domain.web_qc import count_web_reply, drawn_for_qc, inspect_web_reply
from shared.calendar import on_time
from shared.contracts.common import Department
from shared.contracts.intake import (
    CallAbandoned,
    CallAnswered,
    CallOffered,
    Channel,
    CloseOutcome,
    ReferralRefusalNoted,
    RequestAnswered,
    RequestClosed,
    RequestEscalated,
    RequestEvaluated,
    RequestKind,
    RequestReceived,
    RequestReferred,
    WebReplyPublished,
    WorkOrderCompleted,
    WorkOrderOpened,
)
from shared.decider import Decider, Rules, decide_by_type
from shared.errors import DomainError, InvalidTransition, NotFound, ValidationFailed
from shared.evaluation import check_evaluation
from shared.events import Command, Event


# -- decide: a request ---------------------------------------------------------------------------------------
def _receive(c: ReceiveRequest, state: IntakeState) -> list[Event]:
    if not isinstance(state, Empty):
        if isinstance(state, Request) and is_same_transfer_in(state, c.channel, c.external_reference):
            return []  # the hotline sent the same transfer again
        raise refuse(c, state, "the request already exists")
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
    complaint = c.kind is RequestKind.COMPLAINT
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
            reply_due_at=complaint_reply_due(c.at, c.complaint_reply_days) if complaint else None,
        )
    ]


def _answer(c: AnswerRequest, state: IntakeState) -> list[Event]:
    s = open_request(c, state)
    not_a_complaint(c, s)
    if s.channel is Channel.WEB_12348:
        raise refuse(c, s, "a web question is answered by publishing a reply")
    answered = RequestAnswered(answered_at=c.at, on_the_spot=c.on_the_spot, channel=s.channel, region=s.region,
                               kind=s.kind)
    return [answered, *result_back(s, CloseOutcome.ANSWERED, c.at)]


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
    s = open_request(c, state)
    not_a_complaint(c, s)
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
        ),
        *result_back(s, CloseOutcome.REFERRED, c.at, c.to_department),
    ]


def _note_referral_refusal(c: NoteReferralRefusal, state: IntakeState) -> list[Event]:
    """The request comes back from the department it was referred to, closed or not: it is intake's again."""
    s = request_of(state)
    if s.resolved_as is not CloseOutcome.REFERRED or s.referred_to is not c.refused_by:
        raise refuse(c, s, f"the request is not referred to {c.refused_by.value}")
    return [
        ReferralRefusalNoted(
            refused_by=c.refused_by,
            reason_code=c.reason_code,
            reason=c.reason,
            field=c.field,
            refused_at=c.at,
            refusal_event_id=c.refusal_event_id,
            region=s.region,
        )
    ]


def _escalate(c: EscalateRequest, state: IntakeState) -> list[Event]:
    s = request_of(state)
    if s.status is not Status.RECEIVED:
        raise refuse(c, s)
    if s.channel not in REMOTE_CHANNELS:
        raise refuse(c, s, f"only hotline/web/transfer requests are escalated, not {s.channel.value}")
    problem = region_level_problem(c.to_region, c.to_level)
    if problem:
        raise ValidationFailed(problem, field="to_region")
    return [RequestEscalated(from_channel=s.channel, to_level=c.to_level, to_region=c.to_region, escalated_at=c.at)]


def _open_work_order(c: OpenWorkOrder, state: IntakeState) -> list[Event]:
    s = open_request(c, state)
    if s.channel not in WORK_ORDER_CHANNELS:
        raise refuse(c, s, f"work orders are for hotline and transferred requests, not {s.channel.value}")
    if s.work_order is not None:
        raise DomainError("the request already has a work order", field="work_order")
    due = work_order_due(c.at, c.deadline_hours)
    return [
        WorkOrderOpened(opened_at=c.at, deadline_hours=c.deadline_hours, due_at=due, channel=s.channel, region=s.region)
    ]


def _complete_work_order(c: CompleteWorkOrder, state: IntakeState) -> list[Event]:
    s = request_of(state)
    if s.work_order is None:
        raise refuse(c, s, "the request has no work order")
    if s.work_order.completed_at is not None:
        raise DomainError("the work order is already completed", field="work_order")
    due = s.work_order.due_at
    return [WorkOrderCompleted(completed_at=c.at, due_at=due, on_time=on_time(c.at, due), region=s.region)]


def _publish_web_reply(c: PublishWebReply, state: IntakeState) -> list[Event]:
    s = request_of(state)
    if s.channel is not Channel.WEB_12348:
        raise refuse(c, s, f"replies are published to web questions, not {s.channel.value} requests")
    if s.status is not Status.RECEIVED:
        raise refuse(c, s)
    not_a_complaint(c, s)
    published = WebReplyPublished(
        posted_at=s.received_at, published_at=c.at, minutes=minutes_between(s.received_at, c.at), region=s.region
    )
    return [published, *drawn_for_qc(c, s)]


def _close(c: CloseRequest, state: IntakeState) -> list[Event]:
    s = request_of(state)
    consultation_ends = (Status.ANSWERED, Status.REFERRED, Status.ESCALATED, Status.TRANSFERRED)
    closable = (Status.REPLIED,) if s.is_complaint else consultation_ends
    if s.status not in closable:
        raise refuse(c, s, "a complaint closes once its reply is given" if s.is_complaint else "")
    if s.work_order is not None and s.work_order.completed_at is None:
        raise DomainError("the work order is still open: complete it first", field="work_order")
    waiting = close_problem(s)
    if waiting:
        raise DomainError(waiting, field="transfer")
    outcome = s.resolved_as or CloseOutcome.ESCALATED
    return [
        RequestClosed(
            closed_at=c.at,
            outcome=outcome,
            handling_seconds=seconds_between(s.received_at, c.at),
            channel=s.channel,
            region=s.region,
        ),
        *result_back(s, outcome, c.at),
    ]


def _evaluate(c: EvaluateRequest, state: IntakeState) -> list[Event]:
    s = request_of(state)
    # once per case, even if a refused referral reopened it since; evaluated when closed (again)
    check_evaluation(state=s.status.value, closed=s.status is Status.CLOSED, evaluated=s.satisfaction)
    return [RequestEvaluated(satisfaction=c.satisfaction, evaluated_at=c.at, channel=s.channel, region=s.region)]


# -- decide: a hotline call ----------------------------------------------------------------------------------
def _offer_call(c: OfferCall, state: IntakeState) -> list[Event]:
    if not isinstance(state, Empty):
        raise refuse(c, state, "the call already exists")
    return [CallOffered(call_id=c.call_id, line=c.line, region=c.region, offered_at=c.at)]


def _ringing_call(c: Command, state: IntakeState) -> Call:
    if not isinstance(state, Call):
        raise NotFound("no such call", field="id")
    if state.status is not CallStatus.OFFERED:
        raise refuse(c, state)
    return state


def _answer_call(c: AnswerCall, state: IntakeState) -> list[Event]:
    s = _ringing_call(c, state)
    if c.at < s.offered_at:
        raise ValidationFailed("a call cannot be answered before it was offered", field="answered_at")
    return [CallAnswered(answered_at=c.at, wait_seconds=seconds_between(s.offered_at, c.at), region=s.region)]


def _abandon_call(c: AbandonCall, state: IntakeState) -> list[Event]:
    s = _ringing_call(c, state)
    return [CallAbandoned(abandoned_at=c.at, wait_seconds=seconds_between(s.offered_at, c.at), region=s.region)]


# -- decide: 12345 / 110 linkage (transfers.py) --------------------------------------------------------------
def _receive_transfer(c: ReceiveTransfer, state: IntakeState) -> list[Event]:
    return transfer_work_order(c, _receive(c.request, state))


def _transfer(c: TransferRequest, state: IntakeState) -> list[Event]:
    return transfer(c, open_request(c, state))


def _record_transfer_ticket(c: RecordTransferTicket, state: IntakeState) -> list[Event]:
    return record_ticket(c, request_of(state))


def _record_transfer_outcome(c: RecordTransferOutcome, state: IntakeState) -> list[Event]:
    return record_outcome(c, request_of(state))


_RULES: Rules[IntakeState] = {
    ReceiveRequest: _receive,
    AnswerRequest: _answer,
    ReferRequest: _refer,
    NoteReferralRefusal: _note_referral_refusal,
    EscalateRequest: _escalate,
    OpenWorkOrder: _open_work_order,
    CompleteWorkOrder: _complete_work_order,
    PublishWebReply: _publish_web_reply,
    InspectWebReply: inspect_web_reply,
    CountWebReply: count_web_reply,
    HandleComplaint: handle_complaint,
    ReplyToComplaint: reply_to_complaint,
    CloseRequest: _close,
    EvaluateRequest: _evaluate,
    OfferCall: _offer_call,
    AnswerCall: _answer_call,
    AbandonCall: _abandon_call,
    AssignAdvisor: assign_advisor,
    UnassignAdvisor: unassign_advisor,
    LogAdvisorService: log_advisor_service,
    ReceiveTransfer: _receive_transfer,
    TransferRequest: _transfer,
    RecordTransferTicket: _record_transfer_ticket,
    RecordTransferOutcome: _record_transfer_outcome,
}


def _not_a_rule(command: Command, state: IntakeState) -> InvalidTransition:
    return refuse(command, request_of(state), "not a request command")


decide = decide_by_type(_RULES, _not_a_rule)


decider: Decider[IntakeState] = Decider("intake", initial_state, decide, evolve)
