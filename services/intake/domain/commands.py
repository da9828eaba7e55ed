"""What intake can be asked to do, per stream kind: a request's steps (a complaint's among them), a hotline call's,
a village advisor's, a month's QC count."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from services.intake.domain.rules import DEFAULT_COMPLAINT_REPLY_DAYS, DEFAULT_WORK_ORDER_HOURS
from services.intake.domain.state import QcDraw
from shared.contracts.common import CaseId, Department, LongText, PersonRef, ReasonCode, RegionCode, ShortText
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
from shared.evaluation import EvaluateCase
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
    complaint_reply_days: int = Field(default=DEFAULT_COMPLAINT_REPLY_DAYS, ge=1, le=365)
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


class NoteReferralRefusal(Command):
    """The department a request went to refused the referral (shared/referrals.py): the request comes back."""

    refused_by: Department
    reason_code: ReasonCode
    reason: LongText
    field: str | None = None
    refusal_event_id: str
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
    """Publish the reply; `qc_draw` is the month's QC counter's verdict on this reply, when it drew it."""

    qc_draw: QcDraw | None = None
    at: datetime


class InspectWebReply(Command):
    result: QcResult
    inspector: ExternalRef
    reason: ShortText | None = None
    at: datetime


class HandleComplaint(Command):
    finding: ComplaintFinding
    about: Department | None = None
    at: datetime


class ReplyToComplaint(Command):
    at: datetime


class CloseRequest(Command):
    at: datetime


class EvaluateRequest(EvaluateCase):
    """随单评价 of a closed request (the shared rule of every department, shared/evaluation.py)."""


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


# -- a region's monthly web-reply QC counter -----------------------------------------------------------------
class CountWebReply(Command):
    region: RegionCode
    request_id: CaseId
    at: datetime
