"""Intake (公共法律服务中心 / 12348): events of a citizen's request, hotline calls and village legal advisors.

Every payload is self-describing (metrics folds them without reading other events). Stream ids: `rq-…` for a
request (the intake case id, also the correlation id of everything downstream), `call-…` for a hotline call,
`adv-<village region>` for a village/community's advisor registry entry. Times are timezone-aware.

Request stream (`rq-…`):
- `caseflow.intake.request_received`: first event: request_id, channel (walk_in | hotline_12348 | web_12348 |
  transfer_12345 | transfer_110), level (city | county | town | village; walk_in only, else null), region
  (12 digits), kind (consultation | help | complaint), topic, received_at, person_ref?, call_id?, external_reference?
  (for web_12348 this is the web question being posted), reply_due_at? (complaints only: the reply deadline).
- `caseflow.intake.request_answered`: answered on the spot (当场办结): answered_at, on_the_spot, channel, region,
  kind? (the request's kind: a `help` request answered on the spot is a dispute resolved at intake, 001).
- `caseflow.intake.request_referred`: to_department, matter, person_ref, region, dispute_type | notary_matter.
- `caseflow.intake.referral_refusal_noted`: the receiving department refused the referral (its
  `caseflow.platform.referral_refused`): refused_by, reason_code, reason, field?, refused_at, refusal_event_id, region.
- `caseflow.intake.request_escalated`: hotline/web → walk-in: from_channel, to_level, to_region, escalated_at.
- `caseflow.intake.work_order_opened`: hotline/transfer work order: opened_at, deadline_hours, due_at, channel, region.
- `caseflow.intake.work_order_completed`: completed_at, due_at, on_time (completed_at <= due_at).
- `caseflow.intake.web_reply_published`: web question answered: posted_at, published_at, minutes (ceil), region.
- `caseflow.intake.request_closed`: closed_at, outcome (answered | referred | escalated | replied |
  transferred), handling_seconds.
- 12345 / 110 transfers out and in (request_transferred, transfer_ticket_recorded, transfer_outcome_recorded,
  transfer_result_reported): shared/contracts/hotline_linkage.py.
- `caseflow.intake.request_evaluated`: 随单评价, once per case: satisfaction (1–5), evaluated_at, channel, region.
- complaints (投诉) and web-reply quality control (质检), on this stream and a monthly QC counter stream:
  shared/contracts/intake_review.py.

Call stream (`call-…`): a 12348 hotline call, or a live consultation (实时咨询, 002) on the web platform:
- `caseflow.intake.call_offered`: call_id, line (hotline_12348 | web_12348), region, offered_at.
- `caseflow.intake.call_answered`: answered_at, wait_seconds, region.
- `caseflow.intake.call_abandoned`: abandoned_at, wait_seconds, region.

Village legal advisor stream (`adv-<village region>`, 村居法律顾问):
- `caseflow.intake.advisor_assigned`: village_region, advisor_id, previous_advisor_id?, assigned_at, advisor_kind?
  (lawyer | grassroots_worker | other: the advisor's qualification, 000 indicator 18).
- `caseflow.intake.advisor_unassigned`: village_region, advisor_id, unassigned_at.
- `caseflow.intake.advisor_service_logged`: village_region, advisor_id, hours, kind (consultation | legal_opinion |
  publicity_lecture | document_drafting | dispute_mediation | petition_help), served_on (date), logged_at, on_site
  (true: at the village, 现场; false: by phone or online — 000 asks 4 h on site a month).

"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from shared.contracts.common import (
    CaseEvaluated,
    CaseId,
    Department,
    LongText,
    PersonRef,
    ReasonCode,
    RegionCode,
)
from shared.events import Event, event

#: A matter category code chosen from a list (never free text, so no personal data can slip into events).
TopicCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
#: A reference issued by another hotline (12345 / 110 ticket number) or by the advisor registry.
ExternalRef = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]


class Channel(StrEnum):
    """Where a request came in (三台融合: walk-in, hotline, web; plus joint-hotline transfers)."""

    WALK_IN = "walk_in"
    HOTLINE_12348 = "hotline_12348"
    WEB_12348 = "web_12348"
    TRANSFER_12345 = "transfer_12345"
    TRANSFER_110 = "transfer_110"


def _call_line(channel: Channel) -> Channel:
    if channel not in (Channel.HOTLINE_12348, Channel.WEB_12348):
        raise ValueError("a call is on the hotline (hotline_12348) or a live web consultation (web_12348)")
    return channel


#: The line a call waits on: the 12348 hotline, or the web platform's live consultation (实时咨询, 002).
CallLine = Annotated[Channel, AfterValidator(_call_line)]


class Level(StrEnum):
    """Walk-in platform level: 市中心, 县中心, 乡镇工作站, 村居工作室."""

    CITY = "city"
    COUNTY = "county"
    TOWN = "town"
    VILLAGE = "village"


class RequestKind(StrEnum):
    CONSULTATION = "consultation"  # 咨询
    HELP = "help"  # 求助
    COMPLAINT = "complaint"  # 投诉


class CloseOutcome(StrEnum):
    ANSWERED = "answered"
    REFERRED = "referred"
    ESCALATED = "escalated"
    TRANSFERRED = "transferred"  # handed to 12345 / 110 (shared/contracts/hotline_linkage.py)
    REPLIED = "replied"  # a complaint, once its reply was given


class AdvisorKind(StrEnum):
    """A village legal advisor's qualification (000 indicator 18 counts lawyers and grassroots legal workers)."""

    LAWYER = "lawyer"  # 律师
    GRASSROOTS_WORKER = "grassroots_worker"  # 基层法律服务工作者
    OTHER = "other"  # 其他 (司法所工作人员, 法学专家 …)


