"""The dispute decider: `decide(command, state)`, one rule per command looked up by the command's type; with
`evolve` (evolve.py) it makes `decider`."""

from __future__ import annotations

from datetime import datetime

from services.mediation.domain.commands import (
    Archive,
    AssignMediator,
    ExtendTimeLimit,
    FailMediation,
    HoldSession,
    RecordConfirmation,
    RecordFollowUp,
    RecordWindowLapse,
    RegisterDispute,
    RequestConfirmation,
    SignAgreement,
    Withdraw,
)
from services.mediation.domain.deadlines import (
    confirmation_deadline,
    follow_up_due,
    time_limit_due,
    time_limit_extended,
)
from services.mediation.domain.evolve import evolve
from services.mediation.domain.rules import PARTNER_REFERRERS, PARTNER_SOURCES, covers, is_complex
from services.mediation.domain.state import ACTIVE, AGREED, ARCHIVABLE, WITH_MEDIATOR, Dispute, Status, initial_state
from shared.calendar import china_date, on_time
from shared.contracts.common import Partner
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
    OutcomeNotified,
    ReferralAcknowledged,
    Referrer,
    SessionHeld,
    Source,
    TimeLimitExtended,
)
from shared.decider import Decider, Rules, decide_by_type
from shared.errors import DomainError, InvalidTransition, NotFound, ValidationFailed
from shared.evaluation import EvaluateCase, evaluation_rule
from shared.events import Command, Event


def _name(command: Command) -> str:
    return type(command).__name__


def _require(state: Dispute, command: Command, allowed: frozenset[Status], detail: str = "") -> None:
    if state.status is Status.NEW:
        raise NotFound("no such dispute", field="dispute_id")
    if state.status not in allowed:
        raise InvalidTransition(_name(command), state.status.value, detail)


def _not_before(state: Dispute, at: datetime) -> None:
    if at.tzinfo is None:
        raise ValidationFailed("time must carry a timezone", field="at")
    if state.last_act_at is not None and at < state.last_act_at:
        raise ValidationFailed(
            f"{at.isoformat()} is before the dispute's last recorded act ({state.last_act_at.isoformat()})", field="at"
        )


def _notice(state: Dispute, outcome: Outcome, at: datetime, **kw: str | None) -> list[Event]:
    partner = state.partner
    if partner is None:
        return []
    return [
        OutcomeNotified(
            recipient=partner,
            partner_reference=state.partner_reference,
            dispute_id=state.dispute_id,
            outcome=outcome,
            at=at,
            **kw,
        )
    ]


def _register(c: RegisterDispute, s: Dispute) -> list[Event]:
    if c.at.tzinfo is None:
        raise ValidationFailed("time must carry a timezone", field="at")
    partner = Partner(c.referrer.value) if c.referrer in PARTNER_REFERRERS else None
    if partner is not None:
        if PARTNER_SOURCES[partner] is not c.source:
            raise ValidationFailed(f"{partner.value} cannot refer a {c.source.value} dispute", field="kind")
        if not c.partner_reference:
            raise ValidationFailed("a partner referral needs the partner's reference", field="partner_reference")
    if c.source is Source.INTAKE and not c.intake_case_id:
        raise ValidationFailed("an intake referral needs the intake case id", field="intake_case_id")
    if s.status is not Status.NEW:
        same = (s.source, s.referrer, s.partner_reference, s.intake_case_id) == (
            c.source,
            c.referrer,
            c.partner_reference,
            c.intake_case_id,
        )
        if same and c.referrer is not None:
            return []  # the same referral again (a partner re-sent it): nothing changes
        raise DomainError(f"dispute {s.dispute_id} is already registered", field="dispute_id")
    if c.not_covered is not None:
        if partner is not None:
            return [
                ReferralAcknowledged(
                    recipient=partner,
                    partner_reference=c.partner_reference,
                    dispute_id=c.dispute_id,
                    decision=AckDecision.DECLINED,
                    reason=c.not_covered,
                    acknowledged_at=c.at,
                    region=c.region,
                    source=c.source,
                    dispute_type=c.dispute_type,
                )
            ]
        if c.source is Source.INTAKE and c.intake_case_id:
            return [
                IntakeReferralDeclined(
                    dispute_id=c.dispute_id,
                    intake_case_id=c.intake_case_id,
                    reason=c.not_covered,
                    declined_at=c.at,
                    region=c.region,
                    dispute_type=c.dispute_type,
                )
            ]
        raise DomainError(c.not_covered, field="dispute_type")
    complex_ = c.complex if c.complex is not None else is_complex(c.dispute_type, len(c.parties))
    events: list[Event] = [
        DisputeRegistered(
            dispute_id=c.dispute_id,
            region=c.region,
            source=c.source,
            dispute_type=c.dispute_type,
            registered_at=c.at,
            complex=complex_,
            parties=c.parties,
            claim=c.claim,
            referrer=c.referrer,
            partner_reference=c.partner_reference,
            intake_case_id=c.intake_case_id,
            time_limit_days=c.time_limit_days,
            due_by=time_limit_due(c.at, c.time_limit_days),
        )
    ]
    if partner is not None:
        events.append(
            ReferralAcknowledged(
                recipient=partner,
                partner_reference=c.partner_reference,
                dispute_id=c.dispute_id,
                decision=AckDecision.ACCEPTED,
                acknowledged_at=c.at,
                region=c.region,
                source=c.source,
                dispute_type=c.dispute_type,
            )
        )
    return events


