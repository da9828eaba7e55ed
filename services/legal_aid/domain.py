"""Legal aid case (法律援助案件): eligibility rules, statutory deadlines and the case decider. Pure: no I/O, no clock.

Lifecycle: applied (citizen, intake referral, or a detainee's application forwarded by an organ) or notified
(通知辩护 / 法律帮助: granted on receipt) → reviewed (granted | refused with a written reason; a refusal can be
contested once, then reviewed again) → assigned (lawyer | grassroots worker | aid-centre staff; the notifying
organ is told) → closed (outcome) → quality reviewed → subsidy paid. A granted recipient may be given a notary
fee waiver (flow 7) at any point after the grant.

Deadlines (法律援助法, 2021): review within 7 days of the application (art. 43), assignment within 3 days of the
grant or the notice (art. 36), a detainee's application forwarded within 24 hours of receipt (art. 39). Day
periods are calendar days in China time: the day of the triggering event is not counted and the period ends at
24:00 of its last day (民法典 art. 201, 203). Holiday extension is not applied (no holiday calendar yet).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal

from pydantic import Field

from shared.contracts.common import Partner
from shared.contracts.legal_aid import (
    ApplicationReceived,
    ApplicationReviewed,
    AssignmentNotified,
    CaseClosed,
    CaseKind,
    Channel,
    Decision,
    DefenceNotified,
    Ground,
    MatterType,
    NotaryFeeWaiverGranted,
    Outcome,
    ProviderAssigned,
    ProviderType,
    QualityMethod,
    QualityReviewed,
    RefusalContested,
    SpecialGroup,
    SubsidyPaid,
)
from shared.decider import Decider
from shared.errors import DomainError, InvalidTransition, ValidationFailed
from shared.events import Command, Event

CHINA = timezone(timedelta(hours=8), "CST")
REVIEW_DAYS = 7  # art. 43
ASSIGN_DAYS = 3  # art. 36
FORWARD_HOURS = 24  # art. 39
DUE_SOON = timedelta(days=1)

# -- eligibility -------------------------------------------------------------------------------------------------

IN_SCOPE: frozenset[MatterType] = frozenset(
    {
        MatterType.CRIMINAL,
        MatterType.STATE_COMPENSATION,
        MatterType.SOCIAL_INSURANCE,
        MatterType.SOCIAL_ASSISTANCE,
        MatterType.PENSION_RELIEF,
        MatterType.MAINTENANCE,
        MatterType.WAGES,
        MatterType.INJURY_COMPENSATION,
        MatterType.FAMILY,
        MatterType.FOOD_AND_DRUG,
        MatterType.EDUCATION_MEDICAL,
        MatterType.ENVIRONMENT,
        MatterType.HERO_HONOUR,
    }
)

#: Groups exempt from the economic test only for some matters (art. 42); absent = exempt for every matter.
EXEMPT_ONLY_FOR: dict[SpecialGroup, frozenset[MatterType]] = {
    SpecialGroup.MIGRANT_WORKER: frozenset({MatterType.WAGES, MatterType.INJURY_COMPENSATION}),
    SpecialGroup.HERO_MARTYR_RELATIVE: frozenset({MatterType.HERO_HONOUR}),
}

GROUP_NAMES: dict[SpecialGroup, str] = {
    SpecialGroup.DISTRESSED_CHILD: "困境儿童 distressed child",
    SpecialGroup.SEVERELY_DISABLED: "重度残疾人 severely disabled person",
    SpecialGroup.SERIOUSLY_ILL: "重病患者 seriously ill person",
    SpecialGroup.ELDERLY_WITHOUT_INCOME: "无固定生活来源的老年人 elderly person without fixed income",
    SpecialGroup.SOCIAL_ASSISTANCE_RECIPIENT: "社会救助对象 social assistance recipient",
    SpecialGroup.MIGRANT_WORKER: "进城务工人员 migrant worker",
    SpecialGroup.SERVICEMAN_FAMILY: "军人军属 serviceman or family",
    SpecialGroup.HERO_MARTYR_RELATIVE: "英雄烈士近亲属 close relative of a hero or martyr",
}


@dataclass(frozen=True)
class Threshold:
    """The economic test of one city profile: income per head per month below multiplier × 低保."""

    city: str
    minimum_living_standard: float  # yuan per person per month
    multiplier: float

    @property
    def amount(self) -> float:
        return round(self.minimum_living_standard * self.multiplier, 2)


@dataclass(frozen=True)
class Assessment:
    eligible: bool
    grounds: tuple[Ground, ...]
    reason: str
    threshold: float | None = None


def assess(
    matter_type: MatterType,
    income_per_head: float | None,
    special_groups: tuple[SpecialGroup, ...] | list[SpecialGroup],
    threshold: Threshold | None,
) -> Assessment:
    """Eligibility of a citizen's application, with a written explanation of every rule applied."""
    if matter_type is MatterType.UNSPECIFIED:
        raise ValidationFailed("the matter type must be classified before review", field="matter_type")
    grounds: list[Ground] = []
    in_scope = matter_type in IN_SCOPE
    grounds.append(
        Ground(
            rule="matter_in_scope",
            passed=in_scope,
            text=f"matter type '{matter_type.value}' is "
            + ("within legal aid scope" if in_scope else "not within legal aid scope (法律援助法 art. 24-25, 31)"),
        )
    )
    if not in_scope:
        return Assessment(False, tuple(grounds), grounds[0].text)
    exempting = [g for g in special_groups if matter_type in EXEMPT_ONLY_FOR.get(g, IN_SCOPE)]
    if exempting:
        names = ", ".join(GROUP_NAMES[g] for g in exempting)
        grounds.append(Ground(rule="special_group", passed=True, text=f"economic test waived: {names} (art. 42)"))
        return Assessment(True, tuple(grounds), f"granted: {grounds[-1].text}")
    for g in special_groups:  # claimed but not exempting for this matter: say why
        grounds.append(
            Ground(
                rule="special_group",
                passed=False,
                text=f"{GROUP_NAMES[g]} waives the economic test only for "
                + "/".join(sorted(m.value for m in EXEMPT_ONLY_FOR[g])),
            )
        )
    if threshold is None:
        raise ValidationFailed("no city profile sets an economic threshold for this region", field="region")
    if income_per_head is None:
        raise ValidationFailed(
            "household income per head is required unless a special group waives the economic test",
            field="household_income_per_head",
        )
    below = income_per_head < threshold.amount
    text = (
        f"household income per head {income_per_head:.2f} yuan/month is "
        + ("below" if below else "not below")
        + f" the {threshold.city} threshold {threshold.amount:.2f} "
        + f"({threshold.multiplier:g} x minimum living standard {threshold.minimum_living_standard:.2f})"
    )
    grounds.append(Ground(rule="economic_test", passed=below, text=text))
    return Assessment(below, tuple(grounds), ("granted: " if below else "refused: ") + text, threshold.amount)


