"""Intake's complaints (投诉) and web-reply quality control (质检): events on intake's request stream and its
monthly QC counter stream, apart from the request's own lifecycle (shared/contracts/intake.py).

Request stream (`rq-…`), besides the events of shared/contracts/intake.py:
- `caseflow.intake.web_reply_drawn_for_qc`: drawn for quality inspection (seed 000: ≥3% of answered web
  questions): rule, drawn_at, region; quota draws add month, ordinal, drawn (bucket: the former hash rule only).
- `caseflow.intake.web_reply_inspected`: 质检 result of a drawn reply: result (pass | needs_correction), inspector,
  reason (required for needs_correction), inspected_at, region.
- `caseflow.intake.complaint_handled`: 投诉处理: finding (upheld | partly_upheld | not_upheld), about?, handled_at,
  channel, region.
- `caseflow.intake.complaint_replied`: 投诉反馈 to the complainant: replied_at, due_at, on_time, channel, region.

A complaint (投诉, seed 003: the centre's 投诉受理岗; seed 001: "投诉受理、处理和反馈机制") is a request of
`kind = complaint`, not a stream of its own: it is received on any channel like every request (same person
vault, region and correlation id, same close and evaluation), and instead of being answered, referred or given a
web reply it goes received → `complaint_handled` → `complaint_replied` → `request_closed` (outcome replied) →
`request_evaluated`. Its `reply_due_at` is set at receipt (a period in days, `INTAKE_COMPLAINT_REPLY_DAYS`).

Web-reply QC counter stream (`qc-<region>-<YYYY-MM>`, China month of publication):
- `caseflow.intake.web_reply_counted`: region, month, request_id, ordinal (n-th published reply of the month),
  drawn (whether the quota drew it), counted_at.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from shared.contracts.common import CaseId, Department, RegionCode, ShortText
from shared.contracts.intake import Channel, ExternalRef
from shared.events import Event, event


class ComplaintFinding(StrEnum):
    """What handling a complaint found (投诉处理结论)."""

    UPHELD = "upheld"  # 投诉属实
    PARTLY_UPHELD = "partly_upheld"  # 部分属实
    NOT_UPHELD = "not_upheld"  # 投诉不属实


class QcResult(StrEnum):
    """质检 result of a web reply drawn for inspection (seed 000 indicator 36)."""

    PASS = "pass"
    NEEDS_CORRECTION = "needs_correction"


#: A China calendar month, `YYYY-MM`.
MonthCode = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


# -- request stream ------------------------------------------------------------------------------------------
@event
class WebReplyDrawnForQc(Event):
    """The reply was drawn for quality inspection (质检) by the reproducible rule named in `rule`.

    The monthly quota names the reply's `ordinal` among the region's published replies of `month` and the number
    `drawn` so far including it; `bucket` belongs to the former hash rule (events stored before the quota)."""

    event_type = "caseflow.intake.web_reply_drawn_for_qc"
    rule: str
    bucket: int | None = Field(default=None, ge=0, le=99)
    drawn_at: datetime
    region: RegionCode
    month: MonthCode | None = None
    ordinal: int | None = Field(default=None, ge=1)
    drawn: int | None = Field(default=None, ge=1)


@event
class WebReplyInspected(Event):
    """质检: an inspector's result on a drawn reply; `needs_correction` says why (seed 000 indicator 36)."""

    event_type = "caseflow.intake.web_reply_inspected"
    result: QcResult
    inspector: ExternalRef
    reason: ShortText | None = None
    inspected_at: datetime
    region: RegionCode


@event
class ComplaintHandled(Event):
    """投诉处理: the centre looked into the complaint and reached a finding (seed 003 投诉受理岗)."""

    event_type = "caseflow.intake.complaint_handled"
    finding: ComplaintFinding
    about: Department | None = None  # the service complained about, when it is a department's
    handled_at: datetime
    channel: Channel
    region: RegionCode


@event
class ComplaintReplied(Event):
    """投诉反馈: the complainant was told the outcome; `on_time` when before `due_at` (the reply deadline)."""

    event_type = "caseflow.intake.complaint_replied"
    replied_at: datetime
    due_at: datetime
    on_time: bool
    channel: Channel
    region: RegionCode


# -- web-reply QC counter stream -----------------------------------------------------------------------------
@event
class WebReplyCounted(Event):
    """A published web reply counted in its region's month; `drawn` when the ≥3% quota drew it (seed 000)."""

    event_type = "caseflow.intake.web_reply_counted"
    region: RegionCode
    month: MonthCode
    request_id: CaseId
    ordinal: int = Field(ge=1)
    drawn: bool
    counted_at: datetime