def _assign(c: AssignMediator, s: Dispute) -> list[Event]:
    _require(s, c, ACTIVE, "assignment is only possible before the mediation ended")
    _not_before(s, c.at)
    fit = c.fit
    if not covers(fit.regions, s.region):
        raise DomainError(
            f"committee {fit.committee_id} does not cover region {s.region} (covers {', '.join(fit.regions)})",
            field="committee_id",
        )
    if s.dispute_type not in fit.dispute_types:
        raise DomainError(
            f"committee {fit.committee_id} does not mediate {s.dispute_type} disputes", field="committee_id"
        )
    if fit.mediator_committee_id != fit.committee_id:
        raise DomainError(
            f"mediator {fit.mediator_id} serves committee {fit.mediator_committee_id}, not {fit.committee_id}",
            field="mediator_id",
        )
    if not fit.mediator_active:
        raise DomainError(f"mediator {fit.mediator_id} is not active", field="mediator_id")
    if (s.committee_id, s.mediator_id) == (fit.committee_id, fit.mediator_id):
        return []  # already assigned exactly so
    return [
        MediatorAssigned(
            committee_id=fit.committee_id,
            committee_kind=fit.committee_kind,
            mediator_id=fit.mediator_id,
            assigned_at=c.at,
        )
    ]


def _session(c: HoldSession, s: Dispute) -> list[Event]:
    if s.status is Status.REGISTERED:
        raise DomainError("no mediator is assigned to hold a session", field="mediator_id")
    _require(s, c, WITH_MEDIATOR)
    _not_before(s, c.at)
    if c.next_session_on is not None and c.next_session_on < china_date(c.at):
        raise ValidationFailed("the next session cannot be before this one", field="next_session_on")
    return [SessionHeld(session_no=s.sessions + 1, held_at=c.at, minutes=c.minutes, next_session_on=c.next_session_on)]


def _extend(c: ExtendTimeLimit, s: Dispute) -> list[Event]:
    _require(s, c, ACTIVE)
    _not_before(s, c.at)
    assert s.due_by is not None
    return [TimeLimitExtended(extended_at=c.at, due_by=time_limit_extended(s.due_by, c.days), reason=c.reason)]


def _agree(c: SignAgreement, s: Dispute) -> list[Event]:
    if s.status is Status.REGISTERED:
        raise DomainError("an agreement needs an assigned mediator; none is assigned", field="mediator_id")
    _require(s, c, WITH_MEDIATOR)
    _not_before(s, c.at)
    deadline = confirmation_deadline(c.at)
    follow = follow_up_due(c.at, c.follow_up_days) if s.complex else None
    return [
        AgreementSigned(terms=c.terms, ended_at=c.at, confirmation_deadline=deadline, follow_up_due_by=follow),
        *_notice(s, Outcome.AGREEMENT, c.at, terms=c.terms),
    ]


def _fail(c: FailMediation, s: Dispute) -> list[Event]:
    if s.status is Status.REGISTERED:
        raise DomainError("mediation cannot fail before a mediator is assigned", field="mediator_id")
    _require(s, c, WITH_MEDIATOR)
    _not_before(s, c.at)
    return [MediationFailed(reason=c.reason, ended_at=c.at), *_notice(s, Outcome.FAILED, c.at, reason=c.reason)]


def _withdraw(c: Withdraw, s: Dispute) -> list[Event]:
    _require(s, c, ACTIVE)
    _not_before(s, c.at)
    return [DisputeWithdrawn(reason=c.reason, ended_at=c.at), *_notice(s, Outcome.WITHDRAWN, c.at, reason=c.reason)]