# -- deadlines ---------------------------------------------------------------------------------------------------

DeadlineName = Literal["review", "assignment", "forwarding"]
DeadlineStatus = Literal["pending", "due", "met", "missed"]


def _local_day(at: datetime) -> date:
    return at.astimezone(CHINA).date()


def days_deadline(start: datetime, days: int) -> datetime:
    """End (exclusive) of a period of `days` calendar days counted from the day after `start` (China time)."""
    last_day = _local_day(start) + timedelta(days=days)
    return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=CHINA)


def review_due(applied_at: datetime) -> datetime:
    return days_deadline(applied_at, REVIEW_DAYS)


def assignment_due(granted_or_notified_at: datetime) -> datetime:
    return days_deadline(granted_or_notified_at, ASSIGN_DAYS)


def forwarding_due(received_at: datetime) -> datetime:
    return received_at + timedelta(hours=FORWARD_HOURS)


@dataclass(frozen=True)
class Deadline:
    name: DeadlineName
    due_at: datetime  # exclusive: done strictly before this instant is on time
    met_at: datetime | None = None

    def status(self, now: datetime) -> DeadlineStatus:
        return deadline_status(self.due_at, self.met_at, now)


def deadline_status(due_at: datetime, met_at: datetime | None, now: datetime) -> DeadlineStatus:
    if met_at is not None:
        return "met" if met_at < due_at else "missed"
    if now >= due_at:
        return "missed"
    return "due" if due_at - now <= DUE_SOON else "pending"


