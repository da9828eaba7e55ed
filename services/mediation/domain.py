"""A dispute's people's-mediation lifecycle (人民调解): state, commands, decide(), evolve() and the deadlines.

registered → mediator_assigned → session_held* → agreement_signed | failed | withdrawn → (agreement) the parties
may apply for judicial confirmation within 30 days (人民调解法 art. 33) → confirmation_requested → confirmed |
rejected (court) → follow-up visit for complex disputes (回访) → archived. A partner referral is acknowledged
(accepted / declined with reason) and every ending or ruling goes back to the referring organ. Each source has
a time limit (e.g. 诉前调解 30 days, extendable by the parties' consent). Pure: no clock, no I/O; reference data
(which committees cover the dispute) comes in on the command.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import Field

from shared.contracts.common import CaseId, LongText, Partner, PersonRef, RegionCode, ShortText, region_ancestors
from shared.contracts.mediation import (
    AckDecision,
    AgreementSigned,
    CommitteeKind,
    ConfirmationDecided,
    ConfirmationRequested,
    ConfirmationWindowLapsed,
    DisputeArchived,
    DisputeRegistered,
    DisputeWithdrawn,
    FollowUpVisited,
    Fulfilment,
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
from shared.decider import Decider
from shared.errors import DomainError, InvalidTransition, NotFound, ValidationFailed
from shared.events import Command, Event

CONFIRMATION_WINDOW_DAYS = 30  # 人民调解法 art. 33: apply to the court within 30 days of the agreement taking effect
DEFAULT_FOLLOW_UP_DAYS = 30
#: 疑难复杂: dispute types that always get a follow-up visit; group disputes (群体性) also count as complex.
COMPLEX_TYPES = frozenset({"medical", "demolition", "environment", "forest_land", "land_contract", "labour"})
GROUP_DISPUTE_PARTIES = 5
#: the organ a partner referral must come from, per kind of referral
PARTNER_SOURCES = {
    Partner.POLICE: Source.POLICE_110,
    Partner.COURT: Source.COURT_PRE_LITIGATION,
    Partner.PROCURATORATE: Source.PROCURATORATE_RECONCILIATION,
}


class Status(StrEnum):
    NEW = "new"
    DECLINED = "declined"  # referral not taken; the stream holds only the acknowledgement
    REGISTERED = "registered"  # awaiting assignment (待指派)
    ASSIGNED = "assigned"
    IN_MEDIATION = "in_mediation"  # at least one session held
    AGREEMENT = "agreement"
    CONFIRMATION_REQUESTED = "confirmation_requested"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"
    ARCHIVED = "archived"


_PARTNER_REFERRERS = frozenset({Referrer.COURT, Referrer.POLICE, Referrer.PROCURATORATE})
ACTIVE = frozenset({Status.REGISTERED, Status.ASSIGNED, Status.IN_MEDIATION})
WITH_MEDIATOR = frozenset({Status.ASSIGNED, Status.IN_MEDIATION})
AGREED = frozenset({Status.AGREEMENT, Status.CONFIRMATION_REQUESTED, Status.CONFIRMED, Status.REJECTED})
ARCHIVABLE = frozenset({Status.AGREEMENT, Status.CONFIRMED, Status.REJECTED, Status.FAILED, Status.WITHDRAWN})


# -- pure deadline functions ---------------------------------------------------------------------------------
DeadlineStatus = Literal["due", "met", "missed"]


def confirmation_deadline(signed_at: datetime) -> datetime:
    """Last moment to apply for judicial confirmation (司法确认): 30 days after the agreement."""
    return signed_at + timedelta(days=CONFIRMATION_WINDOW_DAYS)


def time_limit_due(registered_at: datetime, days: int) -> datetime:
    return registered_at + timedelta(days=days)


def follow_up_due(ended_at: datetime, days: int = DEFAULT_FOLLOW_UP_DAYS) -> datetime:
    return ended_at + timedelta(days=days)


def deadline_status(deadline: datetime | None, done_at: datetime | None, now: datetime) -> DeadlineStatus | None:
    """met when done by the deadline; missed when done late or still open after it; due while open in time."""
    if deadline is None:
        return None
    if done_at is not None:
        return "met" if done_at <= deadline else "missed"
    return "missed" if now > deadline else "due"


def is_complex(dispute_type: str, party_count: int) -> bool:
    return dispute_type in COMPLEX_TYPES or party_count >= GROUP_DISPUTE_PARTIES


def covers(committee_regions: list[str], region: str) -> bool:
    """A committee covers a dispute when one of its regions is the dispute's region or an ancestor of it."""
    ancestors = set(region_ancestors(region))
    return any(r in ancestors for r in committee_regions)


# -- commands ------------------------------------------------------------------------------------------------
class RegisterDispute(Command):
    """Open a dispute from any source; a partner or intake referral no committee can take is declined."""

    dispute_id: CaseId
    at: datetime
    source: Source
    dispute_type: ShortText
    region: RegionCode
    parties: list[PersonRef] = Field(min_length=1, max_length=50)
    claim: LongText
    complex: bool | None = None  # None: judged from the type and the number of parties
    referrer: Referrer | None = None
    partner_reference: str | None = Field(default=None, max_length=64)
    intake_case_id: CaseId | None = None
    time_limit_days: int = Field(ge=1, le=365)
    not_covered: str | None = None  # why no committee can take it (from reference data), None when one can


class CommitteeFit(Command):
    """Reference data of the chosen committee and mediator, looked up by the handler."""

    committee_id: ShortText
    committee_kind: CommitteeKind
    regions: list[RegionCode]
    dispute_types: list[str]
    mediator_id: ShortText
    mediator_committee_id: ShortText
    mediator_active: bool = True


