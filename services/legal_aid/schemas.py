"""Legal aid's request bodies and response views (the HTTP contract; the domain's commands are in domain.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shared.calendar import CalendarDatetime
from shared.contracts.common import Money, Partner, PersonRef, Share, ShortText
from shared.contracts.legal_aid import Channel, ExemptionGround, MatterType, ProviderId, ProviderType, QualityMethod
from shared.contracts.legal_aid import Outcome as CaseOutcome
from shared.contracts.notary import MatterId, published_matter
from shared.contracts.partners import ProceedingStage
from shared.pii import PersonData
from shared.regions import KnownRegion

Income = Annotated[Money, Field(description="yuan per household member per month, at most two decimals")]
PartnerReference = Annotated[str, Field(min_length=1, max_length=64)]
Status = Literal["applied", "refused", "contested", "granted", "assigned", "closed", "quality_reviewed", "subsidy_paid"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- ways in -----------------------------------------------------------------------------------------------------


class ApplicationBody(Body):
    channel: Literal[Channel.WALK_IN, Channel.WEB] = Channel.WALK_IN
    region: KnownRegion
    matter_type: MatterType
    matter: ShortText
    applicant: PersonData
    opposing_parties: list[PersonData] = Field(default_factory=list, max_length=20)
    household_income_per_head: Income | None = None
    special_groups: list[ExemptionGround] = Field(
        default_factory=list, max_length=10, description="grounds exempt from the economic test (法律援助法 32, 42)"
    )


class DefenceNoticeBody(Body):
    """通知辩护 / 法律帮助 sent over HTTP by the court, procuratorate or police."""

    kind: Literal["notified_defence", "duty_lawyer"]
    organ: Partner
    partner_reference: PartnerReference
    region: KnownRegion
    defendant_ref: PersonRef
    stage: ProceedingStage
    charge: ShortText
    reason: ShortText | None = None
    notified_at: CalendarDatetime


class DetaineeNoticeBody(Body):
    """A detainee's application, forwarded by the organ holding them."""

    kind: Literal["detainee_application"]
    organ: Partner
    partner_reference: PartnerReference
    region: KnownRegion
    applicant_ref: PersonRef
    matter: ShortText
    received_at: CalendarDatetime
    forwarded_at: CalendarDatetime


NoticeBody = Annotated[DefenceNoticeBody | DetaineeNoticeBody, Field(discriminator="kind")]

# -- case steps --------------------------------------------------------------------------------------------------


class ReviewBody(Body):
    matter_type: MatterType | None = None
    household_income_per_head: Income | None = None
    special_groups: list[ExemptionGround] | None = None
    refuse_reason: ShortText | None = None


class ContestBody(Body):
    grounds: ShortText


class SupplementRequestBody(Body):
    missing: ShortText


class AssignBody(Body):
    provider_id: ProviderId


class CloseBody(Body):
    outcome: CaseOutcome
    summary: ShortText | None = None


class QualityBody(Body):
    score: int = Field(ge=0, le=100)
    method: QualityMethod


class SubsidyBody(Body):
    amount: Annotated[Money, Field(gt=0, le=1_000_000)]


class FeeWaiverBody(Body):
    notary_matter: Annotated[MatterId, AfterValidator(published_matter)]  # checked against notary's published list
    waiver: Annotated[Share, Field(gt=0)] = Decimal(1)


# -- views -------------------------------------------------------------------------------------------------------


class DeadlineView(BaseModel):
    name: str
    due_at: datetime | None  # None while the clock is stopped (awaiting supplementary materials)
    met_at: datetime | None = None
    status: Literal["pending", "due", "met", "missed", "paused"]


class CaseView(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    status: str
    kind: str | None
    channel: str | None
    region: str
    matter_type: str | None
    matter: str
    client_ref: str | None = None
    organ: str | None = None
    partner_reference: str | None = None
    referral_case_id: str | None = None
    applied_at: datetime | None = None
    notified_at: datetime | None = None
    decision: str | None = None
    reason: str | None = None
    grounds: list[dict[str, Any]] = []
    decided_at: datetime | None = None
    granted_at: datetime | None = None
    contested: bool = False
    awaiting_supplement: bool = False
    provider_type: str | None = None
    provider_id: str | None = None
    assigned_at: datetime | None = None
    outcome: str | None = None
    closed_at: datetime | None = None
    quality_score: int | None = None
    quality_method: str | None = None
    subsidy: Money | None = None
    satisfaction: int | None = None
    fee_waivers: list[dict[str, Any]] = []
    deadlines: list[DeadlineView]
    version: int


class ProviderView(BaseModel):
    id: str
    type: ProviderType
    city: str
    capacity: int
    open_cases: int
    available: bool