class AdvisorServiceKind(StrEnum):
    """Seed 000 indicator 20: what a village/community legal advisor's service hours were spent on."""

    CONSULTATION = "consultation"  # 法律咨询
    LEGAL_OPINION = "legal_opinion"  # 法律意见
    PUBLICITY_LECTURE = "publicity_lecture"  # 法治宣传讲座
    DOCUMENT_DRAFTING = "document_drafting"  # 代写法律文书
    DISPUTE_MEDIATION = "dispute_mediation"  # 参与调解
    PETITION_HELP = "petition_help"  # 协助信访


# -- request stream ------------------------------------------------------------------------------------------
@event
class RequestReceived(Event):
    """A citizen's request came in on a channel; the first event of every intake case."""

    event_type = "caseflow.intake.request_received"
    request_id: CaseId
    channel: Channel
    level: Level | None = None  # walk-in only
    region: RegionCode
    kind: RequestKind
    topic: TopicCode
    received_at: datetime
    person_ref: PersonRef | None = None
    call_id: CaseId | None = None  # the hotline call that raised it
    external_reference: ExternalRef | None = None  # 12345 / 110 ticket number of a transfer in
    reply_due_at: datetime | None = None  # complaints only: the reply deadline


@event
class RequestAnswered(Event):
    """Answered by intake itself; `on_the_spot` is 当场办结 (same visit / same call)."""

    event_type = "caseflow.intake.request_answered"
    answered_at: datetime
    on_the_spot: bool
    channel: Channel
    region: RegionCode
    kind: RequestKind | None = None  # the request's kind (absent on events from before it was carried)


@event
class RequestReferred(Event):
    """Triage referral: the receiving department opens its own case, keeping the intake case's correlation id."""

    event_type = "caseflow.intake.request_referred"
    to_department: Department
    matter: LongText  # what the citizen needs, in the receiving department's terms
    person_ref: PersonRef | None = None
    region: RegionCode
    dispute_type: str | None = None  # for mediation referrals
    notary_matter: str | None = None  # for notary referrals (matter catalogue id)


@event
class ReferralRefusalNoted(Event):
    """The department a request was referred to refused it (its `ReferralRefused`): the request is back with intake,
    "referral refused", on the worklist with the reason, to be referred elsewhere or answered."""

    event_type = "caseflow.intake.referral_refusal_noted"
    refused_by: Department
    reason_code: ReasonCode
    reason: LongText
    field: str | None = None
    refused_at: datetime
    refusal_event_id: str
    region: RegionCode


@event
class RequestEscalated(Event):
    """Hotline/web → walk-in for deeper service (seed 001): the case continues at a centre."""

    event_type = "caseflow.intake.request_escalated"
    from_channel: Channel
    to_level: Level
    to_region: RegionCode
    escalated_at: datetime


@event
class WorkOrderOpened(Event):
    """A hotline (or transferred) request needs follow-up: a work order (工单) with a deadline."""

    event_type = "caseflow.intake.work_order_opened"
    opened_at: datetime
    deadline_hours: int = Field(ge=1)
    due_at: datetime
    channel: Channel
    region: RegionCode


@event
class WorkOrderCompleted(Event):
    event_type = "caseflow.intake.work_order_completed"
    completed_at: datetime
    due_at: datetime
    on_time: bool
    region: RegionCode


@event
class WebReplyPublished(Event):
    """The web platform's reply to a posted question; `minutes` from posting, rounded up."""

    event_type = "caseflow.intake.web_reply_published"
    posted_at: datetime
    published_at: datetime
    minutes: int = Field(ge=0)
    region: RegionCode


@event
class RequestClosed(Event):
    event_type = "caseflow.intake.request_closed"
    closed_at: datetime
    outcome: CloseOutcome
    handling_seconds: int = Field(ge=0)  # received → closed
    channel: Channel
    region: RegionCode


@event
class RequestEvaluated(CaseEvaluated):
    """随单评价: the citizen's satisfaction with this case, once, after it is closed (seed 004)."""

    event_type = "caseflow.intake.request_evaluated"
    channel: Channel


# -- hotline call stream -------------------------------------------------------------------------------------
@event
class CallOffered(Event):
    event_type = "caseflow.intake.call_offered"
    call_id: CaseId
    line: Channel
    region: RegionCode
    offered_at: datetime


@event
class CallAnswered(Event):
    event_type = "caseflow.intake.call_answered"
    answered_at: datetime
    wait_seconds: int = Field(ge=0)
    region: RegionCode


@event
class CallAbandoned(Event):
    event_type = "caseflow.intake.call_abandoned"
    abandoned_at: datetime
    wait_seconds: int = Field(ge=0)
    region: RegionCode


# -- village legal advisor stream ----------------------------------------------------------------------------
@event
class AdvisorAssigned(Event):
    """村居法律顾问 assigned to a village/community (replacing `previous_advisor_id` if any)."""

    event_type = "caseflow.intake.advisor_assigned"
    village_region: RegionCode
    advisor_id: ExternalRef
    previous_advisor_id: ExternalRef | None = None
    assigned_at: datetime
    advisor_kind: AdvisorKind | None = None  # the advisor's qualification, when the registry knows it


@event
class AdvisorUnassigned(Event):
    event_type = "caseflow.intake.advisor_unassigned"
    village_region: RegionCode
    advisor_id: ExternalRef
    unassigned_at: datetime


@event
class AdvisorServiceLogged(Event):
    event_type = "caseflow.intake.advisor_service_logged"
    village_region: RegionCode
    advisor_id: ExternalRef
    hours: float = Field(gt=0, le=24)
    kind: AdvisorServiceKind
    served_on: date
    logged_at: datetime
    on_site: bool = True  # 现场法律服务 at the village (000: 每月…4小时的现场法律服务); false: by phone or online
