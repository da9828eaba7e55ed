"""People's mediation (人民调解): events of a dispute. Defined by the mediation service.

Event types (all `caseflow.mediation.<name>`, version 1; stream id = dispute id; every time tz-aware):
- dispute_registered: first event of a dispute: region, source (walk_in|intake|police_110|court_pre_litigation|
  procuratorate_reconciliation|petition), dispute_type, registered_at, complex flag, parties (PersonRef), claim,
  referrer (court|police|procuratorate|intake|petition_office|None), partner_reference, intake_case_id,
  time_limit_days, due_by (per-source time limit, e.g. pre-litigation 30 days). dispute_id also in payload.
- referral_acknowledged (PartnerNotice → referring organ): decision accepted|declined, reason, acknowledged_at,
  region, source, dispute_type. A declined partner referral's stream holds only this event (no registration).
- intake_referral_declined: an intake referral that could not be placed (reason, declined_at, region, intake_case_id).
- mediator_assigned: committee_id, committee_kind (village|town|trade|stationed), mediator_id, assigned_at.
- session_held: session_no, held_at, minutes (text), next_session_on (optional).
- time_limit_extended: new due_by, extended_at, reason (by the parties' consent).
- agreement_signed: terms, ended_at, outcome="agreement", confirmation_deadline (ended_at + 30 days, 人民调解法
  art. 33), follow_up_due_by (complex disputes only).
- mediation_failed: reason, ended_at, outcome="failed".
- dispute_withdrawn: reason, ended_at, outcome="withdrawn".
- outcome_notified (PartnerNotice → referring organ; emitted beside the ending/ruling event, so metrics should
  count endings from agreement_signed/mediation_failed/dispute_withdrawn, not from this): outcome
  agreement|failed|withdrawn|confirmed|rejected, at, dispute_id.
- confirmation_requested (PartnerNotice → court): requested_at, terms, parties, region, confirmation_deadline.
- confirmation_decided: outcome confirmed|rejected, reason, decided_at, court_reference (the court's ruling).
- confirmation_window_lapsed: deadline, lapsed_at (30 days passed without a confirmation request).
- follow_up_visited: fulfilment fulfilled|partly|not, visited_at, notes (回访; once per agreement; required
  before archiving a complex dispute's agreement, optional for others).
- dispute_archived: archived_at, final_status.
- dispute_evaluated: 随单评价 (seed 004) of an archived dispute, once: satisfaction (1–5), evaluated_at, region
  (shared.contracts.common.CaseEvaluated).
Registry streams (`committee-<id>`, not disputes; metrics may ignore them): committee_registered (committee_id,
name, kind, region = first covered region, regions, dispute_types, serves, registered_at), mediator_registered
(mediator_id, committee_id, display_name, specialisms, registered_at), mediator_deactivated (mediator_id,
committee_id, reason, deactivated_at).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from shared.contracts.common import (
    REFERRING_ORGANS,
    CaseEvaluated,
    CaseId,
    LongText,
    Partner,
    PartnerNotice,
    PersonRef,
    RegionCode,
    ShortText,
)
from shared.events import Event, event


class Source(StrEnum):
    """How a dispute reached the committee (纠纷来源)."""

    WALK_IN = "walk_in"  # 当事人申请 / 主动调解
    INTAKE = "intake"  # 12348 / 公共法律服务中心 referral
    POLICE_110 = "police_110"  # 警调对接
    COURT_PRE_LITIGATION = "court_pre_litigation"  # 诉前调解 / 委派调解
    PROCURATORATE_RECONCILIATION = "procuratorate_reconciliation"  # 检调对接
    PETITION = "petition"  # 访调对接 (信访部门)


class Referrer(StrEnum):
    """Who referred the dispute and gets acknowledgements and outcomes back."""

    COURT = "court"
    POLICE = "police"
    PROCURATORATE = "procuratorate"
    INTAKE = "intake"
    PETITION_OFFICE = "petition_office"


class CommitteeKind(StrEnum):
    VILLAGE = "village"  # 村(居)人民调解委员会
    TOWN = "town"  # 乡镇(街道)人民调解委员会
    TRADE = "trade"  # 行业性、专业性人民调解委员会 (医疗, 交通, 物业, 劳动, 退役军人 …)
    STATIONED = "stationed"  # 派驻调解室 (驻法院 / 驻派出所 / 驻检察院 / 驻信访)


class AckDecision(StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"


class Outcome(StrEnum):
    AGREEMENT = "agreement"  # 调解成功, 达成协议
    FAILED = "failed"  # 调解不成
    WITHDRAWN = "withdrawn"  # 当事人撤回
    CONFIRMED = "confirmed"  # 司法确认有效
    REJECTED = "rejected"  # 司法确认驳回


class Fulfilment(StrEnum):
    FULFILLED = "fulfilled"  # 履行完毕
    PARTLY = "partly"  # 部分履行
    NOT = "not"  # 未履行


@event
class DisputeRegistered(Event):
    """纠纷受理登记: the dispute's first event, self-describing for metrics."""

    event_type = "caseflow.mediation.dispute_registered"
    dispute_id: CaseId
    region: RegionCode
    source: Source
    dispute_type: ShortText
    registered_at: datetime
    complex: bool  # 疑难复杂纠纷: gets a follow-up visit (回访)
    parties: list[PersonRef] = Field(min_length=1, max_length=50)
    claim: LongText
    referrer: Referrer | None = None
    partner_reference: str | None = None
    intake_case_id: CaseId | None = None
    time_limit_days: int = Field(ge=1, le=365)
    due_by: datetime