class AssignMediator(Command):
    at: datetime
    fit: CommitteeFit


class HoldSession(Command):
    at: datetime
    minutes: LongText
    next_session_on: date | None = None


class ExtendTimeLimit(Command):
    at: datetime
    days: int = Field(ge=1, le=180)
    reason: ShortText


class SignAgreement(Command):
    at: datetime
    terms: LongText
    follow_up_days: int = Field(default=DEFAULT_FOLLOW_UP_DAYS, ge=1, le=365)


class FailMediation(Command):
    at: datetime
    reason: ShortText


class Withdraw(Command):
    at: datetime
    reason: ShortText


class RequestConfirmation(Command):
    at: datetime


class RecordConfirmation(Command):
    at: datetime
    outcome: Literal[Outcome.CONFIRMED, Outcome.REJECTED]
    reason: ShortText | None = None
    court_reference: str | None = Field(default=None, max_length=64)


class RecordWindowLapse(Command):
    at: datetime


class RecordFollowUp(Command):
    at: datetime
    fulfilment: Fulfilment
    notes: LongText | None = None


class Archive(Command):
    at: datetime


# -- state ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dispute:
    status: Status = Status.NEW
    dispute_id: str = ""
    source: Source | None = None
    region: str = ""
    dispute_type: str = ""
    complex: bool = False
    parties: tuple[str, ...] = ()
    claim: str = ""
    referrer: Referrer | None = None
    partner_reference: str | None = None
    intake_case_id: str | None = None
    registered_at: datetime | None = None
    last_act_at: datetime | None = None
    time_limit_days: int = 0
    due_by: datetime | None = None
    decline_reason: str | None = None
    committee_id: str | None = None
    committee_kind: CommitteeKind | None = None
    mediator_id: str | None = None
    sessions: int = 0
    last_session_at: datetime | None = None
    next_session_on: date | None = None
    outcome: Outcome | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    terms: str | None = None
    confirmation_deadline: datetime | None = None
    confirmation_requested_at: datetime | None = None
    confirmation_decided_at: datetime | None = None
    confirmation_outcome: Outcome | None = None
    window_lapsed: bool = False
    follow_up_due_by: datetime | None = None
    fulfilment: Fulfilment | None = None
    followed_up_at: datetime | None = None
    archived_at: datetime | None = None
    history: tuple[str, ...] = field(default=())  # event types, for the view's timeline

    @property
    def partner(self) -> Partner | None:
        """The organ to notify, when the referrer is a partner with an outbound topic."""
        try:
            return Partner(self.referrer.value) if self.referrer is not None else None
        except ValueError:
            return None


def initial_state() -> Dispute:
    return Dispute()


# -- decide --------------------------------------------------------------------------------------------------
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
    partner = Partner(c.referrer.value) if c.referrer in _PARTNER_REFERRERS else None
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
    if c.next_session_on is not None and c.next_session_on < c.at.date():
        raise ValidationFailed("the next session cannot be before this one", field="next_session_on")
    return [SessionHeld(session_no=s.sessions + 1, held_at=c.at, minutes=c.minutes, next_session_on=c.next_session_on)]


def _extend(c: ExtendTimeLimit, s: Dispute) -> list[Event]:
    _require(s, c, ACTIVE)
    _not_before(s, c.at)
    assert s.due_by is not None
    return [TimeLimitExtended(extended_at=c.at, due_by=s.due_by + timedelta(days=c.days), reason=c.reason)]


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
    if c.at > s.confirmation_deadline:
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
    if s.status in {Status.CONFIRMED, Status.REJECTED} and s.confirmation_outcome is c.outcome:
        return []  # the court sent the same ruling again
    _require(s, c, frozenset({Status.CONFIRMATION_REQUESTED}), "no confirmation was requested")
    return [
        ConfirmationDecided(outcome=c.outcome, reason=c.reason, decided_at=c.at, court_reference=c.court_reference),
        *_notice(s, c.outcome, c.at, reason=c.reason),
    ]


def _lapse(c: RecordWindowLapse, s: Dispute) -> list[Event]:
    if s.window_lapsed:
        return []
    _require(s, c, frozenset({Status.AGREEMENT, Status.ARCHIVED}))
    if s.confirmation_deadline is None or s.confirmation_requested_at is not None:
        raise DomainError("no confirmation window is open on this dispute", field="confirmation_deadline")
    if c.at <= s.confirmation_deadline:
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


_DECIDERS = {
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
}


def decide(command: Command, state: Dispute) -> list[Event]:
    handler = _DECIDERS.get(type(command))
    if handler is None:
        raise TypeError(f"mediation cannot decide {type(command).__name__}")
    return handler(command, state)  # type: ignore[operator]


# -- evolve --------------------------------------------------------------------------------------------------
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
        case MediationFailed():
            return _ended(s, Status.FAILED, Outcome.FAILED, e.ended_at, e.reason)
        case DisputeWithdrawn():
            return _ended(s, Status.WITHDRAWN, Outcome.WITHDRAWN, e.ended_at, e.reason)
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
        case _:
            return s  # acknowledgements and notices to partners do not change the dispute


def _ended(s: Dispute, status: Status, outcome: Outcome, at: datetime, reason: str) -> Dispute:
    return replace(
        s, status=status, outcome=outcome, ended_at=at, end_reason=reason, next_session_on=None, last_act_at=at
    )


decider: Decider[Dispute] = Decider("mediation", initial_state, decide, evolve)
