"""How intake's events change a stream: `evolve(state, event)`, one fold per stream kind."""

from __future__ import annotations

from dataclasses import replace

from services.intake.domain.state import Call, CallStatus, IntakeState, Request, Status, Village, WorkOrder
from shared.contracts.intake import (
    AdvisorAssigned,
    AdvisorServiceLogged,
    AdvisorUnassigned,
    CallAbandoned,
    CallAnswered,
    CallOffered,
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
            )
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
        case RequestClosed():
            return replace(state, status=Status.CLOSED, closed_at=event.closed_at, outcome=event.outcome)
        case RequestEvaluated():
            return replace(state, status=Status.EVALUATED, satisfaction=event.satisfaction)
    return state