# -- state -------------------------------------------------------------------------------------------------------

Status = Literal[
    "new", "applied", "refused", "contested", "granted", "assigned", "closed", "quality_reviewed", "subsidy_paid"
]


@dataclass(frozen=True)
class FeeWaiver:
    notary_matter: str
    waiver: float
    granted_at: datetime


@dataclass(frozen=True)
class AidCase:
    status: Status = "new"
    kind: CaseKind | None = None
    channel: Channel | None = None
    region: str = ""
    matter_type: MatterType | None = None
    matter: str = ""
    client_ref: str | None = None  # applicant or defendant
    opposing_refs: tuple[str, ...] = ()
    income_per_head: float | None = None
    special_groups: tuple[SpecialGroup, ...] = ()
    applied_at: datetime | None = None
    notified_at: datetime | None = None
    organ: Partner | None = None  # notifying or forwarding organ
    partner_reference: str | None = None
    received_at: datetime | None = None
    forwarded_at: datetime | None = None
    referral_case_id: str | None = None
    stage: str | None = None
    charge: str | None = None
    decision: Decision | None = None
    reason: str | None = None
    grounds: tuple[Ground, ...] = ()
    decided_at: datetime | None = None
    granted_at: datetime | None = None
    contested: bool = False
    contested_at: datetime | None = None
    provider_type: ProviderType | None = None
    provider_id: str | None = None
    assigned_at: datetime | None = None
    outcome: Outcome | None = None
    closed_at: datetime | None = None
    quality_score: int | None = None
    quality_method: QualityMethod | None = None
    subsidy: float | None = None
    fee_waivers: tuple[FeeWaiver, ...] = field(default=())

    @property
    def is_criminal(self) -> bool:
        return self.matter_type is MatterType.CRIMINAL

    def deadlines(self) -> list[Deadline]:
        """Every statutory deadline that applies to this case so far."""
        out: list[Deadline] = []
        if self.kind is CaseKind.DETAINEE_FORWARDED and self.received_at is not None:
            out.append(Deadline("forwarding", forwarding_due(self.received_at), self.forwarded_at))
        if self.applied_at is not None and self.kind in (CaseKind.APPLICATION, CaseKind.DETAINEE_FORWARDED):
            # met by the first decision: a re-decision on contest does not move it (evolve keeps decided_at)
            out.append(Deadline("review", review_due(self.applied_at), self.decided_at))
        if self.granted_at is not None:
            out.append(Deadline("assignment", assignment_due(self.granted_at), self.assigned_at))
        return out


# -- commands ----------------------------------------------------------------------------------------------------


class ReceiveApplication(Command):
    """A citizen's application (walk-in, web, intake referral) or a detainee's application forwarded by an organ."""

    kind: Literal[CaseKind.APPLICATION, CaseKind.DETAINEE_FORWARDED] = CaseKind.APPLICATION
    channel: Channel
    region: str
    matter_type: MatterType
    matter: str
    applicant_ref: str | None = None
    opposing_party_refs: tuple[str, ...] = ()
    household_income_per_head: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    special_groups: tuple[SpecialGroup, ...] = ()
    applied_at: datetime
    referral_case_id: str | None = None
    forwarded_by: Partner | None = None
    partner_reference: str | None = None
    received_at: datetime | None = None
    forwarded_at: datetime | None = None


