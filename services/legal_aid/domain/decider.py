"""The case decider: `decide(command, state) -> events` (one rule per command, looked up by its type) and
`evolve(state, event)`."""

from __future__ import annotations

from dataclasses import replace

from services.legal_aid.domain.case import (
    AidCase,
    Assign,
    Close,
    Contest,
    FeeWaiver,
    GrantNotaryFeeWaiver,
    PaySubsidy,
    ReceiveApplication,
    ReceiveNotice,
    ReceiveSupplement,
    RequestSupplement,
    Review,
    ReviewQuality,
)
from services.legal_aid.domain.deadlines import assignment_due, review_due
from services.legal_aid.domain.eligibility import assess
from shared.calendar import on_time
from shared.contracts.legal_aid import (
    AidCaseEvaluated,
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
    ProviderAssigned,
    ProviderType,
    QualityReviewed,
    RefusalContested,
    SubsidyPaid,
    SupplementReceived,
    SupplementRequested,
)
from shared.decider import Decider, Rules, decide_by_type
from shared.errors import DomainError, InvalidTransition, ValidationFailed
from shared.evaluation import EvaluateCase, evaluation_rule
from shared.events import Event

# -- decide ------------------------------------------------------------------------------------------------------------

GRANTED_STATES = ("granted", "assigned", "closed", "quality_reviewed", "subsidy_paid")
#: the refusal notice's objection route (法律援助法 art. 49): to the justice bureau, not back to the aid centre
OBJECTION_ROUTE = (
    "an objection goes to the justice bureau (司法行政部门) that set up the aid centre (法律援助法 art. 49)"
)


def _contest(c: Contest, state: AidCase) -> list[Event]:
    if state.status != "refused":
        raise InvalidTransition("contest", state.status, "only a refusal can be contested")
    if state.contested:
        raise DomainError("a refusal can be contested only once", field="grounds", code="already_contested")
    return [RefusalContested(grounds=c.grounds, contested_at=c.at)]


def _request_supplement(c: RequestSupplement, state: AidCase) -> list[Event]:
    if state.status != "applied":
        raise InvalidTransition("ask for materials of", state.status, "only an application under review waits")
    if state.awaiting_supplement:
        raise DomainError("materials were already asked for and have not arrived", field="missing")
    return [SupplementRequested(missing=c.missing, requested_at=c.at)]


def _receive_supplement(c: ReceiveSupplement, state: AidCase) -> list[Event]:
    if not state.awaiting_supplement or state.applied_at is None:
        raise InvalidTransition("receive materials for", state.status, "no materials were asked for")
    requested = state.supplements[-1][0]
    if c.at < requested:
        raise ValidationFailed("materials cannot arrive before they were asked for", field="at")
    due = review_due(state.applied_at, (*state.supplements[:-1], (requested, c.at)))
    assert due is not None  # every pause is closed
    return [SupplementReceived(received_at=c.at, review_due_at=due)]


def _close(c: Close, state: AidCase) -> list[Event]:
    if state.status != "assigned":
        raise InvalidTransition("close", state.status, "only an assigned case can be closed")
    return [CaseClosed(outcome=c.outcome, summary=c.summary, closed_at=c.at)]


def _review_quality(c: ReviewQuality, state: AidCase) -> list[Event]:
    if state.status != "closed":
        raise InvalidTransition("quality-review", state.status, "only a closed case is quality reviewed")
    return [QualityReviewed(score=c.score, method=c.method, reviewed_at=c.at)]


def _pay_subsidy(c: PaySubsidy, state: AidCase) -> list[Event]:
    if state.status != "quality_reviewed":
        raise InvalidTransition("pay the subsidy of", state.status, "the quality review comes first")
    return [SubsidyPaid(amount=c.amount, paid_at=c.at)]


def _grant_notary_fee_waiver(c: GrantNotaryFeeWaiver, state: AidCase) -> list[Event]:
    if state.status not in GRANTED_STATES:
        raise InvalidTransition("grant a notary fee waiver for", state.status, "aid has not been granted")
    if state.client_ref is None:
        raise DomainError("the case has no identified aid recipient", field="person_ref")
    if any(w.notary_matter == c.notary_matter for w in state.fee_waivers):
        return []  # already waived for this matter
    return [
        NotaryFeeWaiverGranted(
            aid_case_id=c.case_id,
            person_ref=state.client_ref,
            notary_matter=c.notary_matter,
            waiver=c.waiver,
            granted_at=c.at,
        )
    ]


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
    if state.awaiting_supplement:
        raise DomainError("the requested materials have not arrived: record them first", field="supplement")
    matter_type = c.matter_type or state.matter_type or MatterType.UNSPECIFIED
    income = c.household_income_per_head if c.household_income_per_head is not None else state.income_per_head
    groups = c.special_groups if c.special_groups is not None else state.special_groups
    result = assess(matter_type, income, groups, c.threshold)
    decision = Decision.GRANTED if result.eligible else Decision.REFUSED
    reason, grounds = result.reason, result.grounds
    if result.eligible and c.refuse_reason:
        decision, reason = Decision.REFUSED, f"refused: {c.refuse_reason}"
        grounds = (*grounds, Ground(rule="reviewer", passed=False, text=c.refuse_reason))
    if decision is Decision.REFUSED and state.status != "contested":
        reason = f"{reason[: 500 - len(OBJECTION_ROUTE) - 2]}; {OBJECTION_ROUTE}"
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
            on_time=on_time(c.at, due),
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


_RULES: Rules[AidCase] = {
    ReceiveApplication: _receive_application,
    ReceiveNotice: _receive_notice,
    Review: _review,
    Contest: _contest,
    RequestSupplement: _request_supplement,
    ReceiveSupplement: _receive_supplement,
    Assign: _assign,
    Close: _close,
    ReviewQuality: _review_quality,
    PaySubsidy: _pay_subsidy,
    GrantNotaryFeeWaiver: _grant_notary_fee_waiver,
    # 随单评价 (seed 004): once the case is closed (its quality review and subsidy may still follow)
    EvaluateCase: evaluation_rule(AidCaseEvaluated, lambda s: s.closed_at is not None),
}


decide = decide_by_type(_RULES, lambda command, _state: ValidationFailed(f"unknown command {type(command).__name__}"))


# -- evolve ------------------------------------------------------------------------------------------------------------


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
        case SupplementRequested():
            return replace(state, supplements=(*state.supplements, (event.requested_at, None)))
        case SupplementReceived():
            requested = state.supplements[-1][0]
            return replace(state, supplements=(*state.supplements[:-1], (requested, event.received_at)))
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
        case AidCaseEvaluated():
            return replace(state, satisfaction=event.satisfaction)
        case NotaryFeeWaiverGranted():
            waiver = FeeWaiver(event.notary_matter, event.waiver, event.granted_at)
            return replace(state, fee_waivers=(*state.fee_waivers, waiver))
    return state


decider: Decider[AidCase] = Decider("legal_aid_case", AidCase, decide, evolve)
