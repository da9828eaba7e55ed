"""Notary's request bodies and response views (the HTTP contract; the domain's commands are in domain/)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.calendar import CalendarDatetime
from shared.contracts.common import CaseId, LongText, Money, PersonRef, ShortText
from shared.contracts.notary import MaterialId, MatterId, OfficeCode
from shared.contracts.partners import CommissionKind
from shared.pii import PersonData
from shared.regions import KnownRegion

PartnerReference = Annotated[str, Field(min_length=1, max_length=64)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApplicationBody(Body):
    region: KnownRegion
    office: OfficeCode
    matter: MatterId
    applicant_ref: PersonRef | None = None
    applicant: PersonData | None = None  # stored encrypted in this service's vault; only the ref travels
    materials_supplied: list[MaterialId] = Field(default_factory=list, max_length=50)
    aid_case_id: CaseId | None = None
    in_person: bool = True

    @model_validator(mode="after")
    def _one_applicant(self) -> ApplicationBody:
        if (self.applicant_ref is None) == (self.applicant is None):
            raise ValueError("give exactly one of applicant_ref or applicant")
        return self


class MaterialsBody(Body):
    materials: list[MaterialId] = Field(min_length=1, max_length=50)
    in_person: bool = False


class RefuseBody(Body):
    reason: LongText


class AssessFeeBody(Body):
    waiver_aid_case_id: CaseId | None = None  # the aid case the applicant presents, if not linked at application
    proceed_without_waiver: bool = False


class IssueBody(Body):
    collected_in_person: bool = False


class FeedbackBody(Body):
    partner_reference: PartnerReference
    certificate_no: ShortText
    adopted: bool
    reason: ShortText | None = None
    decided_at: CalendarDatetime


class CommissionBody(Body):
    partner_reference: PartnerReference
    kind: CommissionKind
    region: KnownRegion
    details: LongText
    due_by: CalendarDatetime | None = None
    commissioned_at: CalendarDatetime


class PerformBody(Body):
    summary: LongText


class FeedbackView(BaseModel):
    partner_reference: str | None
    adopted: bool
    reason: str | None


class ApplicationView(BaseModel):
    application_id: str
    status: str
    region: str
    office: str
    matter: str
    matter_name: str
    applicant_ref: str
    required: list[str]
    supplied: list[str]
    missing: list[str]
    notice_given: list[str] | None
    aid_case_id: str | None
    visits: int
    one_trip: bool
    applied_at: datetime | None
    accepted_at: datetime | None
    due_on: date | None
    working_days_left: int | None = None
    overdue: bool = False
    refused_reason: str | None
    standard_fee: Money
    charged_fee: Money | None
    waived: bool
    aid_linked: bool
    aid_link_verified: bool = False  # legal aid vouched for the aid claim (its waiver registry names the applicant)
    certificate_no: str | None
    issued_at: datetime | None
    satisfaction: int | None = None
    feedback: list[FeedbackView]


class ApplicationList(BaseModel):
    items: list[ApplicationView]
    count: int


class CommissionView(BaseModel):
    commission_id: str
    status: str
    partner_reference: str | None
    kind: str | None
    region: str
    details: str
    due_by: datetime | None
    commissioned_at: datetime | None
    accepted_at: datetime | None
    summary: str | None
    performed_at: datetime | None
    reported_at: datetime | None


class MaterialView(BaseModel):
    id: str
    name_zh: str
    name_en: str


class MatterView(BaseModel):
    id: str
    name_zh: str
    name_en: str
    standard_fee: Money
    materials: list[MaterialView]


class CatalogueView(BaseModel):
    version: str
    matters: list[MatterView]
