"""What intake can be asked to do, per stream kind: a request's steps, a hotline call's, a village advisor's."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from services.intake.domain.rules import DEFAULT_WORK_ORDER_HOURS
from shared.contracts.common import CaseId, Department, LongText, PersonRef, RegionCode
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
from shared.events import Command


# -- a request -----------------------------------------------------------------------------------------------
class ReceiveRequest(Command):
    request_id: CaseId
    channel: Channel
    level: Level | None = None
    region: RegionCode
    kind: RequestKind
    topic: TopicCode
    person_ref: PersonRef | None = None
    call_id: CaseId | None = None
    external_reference: ExternalRef | None = None
    at: datetime


class AnswerRequest(Command):
    on_the_spot: bool = True
    at: datetime


class ReferRequest(Command):
    to_department: Department
    matter: LongText
    dispute_type: str | None = Field(default=None, min_length=1, max_length=64)
    notary_matter: str | None = Field(default=None, min_length=1, max_length=64)
    at: datetime


class EscalateRequest(Command):
    to_level: Level
    to_region: RegionCode
    at: datetime


class OpenWorkOrder(Command):
    deadline_hours: int = Field(default=DEFAULT_WORK_ORDER_HOURS, ge=1, le=24 * 30)
    at: datetime


class CompleteWorkOrder(Command):
    at: datetime


class PublishWebReply(Command):
    at: datetime


class CloseRequest(Command):
    at: datetime


class EvaluateRequest(Command):
    satisfaction: int = Field(ge=1, le=5)
    at: datetime


# -- a hotline call ------------------------------------------------------------------------------------------
class OfferCall(Command):
    """A 12348 hotline call, or a live consultation (实时咨询, 002) on the web platform, waits to be connected."""

    call_id: CaseId
    region: RegionCode
    line: CallLine = Channel.HOTLINE_12348
    at: datetime


class AnswerCall(Command):
    at: datetime


class AbandonCall(Command):
    at: datetime


# -- a village's legal advisor -------------------------------------------------------------------------------
class AssignAdvisor(Command):
    village_region: RegionCode
    advisor_id: ExternalRef
    advisor_kind: AdvisorKind | None = None
    at: datetime


class UnassignAdvisor(Command):
    village_region: RegionCode
    at: datetime


class LogAdvisorService(Command):
    village_region: RegionCode
    advisor_id: ExternalRef
    hours: float = Field(gt=0, le=24)
    kind: AdvisorServiceKind
    served_on: date
    on_site: bool = True
    at: datetime