@event
class ReferralAcknowledged(PartnerNotice):
    """Receipt of a partner referral (回执): accepted, or declined with the reason."""

    event_type = "caseflow.mediation.referral_acknowledged"
    recipients = REFERRING_ORGANS
    dispute_id: CaseId
    decision: AckDecision
    reason: ShortText | None = None
    acknowledged_at: datetime
    region: RegionCode
    source: Source
    dispute_type: ShortText


@event
class IntakeReferralDeclined(Event):
    """An intake referral no committee can take (intake reads this from the mediation topic)."""

    event_type = "caseflow.mediation.intake_referral_declined"
    dispute_id: CaseId
    intake_case_id: CaseId
    reason: ShortText
    declined_at: datetime
    region: RegionCode
    dispute_type: ShortText


@event
class MediatorAssigned(Event):
    event_type = "caseflow.mediation.mediator_assigned"
    committee_id: ShortText
    committee_kind: CommitteeKind
    mediator_id: ShortText
    assigned_at: datetime


@event
class SessionHeld(Event):
    """A mediation session (调解会) with its minutes (调解笔录); repeatable."""

    event_type = "caseflow.mediation.session_held"
    session_no: int = Field(ge=1)
    held_at: datetime
    minutes: LongText
    next_session_on: date | None = None


@event
class TimeLimitExtended(Event):
    """The parties consent to mediating beyond the source's time limit (经当事人同意延长)."""

    event_type = "caseflow.mediation.time_limit_extended"
    extended_at: datetime
    due_by: datetime
    reason: ShortText


@event
class AgreementSigned(Event):
    """调解协议: ends the mediation; the parties may apply for judicial confirmation within 30 days (art. 33)."""

    event_type = "caseflow.mediation.agreement_signed"
    terms: LongText
    ended_at: datetime
    outcome: Outcome = Outcome.AGREEMENT
    confirmation_deadline: datetime
    follow_up_due_by: datetime | None = None  # complex disputes only


@event
class MediationFailed(Event):
    event_type = "caseflow.mediation.mediation_failed"
    reason: ShortText
    ended_at: datetime
    outcome: Outcome = Outcome.FAILED


