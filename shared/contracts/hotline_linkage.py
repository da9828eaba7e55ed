"""Intake's 12348 ↔ 12345 ↔ 110 linkage events (热线联动, seeds 002 and 004), on the request stream (`rq-…`).

Defined by the intake service (`caseflow.intake.<name>`, version 1); the partner side is in
`shared.contracts.partners` (`call_transferred`, `transfer_accepted`, `transfer_handled`).
- `request_transferred` (PartnerNotice → hotline_12345 | dispatch_110): 12348 hands a request over: request_id,
  reason, asked (what the other hotline is asked to do), region, kind, topic, transferred_at.
- `transfer_ticket_recorded`: the other hotline accepted: to, ticket (its reference), accepted_at.
- `transfer_outcome_recorded`: the other hotline's result: to, ticket, outcome, handled_at.
- `transfer_result_reported` (PartnerNotice → the hotline that transferred the call in, its ticket as
  partner_reference): the first of answered | referred | transferred | escalated-and-closed, once per transfer:
  request_id, outcome, to_department (referrals), reported_at.
"""

from __future__ import annotations

from datetime import datetime

from shared.contracts.common import HOTLINES, CaseId, Department, Partner, PartnerNotice, RegionCode, ShortText
from shared.contracts.intake import CloseOutcome, ExternalRef, RequestKind, TopicCode
from shared.events import Event, event


@event
class RequestTransferred(PartnerNotice):
    """转办: 12348 hands a request to 12345 or 110, which answers with its ticket and later its result."""

    event_type = "caseflow.intake.request_transferred"
    recipients = HOTLINES
    request_id: CaseId
    reason: ShortText
    asked: ShortText
    region: RegionCode
    kind: RequestKind
    topic: TopicCode
    transferred_at: datetime


@event
class TransferTicketRecorded(Event):
    """The hotline a request was transferred to accepted it under its own ticket."""

    event_type = "caseflow.intake.transfer_ticket_recorded"
    to: Partner
    ticket: ExternalRef
    accepted_at: datetime


@event
class TransferOutcomeRecorded(Event):
    """The result the hotline reported for a transferred request (办理结果)."""

    event_type = "caseflow.intake.transfer_outcome_recorded"
    to: Partner
    ticket: ExternalRef
    outcome: ShortText
    handled_at: datetime


@event
class TransferResultReported(PartnerNotice):
    """结果反馈: what became of a call 12345 or 110 transferred in, told back under its ticket, once."""

    event_type = "caseflow.intake.transfer_result_reported"
    recipients = HOTLINES
    request_id: CaseId
    outcome: CloseOutcome
    to_department: Department | None = None
    reported_at: datetime