class ReceiveNotice(Command):
    """通知辩护 / 法律帮助 from a court, procuratorate or police: granted without review."""

    kind: Literal[CaseKind.NOTIFIED_DEFENCE, CaseKind.DUTY_LAWYER]
    region: str
    defendant_ref: str
    notified_by: Partner
    partner_reference: str
    stage: str
    charge: str
    reason: str | None = None
    notified_at: datetime


class Review(Command):
    """审查: decide eligibility on the verified facts; the reviewer may refuse on other grounds with a reason."""

    at: datetime
    threshold: Threshold | None = None
    matter_type: MatterType | None = None  # verified facts override what the application said
    household_income_per_head: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    special_groups: tuple[SpecialGroup, ...] | None = None
    refuse_reason: str | None = None


class Contest(Command):
    """异议: the applicant contests a refusal (once)."""

    grounds: str
    at: datetime


@dataclass(frozen=True)
class ProviderFacts:
    """What the registry and the provider's other cases say about a provider, gathered by the handler."""

    provider_id: str
    provider_type: ProviderType
    capacity: int
    open_cases: int
    clients: frozenset[str] = frozenset()  # persons the provider acts for in other cases
    opponents: frozenset[str] = frozenset()  # persons the provider acts against in other cases


class Assign(Command):
    case_id: str
    provider: ProviderFacts
    at: datetime


class Close(Command):
    outcome: Outcome
    summary: str | None = None
    at: datetime


class ReviewQuality(Command):
    score: int = Field(ge=0, le=100)
    method: QualityMethod
    at: datetime


class PaySubsidy(Command):
    amount: float = Field(gt=0, allow_inf_nan=False)
    at: datetime


class GrantNotaryFeeWaiver(Command):
    case_id: str
    notary_matter: str
    waiver: float = Field(default=1.0, gt=0, le=1, allow_inf_nan=False)
    at: datetime


# -- decide ------------------------------------------------------------------------------------------------------

GRANTED_STATES = ("granted", "assigned", "closed", "quality_reviewed", "subsidy_paid")


def decide(command: Command, state: AidCase) -> list[Event]:
    match command:
        case ReceiveApplication():
            return _receive_application(command, state)
        case ReceiveNotice():
            return _receive_notice(command, state)
        case Review():
            return _review(command, state)
        case Contest():
            if state.status != "refused":
                raise InvalidTransition("contest", state.status, "only a refusal can be contested")
            if state.contested:
                raise DomainError("a refusal can be contested only once", field="grounds", code="already_contested")
            return [RefusalContested(grounds=command.grounds, contested_at=command.at)]
        case Assign():
            return _assign(command, state)
        case Close():
            if state.status != "assigned":
                raise InvalidTransition("close", state.status, "only an assigned case can be closed")
            return [CaseClosed(outcome=command.outcome, summary=command.summary, closed_at=command.at)]
        case ReviewQuality():
            if state.status != "closed":
                raise InvalidTransition("quality-review", state.status, "only a closed case is quality reviewed")
            return [QualityReviewed(score=command.score, method=command.method, reviewed_at=command.at)]
        case PaySubsidy():
            if state.status != "quality_reviewed":
                raise InvalidTransition("pay the subsidy of", state.status, "the quality review comes first")
            return [SubsidyPaid(amount=command.amount, paid_at=command.at)]
        case GrantNotaryFeeWaiver():
            if state.status not in GRANTED_STATES:
                raise InvalidTransition("grant a notary fee waiver for", state.status, "aid has not been granted")
            if state.client_ref is None:
                raise DomainError("the case has no identified aid recipient", field="person_ref")
            if any(w.notary_matter == command.notary_matter for w in state.fee_waivers):
                return []  # already waived for this matter
            return [
                NotaryFeeWaiverGranted(
                    aid_case_id=command.case_id,
                    person_ref=state.client_ref,
                    notary_matter=command.notary_matter,
                    waiver=command.waiver,
                    granted_at=command.at,
                )
            ]
    raise ValidationFailed(f"unknown command {type(command).__name__}")


