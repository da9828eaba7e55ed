"""How intake's events change a stream: `evolve(state, event)`, one fold per stream kind."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from services.intake.domain.rules import DEFAULT_COMPLAINT_REPLY_DAYS, complaint_reply_due
from services.intake.domain.state import (
    Call,
    CallStatus,
    IntakeState,
    QcDraw,
    QcMonth,
    Refusal,
    Request,
    Status,
    Village,
    WorkOrder,
)
from services.intake.domain.transfers import evolve_transfer
from shared.contracts.intake import (
    AdvisorAssigned,
    AdvisorServiceLogged,
    AdvisorUnassigned,
    CallAbandoned,
    CallAnswered,
    CallOffered,
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
from shared.contracts.intake_review import (
    ComplaintHandled,
    ComplaintReplied,
    WebReplyCounted,
    WebReplyDrawnForQc,
    WebReplyInspected,
)
from shared.events import Event


def evolve(state: IntakeState, event: Event) -> IntakeState:
    match event:
        case RequestReceived():
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
                reply_due_at=_reply_due(event),
            )
        case WebReplyCounted():
            month = state if isinstance(state, QcMonth) else QcMonth(region=event.region, month=event.month)
            return _evolve_qc_month(month, event)
        case CallOffered():
            return Call(call_id=event.call_id, region=event.region, offered_at=event.offered_at, line=event.line)
        case AdvisorAssigned() | AdvisorUnassigned() | AdvisorServiceLogged():
            village = state if isinstance(state, Village) else Village(village_region=event.village_region)
            return _evolve_village(village, event)
    if isinstance(state, Call):
        return _evolve_call(state, event)
    if isinstance(state, Request):
        return _evolve_request(state, event)
    return state


def _evolve_village(village: Village, event: AdvisorAssigned | AdvisorUnassigned | AdvisorServiceLogged) -> Village:
    match event:
        case AdvisorAssigned():
            return replace(village, advisor_id=event.advisor_id, advisor_kind=event.advisor_kind)
        case AdvisorUnassigned():
            return replace(village, advisor_id=None, advisor_kind=None)
    return replace(village, hours=round(village.hours + event.hours, 2), services=village.services + 1)


def _reply_due(event: RequestReceived) -> datetime | None:
    """A complaint's reply deadline; one received before deadlines were recorded gets the default period."""
    if event.kind is not RequestKind.COMPLAINT:
        return None
    return event.reply_due_at or complaint_reply_due(event.received_at, DEFAULT_COMPLAINT_REPLY_DAYS)


def _evolve_qc_month(month: QcMonth, event: WebReplyCounted) -> QcMonth:
    published = max(month.published, event.ordinal)
    if not event.drawn:
        return replace(month, published=published)
    draw = QcDraw(request_id=event.request_id, ordinal=event.ordinal, drawn=len(month.draws) + 1)
    return replace(month, published=published, draws=(*month.draws, draw))


def _evolve_call(state: Call, event: Event) -> Call:
    match event:
        case CallAnswered():
            return replace(state, status=CallStatus.ANSWERED, wait_seconds=event.wait_seconds)
        case CallAbandoned():
            return replace(state, status=CallStatus.ABANDONED, wait_seconds=event.wait_seconds)
    return state


def _evolve_request(state: Request, event: Event) -> Request:
    match event:
        case RequestAnswered():
            return replace(state, status=Status.ANSWERED, resolved_as=CloseOutcome.ANSWERED)
        case RequestReferred():
            return replace(
                state, status=Status.REFERRED, referred_to=event.to_department, resolved_as=CloseOutcome.REFERRED
            )
        case ReferralRefusalNoted():
            refusal = Refusal(event.refused_by, event.reason_code, event.reason, event.refused_at)
            return replace(state, status=Status.REFERRAL_REFUSED, refusal=refusal, resolved_as=None)
        case RequestEscalated():
            return replace(state, status=Status.ESCALATED, escalated_to=(event.to_level, event.to_region))
        case WorkOrderOpened():
            return replace(state, work_order=WorkOrder(opened_at=event.opened_at, due_at=event.due_at))
        case WorkOrderCompleted() if state.work_order is not None:
            wo = replace(state.work_order, completed_at=event.completed_at, on_time=event.on_time)
            return replace(state, work_order=wo)
        case WebReplyPublished():
            return replace(
                state, status=Status.ANSWERED, reply_minutes=event.minutes, resolved_as=CloseOutcome.ANSWERED
            )
        case WebReplyDrawnForQc():
            return replace(state, qc_drawn=True)
        case WebReplyInspected():
            return replace(state, qc_result=event.result)
        case ComplaintHandled():
            return replace(state, status=Status.HANDLED, finding=event.finding, complaint_about=event.about)
        case ComplaintReplied():
            return replace(
                state,
                status=Status.REPLIED,
                replied_at=event.replied_at,
                reply_on_time=event.on_time,
                resolved_as=CloseOutcome.REPLIED,
            )
        case RequestClosed():
            return replace(state, status=Status.CLOSED, closed_at=event.closed_at, outcome=event.outcome)
        case RequestEvaluated():
            return replace(state, status=Status.EVALUATED, satisfaction=event.satisfaction)
    return evolve_transfer(state, event)
