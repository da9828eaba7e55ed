"""The aid case's state (`AidCase`, with the deadlines that apply to it so far) and the commands it takes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from services.legal_aid.domain.deadlines import Deadline, assignment_due, forwarding_due, review_due
from services.legal_aid.domain.eligibility import Threshold
from shared.contracts.common import Money, Partner, Share
from shared.contracts.legal_aid import (
    CaseKind,
    Channel,
    Decision,
    ExemptionGround,
    Ground,
    MatterType,
    Outcome,
    ProviderType,
    QualityMethod,
)
from shared.events import Command

# -- state -------------------------------------------------------------------------------------------------------------

Status = Literal[
    "new", "applied", "refused", "contested", "granted", "assigned", "closed", "quality_reviewed", "subsidy_paid"
]


@dataclass(frozen=True)
class FeeWaiver:
    notary_matter: str
    waiver: Decimal
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
    income_per_head: Decimal | None = None
    special_groups: tuple[ExemptionGround, ...] = ()
    applied_at: datetime | None = None
    supplements: tuple[tuple[datetime, datetime | None], ...] = ()  # (requested, received): review clock stopped
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
    subsidy: Decimal | None = None
    fee_waivers: tuple[FeeWaiver, ...] = field(default=())
    satisfaction: int | None = None  # 随单评价, once closed

    @property
    def awaiting_supplement(self) -> bool:
        return bool(self.supplements) and self.supplements[-1][1] is None

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
            out.append(Deadline("review", review_due(self.applied_at, self.supplements), self.decided_at))
        if self.granted_at is not None:
            out.append(Deadline("assignment", assignment_due(self.granted_at), self.assigned_at))
        return out


# -- commands ----------------------------------------------------------------------------------------------------------


class ReceiveApplication(Command):
    """A citizen's application (walk-in, web, intake referral) or a detainee's application forwarded by an organ."""

    kind: Literal[CaseKind.APPLICATION, CaseKind.DETAINEE_FORWARDED] = CaseKind.APPLICATION
    channel: Channel
    region: str
    matter_type: MatterType
    matter: str
    applicant_ref: str | None = None
    opposing_party_refs: tuple[str, ...] = ()
    household_income_per_head: Money | None = None
    special_groups: tuple[ExemptionGround, ...] = ()
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
    household_income_per_head: Money | None = None
    special_groups: tuple[ExemptionGround, ...] | None = None
    refuse_reason: str | None = None


class RequestSupplement(Command):
    """补充材料: ask the applicant for missing materials; the review clock stops until they arrive (art. 43)."""

    missing: str
    at: datetime


class ReceiveSupplement(Command):
    """The requested materials arrived: the review clock runs again."""

    at: datetime


class Contest(Command):
    """异议: the applicant objects to a refusal (once), lodged with the justice bureau (司法行政部门) that set up the
    aid centre (法律援助法 art. 49); its ruling is recorded as the re-review (`on_contest`)."""

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
    amount: Annotated[Money, Field(gt=0)]
    at: datetime


class GrantNotaryFeeWaiver(Command):
    """Flow 7: a granted recipient's notary fee reduced or waived (法律援助法 art. 53); `waiver` is the share."""

    case_id: str
    notary_matter: str
    waiver: Annotated[Share, Field(gt=0)] = Decimal(1)
    at: datetime