@event
class DisputeWithdrawn(Event):
    event_type = "caseflow.mediation.dispute_withdrawn"
    reason: ShortText
    ended_at: datetime
    outcome: Outcome = Outcome.WITHDRAWN


@event
class OutcomeNotified(PartnerNotice):
    """The result told to the referring organ (调解结果反馈), on its outbound topic."""

    event_type = "caseflow.mediation.outcome_notified"
    recipients = REFERRING_ORGANS
    dispute_id: CaseId
    outcome: Outcome
    at: datetime
    reason: ShortText | None = None
    terms: LongText | None = None


@event
class ConfirmationRequested(PartnerNotice):
    """申请司法确认: addressed to the court; the court answers with `JudicialConfirmationDecided`."""

    event_type = "caseflow.mediation.confirmation_requested"
    recipients = frozenset({Partner.COURT})
    dispute_id: CaseId
    requested_at: datetime
    region: RegionCode
    dispute_type: ShortText
    parties: list[PersonRef]
    terms: LongText
    confirmation_deadline: datetime


@event
class ConfirmationDecided(Event):
    """The court's ruling on the agreement, recorded on the dispute."""

    event_type = "caseflow.mediation.confirmation_decided"
    outcome: Outcome  # confirmed | rejected
    reason: ShortText | None = None
    decided_at: datetime
    court_reference: str | None = None


@event
class ConfirmationWindowLapsed(Event):
    """30 days passed after the agreement without a confirmation request."""

    event_type = "caseflow.mediation.confirmation_window_lapsed"
    deadline: datetime
    lapsed_at: datetime


@event
class FollowUpVisited(Event):
    """回访: whether the agreement was carried out."""

    event_type = "caseflow.mediation.follow_up_visited"
    fulfilment: Fulfilment
    visited_at: datetime
    notes: LongText | None = None


@event
class DisputeArchived(Event):
    """立卷归档."""

    event_type = "caseflow.mediation.dispute_archived"
    archived_at: datetime
    final_status: ShortText


@event
class CommitteeRegistered(Event):
    """A mediation committee enters the registry (or a seed committee is adopted from the reference data)."""

    event_type = "caseflow.mediation.committee_registered"
    committee_id: ShortText
    name: ShortText
    kind: CommitteeKind
    region: RegionCode  # the first covered region, so every stream's first event can be placed
    regions: list[RegionCode] = Field(min_length=1, max_length=50)
    dispute_types: list[ShortText] = Field(min_length=1, max_length=50)
    serves: ShortText | None = None  # stationed committees: court | police | procuratorate | petition_office
    registered_at: datetime


@event
class MediatorRegistered(Event):
    event_type = "caseflow.mediation.mediator_registered"
    mediator_id: ShortText
    committee_id: ShortText
    display_name: ShortText
    specialisms: list[ShortText] = Field(default_factory=list, max_length=50)
    registered_at: datetime


@event
class MediatorDeactivated(Event):
    event_type = "caseflow.mediation.mediator_deactivated"
    mediator_id: ShortText
    committee_id: ShortText
    reason: ShortText
    deactivated_at: datetime


__all__ = [
    "CommitteeRegistered",
    "MediatorDeactivated",
    "MediatorRegistered",
    "AckDecision",
    "AgreementSigned",
    "CommitteeKind",
    "ConfirmationDecided",
    "ConfirmationRequested",
    "ConfirmationWindowLapsed",
    "DisputeArchived",
    "DisputeRegistered",
    "DisputeWithdrawn",
    "FollowUpVisited",
    "Fulfilment",
    "IntakeReferralDeclined",
    "MediationFailed",
    "MediatorAssigned",
    "Outcome",
    "OutcomeNotified",
    "Partner",
    "Referrer",
    "SessionHeld",
    "Source",
    "TimeLimitExtended",
]


@event
class DisputeEvaluated(CaseEvaluated):
    """随单评价: a party rated the archived mediation (1–5), once (seed 004)."""

    event_type = "caseflow.mediation.dispute_evaluated"
