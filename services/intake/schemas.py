"""Intake's request bodies and response views (the HTTP contract; the domain's commands are in domain/commands.py)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.intake import domain
from shared.contracts.common import Department, LongText, PersonRef, RegionCode
from shared.contracts.intake import AdvisorServiceKind, Channel, ExternalRef, Level, RequestKind, TopicCode
from shared.pii import PersonData


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReceiveBody(Body):
    channel: Channel
    level: Level | None = Field(default=None, description="walk_in only: city | county | town | village")
    region: RegionCode
    kind: RequestKind = RequestKind.CONSULTATION
    topic: TopicCode = Field(description="matter category code, e.g. labour, marriage_family")
    person: PersonData | None = None
    call_id: str | None = Field(default=None, pattern=r"^call-[0-9a-f]{32}$")
    external_reference: ExternalRef | None = None


class WebQuestionBody(Body):
    region: RegionCode
    kind: RequestKind = RequestKind.CONSULTATION
    topic: TopicCode
    person: PersonData | None = None


class AnswerBody(Body):
    on_the_spot: bool = True


class ReferBody(Body):
    to_department: Department
    matter: LongText
    dispute_type: str | None = Field(default=None, min_length=1, max_length=64)
    notary_matter: str | None = Field(default=None, min_length=1, max_length=64)


class EscalateBody(Body):
    to_level: Level
    to_region: RegionCode


class WorkOrderBody(Body):
    deadline_hours: int = Field(default=domain.DEFAULT_WORK_ORDER_HOURS, ge=1, le=24 * 30)


class EvaluateBody(Body):
    satisfaction: int = Field(ge=1, le=5)


class CallBody(Body):
    region: RegionCode
    offered_at: AwareDatetime | None = Field(
        default=None, description="the switchboard's time of the call (a call logged later); default now"
    )


class AnswerCallBody(Body):
    answered_at: AwareDatetime | None = Field(
        default=None, description="the switchboard's time of the answer (not before the offer); default now"
    )


class AssignBody(Body):
    advisor_id: ExternalRef


class ServiceLogBody(Body):
    advisor_id: ExternalRef
    hours: float = Field(gt=0, le=24)
    kind: AdvisorServiceKind
    served_on: date


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
    escalated_to_level: Level | None
    escalated_to_region: str | None
    work_order_due_at: datetime | None
    work_order_completed_at: datetime | None
    work_order_on_time: bool | None
    work_order_open: bool
    reply_minutes: int | None
    qc_drawn: bool
    closed_at: datetime | None
    outcome: str | None
    satisfaction: int | None
    correlation_id: str | None = None


class CallView(BaseModel):
    call_id: str
    version: int
    status: str
    region: str
    offered_at: datetime
    wait_seconds: int | None


class VillageView(BaseModel):
    village_region: str
    version: int
    advisor_id: str | None
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


class VillageList(BaseModel):
    items: list[VillageView]
    count: int
    next: str | None = Field(default=None, description="cursor for the next page (`after=`), none on the last")