def _receive_application(c: ReceiveApplication, state: AidCase) -> list[Event]:
    if state.status != "new":
        raise InvalidTransition("open", state.status, "the case exists already")
    if c.kind is CaseKind.DETAINEE_FORWARDED:
        if c.forwarded_by is None or c.partner_reference is None:
            raise ValidationFailed("a forwarded application names the organ and its reference", field="forwarded_by")
        if c.received_at is None or c.forwarded_at is None:
            raise ValidationFailed("a forwarded application carries received_at and forwarded_at", field="received_at")
        if c.forwarded_at < c.received_at:
            raise ValidationFailed("forwarded before it was received", field="forwarded_at")
    return [
        ApplicationReceived(
            kind=c.kind,
            channel=c.channel,
            region=c.region,
            matter_type=c.matter_type,
            matter=c.matter,
            applicant_ref=c.applicant_ref,
            opposing_party_refs=list(c.opposing_party_refs),
            household_income_per_head=c.household_income_per_head,
            special_groups=list(c.special_groups),
            applied_at=c.applied_at,
            referral_case_id=c.referral_case_id,
            forwarded_by=c.forwarded_by,
            partner_reference=c.partner_reference,
            received_at=c.received_at,
            forwarded_at=c.forwarded_at,
        )
    ]


def _receive_notice(c: ReceiveNotice, state: AidCase) -> list[Event]:
    if state.status != "new":
        if state.organ is c.notified_by and state.partner_reference == c.partner_reference and state.kind is c.kind:
            return []  # the same notice again (e.g. over HTTP and Kafka): nothing new
        raise InvalidTransition("open", state.status, "the case exists already")
    return [
        DefenceNotified(
            kind=c.kind,
            region=c.region,
            defendant_ref=c.defendant_ref,
            notified_by=c.notified_by,
            partner_reference=c.partner_reference,
            stage=c.stage,
            charge=c.charge,
            reason=c.reason,
            notified_at=c.notified_at,
        )
    ]


def _review(c: Review, state: AidCase) -> list[Event]:
    if state.status not in ("applied", "contested"):
        detail = "notified cases are granted without review" if state.notified_at else "nothing to review"
        raise InvalidTransition("review", state.status, detail)
    matter_type = c.matter_type or state.matter_type or MatterType.UNSPECIFIED
    income = c.household_income_per_head if c.household_income_per_head is not None else state.income_per_head
    groups = c.special_groups if c.special_groups is not None else state.special_groups
    result = assess(matter_type, income, groups, c.threshold)
    decision = Decision.GRANTED if result.eligible else Decision.REFUSED
    reason, grounds = result.reason, result.grounds
    if result.eligible and c.refuse_reason:
        decision, reason = Decision.REFUSED, f"refused: {c.refuse_reason}"
        grounds = (*grounds, Ground(rule="reviewer", passed=False, text=c.refuse_reason))
    return [
        ApplicationReviewed(
            decision=decision,
            reason=reason[:500],
            grounds=list(grounds),
            matter_type=matter_type,
            threshold=result.threshold,
            on_contest=state.status == "contested",
            decided_at=c.at,
        )
    ]


