"""How a dispute's events change its state: `evolve(state, event)`."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from services.mediation.domain.state import Dispute, Status
from shared.contracts.mediation import (
    AckDecision,
    AgreementSigned,
    ConfirmationDecided,
    ConfirmationRequested,
    ConfirmationWindowLapsed,
    DisputeArchived,
    DisputeEvaluated,
    DisputeRegistered,
    DisputeWithdrawn,
    FollowUpVisited,
    IntakeReferralDeclined,
    MediationFailed,
    MediatorAssigned,
    Outcome,
    ReferralAcknowledged,
    Referrer,
    SessionHeld,
    Source,
    TimeLimitExtended,
)
from shared.events import Event

_ENDINGS: dict[type[Event], tuple[Status, Outcome]] = {
    MediationFailed: (Status.FAILED, Outcome.FAILED),
    DisputeWithdrawn: (Status.WITHDRAWN, Outcome.WITHDRAWN),
}


def evolve(s: Dispute, e: Event) -> Dispute:
    s = replace(s, history=(*s.history, e.event_type))
    match e:
        case DisputeRegistered():
            return replace(
                s,
                status=Status.REGISTERED,
                dispute_id=e.dispute_id,
                source=e.source,
                region=e.region,
                dispute_type=e.dispute_type,
                complex=e.complex,
                parties=tuple(e.parties),
                claim=e.claim,
                referrer=e.referrer,
                partner_reference=e.partner_reference,
                intake_case_id=e.intake_case_id,
                registered_at=e.registered_at,
                last_act_at=e.registered_at,
                time_limit_days=e.time_limit_days,
                due_by=e.due_by,
            )
        case ReferralAcknowledged(decision=AckDecision.DECLINED):
            return replace(
                s,
                status=Status.DECLINED,
                dispute_id=e.dispute_id,
                source=e.source,
                region=e.region,
                dispute_type=e.dispute_type,
                referrer=Referrer(e.recipient.value),
                partner_reference=e.partner_reference,
                decline_reason=e.reason,
                last_act_at=e.acknowledged_at,
            )
        case IntakeReferralDeclined():
            return replace(
                s,
                status=Status.DECLINED,
                dispute_id=e.dispute_id,
                source=Source.INTAKE,
                region=e.region,
                dispute_type=e.dispute_type,
                referrer=Referrer.INTAKE,
                intake_case_id=e.intake_case_id,
                decline_reason=e.reason,
                last_act_at=e.declined_at,
            )
        case MediatorAssigned():
            return replace(
                s,
                status=s.status if s.status is Status.IN_MEDIATION else Status.ASSIGNED,
                committee_id=e.committee_id,
                committee_kind=e.committee_kind,
                mediator_id=e.mediator_id,
                last_act_at=e.assigned_at,
            )
        case SessionHeld():
            return replace(
                s,
                status=Status.IN_MEDIATION,
                sessions=e.session_no,
                last_session_at=e.held_at,
                next_session_on=e.next_session_on,
                last_act_at=e.held_at,
            )
        case TimeLimitExtended():
            return replace(s, due_by=e.due_by, last_act_at=e.extended_at)
        case AgreementSigned():
            return replace(
                s,
                status=Status.AGREEMENT,
                outcome=Outcome.AGREEMENT,
                ended_at=e.ended_at,
                terms=e.terms,
                confirmation_deadline=e.confirmation_deadline,
                follow_up_due_by=e.follow_up_due_by,
                next_session_on=None,
                last_act_at=e.ended_at,
            )
        case MediationFailed() | DisputeWithdrawn():
            status, outcome = _ENDINGS[type(e)]
            return _ended(s, status, outcome, e.ended_at, e.reason)
        case ConfirmationRequested():
            return replace(
                s,
                status=Status.CONFIRMATION_REQUESTED,
                confirmation_requested_at=e.requested_at,
                last_act_at=e.requested_at,
            )
        case ConfirmationDecided():
            # the court's ruling time is its own; it does not move the dispute's act clock
            return replace(
                s,
                status=Status.CONFIRMED if e.outcome is Outcome.CONFIRMED else Status.REJECTED,
                confirmation_outcome=e.outcome,
                confirmation_decided_at=e.decided_at,
            )
        case ConfirmationWindowLapsed():
            return replace(s, window_lapsed=True)
        case FollowUpVisited():
            return replace(s, fulfilment=e.fulfilment, followed_up_at=e.visited_at, last_act_at=e.visited_at)
        case DisputeArchived():
            return replace(s, status=Status.ARCHIVED, archived_at=e.archived_at, last_act_at=e.archived_at)
        case DisputeEvaluated():
            return replace(s, satisfaction=e.satisfaction)
        case _:
            return s  # acknowledgements and notices to partners do not change the dispute


def _ended(s: Dispute, status: Status, outcome: Outcome, at: datetime, reason: str) -> Dispute:
    return replace(
        s, status=status, outcome=outcome, ended_at=at, end_reason=reason, next_session_on=None, last_act_at=at
    )