def _request_confirmation(c: RequestConfirmation, s: Dispute) -> list[Event]:
    _require(s, c, frozenset({Status.AGREEMENT}), "only a signed agreement can go to the court")
    _not_before(s, c.at)
    assert s.confirmation_deadline is not None and s.terms is not None
    if not on_time(c.at, s.confirmation_deadline):
        raise DomainError(
            f"the 30-day window for judicial confirmation closed on {s.confirmation_deadline.isoformat()}",
            field="confirmation_deadline",
        )
    return [
        ConfirmationRequested(
            recipient=Partner.COURT,
            partner_reference=s.partner_reference if s.referrer is Referrer.COURT else None,
            dispute_id=s.dispute_id,
            requested_at=c.at,
            region=s.region,
            dispute_type=s.dispute_type,
            parties=list(s.parties),
            terms=s.terms,
            confirmation_deadline=s.confirmation_deadline,
        )
    ]


def _confirmation(c: RecordConfirmation, s: Dispute) -> list[Event]:
    if s.confirmation_decided_at is not None and s.confirmation_outcome is not None:
        raise _second_ruling(c, s.confirmation_outcome, s.confirmation_decided_at)
    _require(s, c, frozenset({Status.CONFIRMATION_REQUESTED}), "no confirmation was requested")
    return [
        ConfirmationDecided(outcome=c.outcome, reason=c.reason, decided_at=c.at, court_reference=c.court_reference),
        *_notice(s, c.outcome, c.at, reason=c.reason),
    ]


def _second_ruling(c: RecordConfirmation, ruled: Outcome, ruled_at: datetime) -> DomainError:
    """The court rules once on a confirmation request (人民调解法 第三十三条): a second ruling goes back to it."""
    same = ruled is c.outcome
    return DomainError(
        f"the court already ruled {ruled.value} on {ruled_at.isoformat()}; "
        f"{'a duplicate' if same else 'a contradictory'} ruling ({c.outcome.value}) is refused",
        field="outcome",
        code="duplicate_ruling" if same else "contradictory_ruling",
    )


def _lapse(c: RecordWindowLapse, s: Dispute) -> list[Event]:
    if s.window_lapsed:
        return []
    _require(s, c, frozenset({Status.AGREEMENT, Status.ARCHIVED}))
    if s.confirmation_deadline is None or s.confirmation_requested_at is not None:
        raise DomainError("no confirmation window is open on this dispute", field="confirmation_deadline")
    if on_time(c.at, s.confirmation_deadline):
        raise DomainError(
            f"the window is open until {s.confirmation_deadline.isoformat()}", field="confirmation_deadline"
        )
    return [ConfirmationWindowLapsed(deadline=s.confirmation_deadline, lapsed_at=c.at)]


def _follow_up(c: RecordFollowUp, s: Dispute) -> list[Event]:
    _require(s, c, AGREED, "a follow-up visit checks a signed agreement")
    _not_before(s, c.at)
    if s.fulfilment is not None:
        raise DomainError(f"the follow-up visit was already recorded ({s.fulfilment.value})", field="fulfilment")
    return [FollowUpVisited(fulfilment=c.fulfilment, visited_at=c.at, notes=c.notes)]


def _archive(c: Archive, s: Dispute) -> list[Event]:
    if s.status is Status.CONFIRMATION_REQUESTED:
        raise InvalidTransition("Archive", s.status.value, "the court has not ruled on the agreement yet")
    _require(s, c, ARCHIVABLE)
    _not_before(s, c.at)
    if s.complex and s.status in AGREED and s.fulfilment is None:
        raise DomainError("a complex dispute's agreement needs its follow-up visit before archiving", field="follow_up")
    return [DisputeArchived(archived_at=c.at, final_status=s.status.value)]


_DECIDERS: Rules[Dispute] = {
    RegisterDispute: _register,
    AssignMediator: _assign,
    HoldSession: _session,
    ExtendTimeLimit: _extend,
    SignAgreement: _agree,
    FailMediation: _fail,
    Withdraw: _withdraw,
    RequestConfirmation: _request_confirmation,
    RecordConfirmation: _confirmation,
    RecordWindowLapse: _lapse,
    RecordFollowUp: _follow_up,
    Archive: _archive,
    EvaluateCase: evaluation_rule(DisputeEvaluated, lambda s: s.status is Status.ARCHIVED),  # 随单评价 (seed 004)
}


decide = decide_by_type(
    _DECIDERS, lambda command, _state: TypeError(f"mediation cannot decide {type(command).__name__}")
)


decider: Decider[Dispute] = Decider("mediation", initial_state, decide, evolve)
