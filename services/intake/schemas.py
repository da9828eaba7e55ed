"""Intake's request bodies and response views (the HTTP contract; the domain's commands are in domain/commands.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from services.intake import domain
from shared.calendar import CalendarDate
from shared.contracts.common import Department, LongText, PersonRef, ShortText
from shared.contracts.intake import (
    AdvisorKind,
    AdvisorServiceKind,
    CallLine,
    Channel,
    ExternalRef,
    Level,
    RequestKind,
    TopicCode,
)
from shared.contracts.intake_review import ComplaintFinding, QcResult
from shared.contracts.notary import MatterId, published_matter
from shared.pii import PersonData
from shared.regions import KnownRegion


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReceiveBody(Body):
    channel: Channel
    level: Level | None = Field(default=None, description="walk_in only: city | county | town | village")
    region: KnownRegion
    kind: RequestKind = RequestKind.CONSULTATION
    topic: TopicCode = Field(description="matter category code, e.g. labour, marriage_family")
    person: PersonData | None = None
    call_id: str | None = Field(default=None, pattern=r"^call-[0-9a-f]{32}$")
    external_reference: ExternalRef | None = None


class WebQuestionBody(Body):
    region: KnownRegion
    kind: RequestKind = RequestKind.CONSULTATION
    topic: TopicCode
    person: PersonData | None = None


class AnswerBody(Body):
    on_the_spot: bool = True


class ReferBody(Body):
    to_department: Department
    matter: LongText
    dispute_type: str | None = Field(default=None, min_length=1, max_length=64)
    notary_matter: Annotated[MatterId, AfterValidator(published_matter)] | None = None  # notary's published list


class EscalateBody(Body):
    to_level: Level
    to_region: KnownRegion


class TransferBody(Body):
    """转办: hand the request to the 12345 government hotline or 110 dispatch."""

    to: Literal["hotline_12345", "dispatch_110"]
    reason: ShortText = Field(description="why 12348 hands it over")
    asked: ShortText = Field(description="what the other hotline is asked to do")


class WorkOrderBody(Body):
    deadline_hours: int = Field(default=domain.DEFAULT_WORK_ORDER_HOURS, ge=1, le=24 * 30)


class HandleComplaintBody(Body):
    finding: ComplaintFinding
    about: Department | None = Field(default=None, description="the department whose service is complained about")


class InspectionBody(Body):
    result: QcResult
    inspector: ExternalRef = Field(description="the inspector's staff id")
    reason: ShortText | None = Field(default=None, description="required when the result is needs_correction")


class CallBody(Body):
    region: KnownRegion
    line: CallLine = Field(default=Channel.HOTLINE_12348, description="hotline_12348, or web_12348: 实时咨询 (002)")
    offered_at: AwareDatetime | None = Field(
        default=None, description="the switchboard's time of the call (a call logged later); default now"
    )


class AnswerCallBody(Body):
    answered_at: AwareDatetime | None = Field(
        default=None, description="the switchboard's time of the answer (not before the offer); default now"
    )


class AssignBody(Body):
    advisor_id: ExternalRef
    advisor_kind: AdvisorKind | None = Field(default=None, description="lawyer | grassroots_worker | other")


class ServiceLogBody(Body):
    advisor_id: ExternalRef
    hours: float = Field(gt=0, le=24)
    kind: AdvisorServiceKind
    served_on: CalendarDate
    on_site: bool = Field(default=True, description="at the village (现场); false: by phone or online")


class RequestView(BaseModel):
    request_id: str
    version: int
    status: str
    channel: Channel
    level: Level | None
    region: str
    kind: RequestKind
    topic: str
    received_at: datetime
    person_ref: PersonRef | None
    call_id: str | None
    external_reference: str | None
    referred_to: Department | None
    refused_by: Department | None = None  # the last referral refused: by whom, why (code and text), when
    refusal_code: str | None = None
    refusal_reason: str | None = None
    refused_at: datetime | None = None
    escalated_to_level: Level | None
    escalated_to_region: str | None
    work_order_due_at: datetime | None
    work_order_completed_at: datetime | None
    work_order_on_time: bool | None
    work_order_open: bool
    reply_minutes: int | None
    qc_drawn: bool
    qc_result: QcResult | None = None
    complaint_open: bool = False
    complaint_reply_due_at: datetime | None = None
    complaint_finding: ComplaintFinding | None = None
    complaint_about: Department | None = None
    complaint_replied_at: datetime | None = None
    complaint_reply_on_time: bool | None = None
    closed_at: datetime | None
    outcome: str | None
    satisfaction: int | None
    transferred_to: str | None = None
    transfer_reason: str | None = None
    transfer_asked: str | None = None
    transferred_at: datetime | None = None
    transfer_ticket: str | None = Field(default=None, description="the other hotline's ticket once it accepted")
    transfer_accepted_at: datetime | None = None
    transfer_outcome: str | None = Field(default=None, description="the other hotline's result")
    transfer_handled_at: datetime | None = None
    result_reported: bool = Field(default=False, description="a transfer in's result was told back to its hotline")
    correlation_id: str | None = None


class CallView(BaseModel):
    call_id: str
    version: int
    status: str
    region: str
    offered_at: datetime
    wait_seconds: int | None
    line: str = "hotline_12348"


class VillageView(BaseModel):
    village_region: str
    version: int
    advisor_id: str | None
    advisor_kind: str | None = None
    hours: float
    services: int


class PersonView(BaseModel):
    person_ref: str
    name: str
    id_number: str
    phone: str


class RequestList(BaseModel):
    items: list[RequestView]
    count: int
    next: str | None = Field(default=None, description="cursor for the next page (`after=`), none on the last")


class QcMonthView(BaseModel):
    """A region's web replies published in a China month, drawn for inspection, and the 3% quota (seed 000)."""

    region: str
    month: str
    version: int
    published: int
    drawn: int
    quota: int


class VillageList(BaseModel):
    items: list[VillageView]
    count: int
    next: str | None = Field(default=None, description="cursor for the next page (`after=`), none on the last")