def _assign(c: Assign, state: AidCase) -> list[Event]:
    if state.status != "granted":
        raise InvalidTransition("assign", state.status, "a provider is assigned only after aid is granted")
    p = c.provider
    if state.is_criminal and p.provider_type is not ProviderType.LAWYER:
        raise DomainError("criminal defence is assigned to a lawyer only", field="provider_id", code="lawyer_required")
    if p.open_cases >= p.capacity:
        raise DomainError(
            f"provider {p.provider_id} is at capacity ({p.open_cases}/{p.capacity} open cases)",
            field="provider_id",
            code="provider_at_capacity",
        )
    conflicts = ({state.client_ref} & p.opponents) | (set(state.opposing_refs) & p.clients)
    conflicts.discard(None)
    if conflicts:
        raise DomainError(
            f"provider {p.provider_id} acts for the other side of a party of this case in another case",
            field="provider_id",
            code="conflict_of_interest",
        )
    assert state.granted_at is not None
    due = assignment_due(state.granted_at)
    events: list[Event] = [
        ProviderAssigned(
            provider_type=p.provider_type,
            provider_id=p.provider_id,
            assigned_at=c.at,
            due_at=due,
            on_time=c.at < due,
        )
    ]
    if state.organ is not None:
        events.append(
            AssignmentNotified(
                recipient=state.organ,
                partner_reference=state.partner_reference,
                aid_case_id=c.case_id,
                provider_type=p.provider_type,
                provider_id=p.provider_id,
                assigned_at=c.at,
            )
        )
    return events


# -- evolve ------------------------------------------------------------------------------------------------------


def evolve(state: AidCase, event: Event) -> AidCase:
    match event:
        case ApplicationReceived():
            return replace(
                state,
                status="applied",
                kind=event.kind,
                channel=event.channel,
                region=event.region,
                matter_type=event.matter_type,
                matter=event.matter,
                client_ref=event.applicant_ref,
                opposing_refs=tuple(event.opposing_party_refs),
                income_per_head=event.household_income_per_head,
                special_groups=tuple(event.special_groups),
                applied_at=event.applied_at,
                organ=event.forwarded_by,
                partner_reference=event.partner_reference,
                received_at=event.received_at,
                forwarded_at=event.forwarded_at,
                referral_case_id=event.referral_case_id,
            )
        case DefenceNotified():
            return replace(
                state,
                status="granted",
                kind=event.kind,
                channel=Channel.PARTNER,
                region=event.region,
                matter_type=event.matter_type,
                matter=event.charge,
                client_ref=event.defendant_ref,
                notified_at=event.notified_at,
                organ=event.notified_by,
                partner_reference=event.partner_reference,
                stage=event.stage,
                charge=event.charge,
                decision=Decision.GRANTED,
                reason="notified defence is granted without review (法律援助法 art. 25, 36)",
                granted_at=event.notified_at,
            )
        case ApplicationReviewed():
            granted = event.decision is Decision.GRANTED
            return replace(
                state,
                status="granted" if granted else "refused",
                matter_type=event.matter_type,
                decision=event.decision,
                reason=event.reason,
                grounds=tuple(event.grounds),
                decided_at=state.decided_at if event.on_contest else event.decided_at,
                granted_at=event.decided_at if granted else None,
            )
        case RefusalContested():
            return replace(state, status="contested", contested=True, contested_at=event.contested_at)
        case ProviderAssigned():
            return replace(
                state,
                status="assigned",
                provider_type=event.provider_type,
                provider_id=event.provider_id,
                assigned_at=event.assigned_at,
            )
        case AssignmentNotified():
            return state
        case CaseClosed():
            return replace(state, status="closed", outcome=event.outcome, closed_at=event.closed_at)
        case QualityReviewed():
            return replace(state, status="quality_reviewed", quality_score=event.score, quality_method=event.method)
        case SubsidyPaid():
            return replace(state, status="subsidy_paid", subsidy=event.amount)
        case NotaryFeeWaiverGranted():
            waiver = FeeWaiver(event.notary_matter, event.waiver, event.granted_at)
            return replace(state, fee_waivers=(*state.fee_waivers, waiver))
    return state


decider: Decider[AidCase] = Decider("legal_aid_case", AidCase, decide, evolve)
