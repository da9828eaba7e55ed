"""Legal aid (法律援助): events of an aid case (stream id = aid case id, e.g. `la-…`).

Event types, in lifecycle order (every payload is self-describing; times are timezone-aware):
- `caseflow.legal_aid.application_received` ApplicationReceived — opening event of a citizen application or a
  detainee's application forwarded by an organ: region, kind (application | detainee_forwarded), channel,
  matter_type, applied_at (when legal aid received it: the 7-day review clock starts here), applicant_ref; for
  detainees also forwarded_by, partner_reference, received_at (organ receipt; 24 h forwarding clock) and
  forwarded_at.
- `caseflow.legal_aid.defence_notified` DefenceNotified — opening event of a notified defence (通知辩护) or duty
  lawyer (法律帮助) request from court / procuratorate / police: region, kind (notified_defence | duty_lawyer),
  matter_type ("criminal"), notified_at (3-day assignment clock), notified_by, partner_reference. A notified case
  is granted on receipt: there is NO review event for it (count it as granted at notified_at).
- `caseflow.legal_aid.application_reviewed` ApplicationReviewed — decision (granted | refused), decided_at,
  reason (the written explanation, both amounts exact), the eligibility grounds, threshold (Money, when the
  economic test applied), and on_contest (true when it re-decides a contested refusal).
- `caseflow.legal_aid.supplement_requested` SupplementRequested — the reviewer asks the applicant for missing
  materials (补充材料): what is missing, requested_at. The 7-day review clock stops (法律援助法 art. 43).
- `caseflow.legal_aid.supplement_received` SupplementReceived — the materials arrived: received_at, and
  review_due_at, the review deadline with the paused interval left out (the clock runs again).
- `caseflow.legal_aid.refusal_contested` RefusalContested — the applicant objects to a refusal (异议), once; the
  objection is lodged with the justice bureau (司法行政部门) that set up the aid centre, not the centre itself
  (法律援助法 art. 49): lodged_with = "justice_bureau".
- `caseflow.legal_aid.provider_assigned` ProviderAssigned — provider_type (lawyer | grassroots_worker |
  aid_centre_staff), provider_id, assigned_at, and due_at/on_time of the 3-day assignment deadline.
- `caseflow.legal_aid.assignment_notified` AssignmentNotified (a PartnerNotice) — tells the notifying or
  forwarding organ who was assigned (recipient = the organ, partner_reference = its case number).
- `caseflow.legal_aid.case_closed` CaseClosed — outcome, closed_at.
- `caseflow.legal_aid.quality_reviewed` QualityReviewed — score (0–100), method (file_review |
  court_attendance | client_follow_up), reviewed_at.
- `caseflow.legal_aid.subsidy_paid` SubsidyPaid — amount (Money, yuan), paid_at.
- `caseflow.legal_aid.notary_fee_waiver_granted` NotaryFeeWaiverGranted — flow 7 (法律援助法 art. 53), consumed by the
  notary service: aid_case_id, person_ref, notary_matter, waiver (Share of the fee waived), granted_at.
- `caseflow.legal_aid.case_evaluated` AidCaseEvaluated — 随单评价 (seed 004) of a closed case, once: satisfaction
  (1–5), evaluated_at, region (shared.contracts.common.CaseEvaluated).

Amounts are `Money` (shared/contracts/common.py): exact decimals in yuan, at most two places, strings in JSON.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.common import (
    CaseEvaluated,
    CaseId,
    Money,
    Partner,
    PartnerNotice,
    PersonRef,
    RegionCode,
    Share,
    ShortText,
)
from shared.events import Event, event

#: A provider's registry id (a lawyer's licence-based id, a worker's or staff member's id): not personal data.
ProviderId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
PartnerReference = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class CaseKind(StrEnum):
    APPLICATION = "application"  # 公民申请
    NOTIFIED_DEFENCE = "notified_defence"  # 通知辩护
    DUTY_LAWYER = "duty_lawyer"  # 值班律师法律帮助
    DETAINEE_FORWARDED = "detainee_forwarded"  # 被羁押人申请, 由办案机关转交


class Channel(StrEnum):
    WALK_IN = "walk_in"
    WEB = "web"
    INTAKE_REFERRAL = "intake_referral"
    PARTNER = "partner"


class MatterType(StrEnum):
    """Matters legal aid covers (法律援助法 art. 24–25, 31; seed 004 补充事项) and a few it does not."""

    CRIMINAL = "criminal"
    STATE_COMPENSATION = "state_compensation"  # 国家赔偿
    SOCIAL_INSURANCE = "social_insurance"  # 社会保险待遇
    SOCIAL_ASSISTANCE = "social_assistance"  # 最低生活保障、社会救助
    PENSION_RELIEF = "pension_relief"  # 抚恤金
    MAINTENANCE = "maintenance"  # 赡养费、抚养费、扶养费
    WAGES = "wages"  # 劳动报酬
    INJURY_COMPENSATION = "injury_compensation"  # 工伤、交通事故等人身损害赔偿
    FAMILY = "family"  # 婚姻家庭
    FOOD_AND_DRUG = "food_and_drug"  # 食品药品
    EDUCATION_MEDICAL = "education_medical"  # 教育医疗
    ENVIRONMENT = "environment"  # 环境污染、生态破坏损害赔偿
    HERO_HONOUR = "hero_honour"  # 英雄烈士人格权益
    COMMERCIAL = "commercial"  # 商事纠纷: not in scope
    OTHER = "other"  # not in scope
    UNSPECIFIED = "unspecified"  # a referral before the reviewer classified it


class ExemptionGround(StrEnum):
    """Why an applicant skips the economic test, each ground its own source (the domain's `EXEMPTIONS` cites it):
    法律援助法 art. 32 (不受经济困难条件的限制), art. 42 (免予核查经济困难状况), and groups a seed policy adds
    under art. 32(5) / 42(4) (seed 001). Stored events keep the values they were written with: add, never rename."""

    HERO_MARTYR_RELATIVE = "hero_martyr_relative"  # 英雄烈士近亲属维护英雄烈士人格权益 (art. 32(1))
    BRAVE_ACT = "brave_act"  # 因见义勇为行为主张相关民事权益 (art. 32(2))
    RETRIAL_ACQUITTAL = "retrial_acquittal"  # 再审改判无罪请求国家赔偿 (art. 32(3))
    ABUSE_VICTIM = "abuse_victim"  # 遭受虐待、遗弃或者家庭暴力的受害人 (art. 32(4))
    MINOR_WITHOUT_INCOME = "minor_without_income"  # 无固定生活来源的未成年人 (art. 42(1))
    ELDERLY_WITHOUT_INCOME = "elderly_without_income"  # 无固定生活来源的老年人 (art. 42(1))
    DISABLED_WITHOUT_INCOME = "disabled_without_income"  # 无固定生活来源的残疾人 (art. 42(1))
    SOCIAL_ASSISTANCE_RECIPIENT = "social_assistance_recipient"  # 社会救助对象 (art. 42(2))
    JUDICIAL_ASSISTANCE_RECIPIENT = "judicial_assistance_recipient"  # 司法救助对象 (art. 42(2))
    SERVICEMAN_FAMILY = "serviceman_family"  # 优抚对象: 军人军属、烈属、伤残军人 (art. 42(2))
    MIGRANT_WORKER = "migrant_worker"  # 进城务工人员, wages or work-injury claims only (art. 42(3))
    DISTRESSED_CHILD = "distressed_child"  # 困境儿童 (seed 001)
    SEVERELY_DISABLED = "severely_disabled"  # 重度残疾人 (seed 001)
    SERIOUSLY_ILL = "seriously_ill"  # 重病患者 (seed 001)


class Decision(StrEnum):
    GRANTED = "granted"
    REFUSED = "refused"


class ProviderType(StrEnum):
    LAWYER = "lawyer"
    GRASSROOTS_WORKER = "grassroots_worker"  # 基层法律服务工作者
    AID_CENTRE_STAFF = "aid_centre_staff"  # 法律援助机构工作人员


class Outcome(StrEnum):
    JUDGMENT = "judgment"
    SETTLED = "settled"
    MEDIATED = "mediated"
    WITHDRAWN = "withdrawn"
    TERMINATED = "terminated"  # 终止法律援助
    ADVICE_GIVEN = "advice_given"  # duty lawyer help completed


class QualityMethod(StrEnum):
    FILE_REVIEW = "file_review"  # 案卷评查
    COURT_ATTENDANCE = "court_attendance"  # 旁听庭审
    CLIENT_FOLLOW_UP = "client_follow_up"  # 回访受援人


class Ground(BaseModel):
    """One line of the eligibility explanation (rule id + human text): a value inside ApplicationReviewed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    passed: bool
    text: ShortText


@event
class ApplicationReceived(Event):
    event_type = "caseflow.legal_aid.application_received"
    kind: CaseKind  # application | detainee_forwarded
    channel: Channel
    region: RegionCode
    matter_type: MatterType
    matter: ShortText
    applicant_ref: PersonRef | None = None
    opposing_party_refs: list[PersonRef] = Field(default_factory=list, max_length=20)
    household_income_per_head: Money | None = None  # yuan per household member per month
    special_groups: list[ExemptionGround] = Field(default_factory=list, max_length=10)  # grounds claimed
    applied_at: datetime
    referral_case_id: CaseId | None = None  # the intake case this came from
    forwarded_by: Partner | None = None
    partner_reference: PartnerReference | None = None
    received_at: datetime | None = None  # detainee: when the organ received the application
    forwarded_at: datetime | None = None


@event
class DefenceNotified(Event):
    event_type = "caseflow.legal_aid.defence_notified"
    kind: CaseKind  # notified_defence | duty_lawyer
    region: RegionCode
    matter_type: MatterType = MatterType.CRIMINAL
    defendant_ref: PersonRef
    notified_by: Partner
    partner_reference: PartnerReference
    stage: ShortText
    charge: ShortText
    reason: ShortText | None = None
    notified_at: datetime


@event
class ApplicationReviewed(Event):
    event_type = "caseflow.legal_aid.application_reviewed"
    decision: Decision
    reason: ShortText
    grounds: list[Ground] = Field(default_factory=list, max_length=20)
    matter_type: MatterType
    threshold: Money | None = None  # yuan per head per month applied by the economic test
    on_contest: bool = False
    decided_at: datetime


@event
class RefusalContested(Event):
    event_type = "caseflow.legal_aid.refusal_contested"
    grounds: ShortText
    contested_at: datetime
    lodged_with: Literal["justice_bureau"] = "justice_bureau"  # 司法行政部门 (法律援助法 art. 49)


@event
class SupplementRequested(Event):
    """补充材料: the review waits for the applicant; the time until the materials arrive is not counted (art. 43)."""

    event_type = "caseflow.legal_aid.supplement_requested"
    missing: ShortText
    requested_at: datetime


@event
class SupplementReceived(Event):
    event_type = "caseflow.legal_aid.supplement_received"
    received_at: datetime
    review_due_at: datetime  # the 7-day review's end, the supplement intervals left out


@event
class ProviderAssigned(Event):
    event_type = "caseflow.legal_aid.provider_assigned"
    provider_type: ProviderType
    provider_id: ProviderId
    assigned_at: datetime
    due_at: datetime
    on_time: bool


@event
class AssignmentNotified(PartnerNotice):
    """指派通知: tells the notifying / forwarding organ which provider took the case."""

    event_type = "caseflow.legal_aid.assignment_notified"
    aid_case_id: CaseId
    provider_type: ProviderType
    provider_id: ProviderId
    assigned_at: datetime


@event
class CaseClosed(Event):
    event_type = "caseflow.legal_aid.case_closed"
    outcome: Outcome
    summary: ShortText | None = None
    closed_at: datetime


@event
class QualityReviewed(Event):
    event_type = "caseflow.legal_aid.quality_reviewed"
    score: int = Field(ge=0, le=100)
    method: QualityMethod
    reviewed_at: datetime


@event
class SubsidyPaid(Event):
    event_type = "caseflow.legal_aid.subsidy_paid"
    amount: Annotated[Money, Field(gt=0)]  # yuan
    paid_at: datetime


@event
class NotaryFeeWaiverGranted(Event):
    """Flow 7: an aid recipient's notarisation for this aid matter has its fee reduced or waived (法律援助法 art. 53:
    公证机构应当对受援人减收或者免收公证费)."""

    event_type = "caseflow.legal_aid.notary_fee_waiver_granted"
    aid_case_id: CaseId
    person_ref: PersonRef
    notary_matter: ShortText  # matter catalogue id the waiver covers
    waiver: Annotated[Share, Field(gt=0)] = Decimal(1)  # share of the standard fee waived: 1 = full, 0.5 = halved
    granted_at: datetime


@event
class AidCaseEvaluated(CaseEvaluated):
    """随单评价: the aid recipient rated the closed case (1–5), once (seed 004)."""

    event_type = "caseflow.legal_aid.case_evaluated"
