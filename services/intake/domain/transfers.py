"""12348 ↔ 12345 ↔ 110 linkage (热线联动, seeds 002 and 004): transfers out with the other hotline's ticket and
result, and the result of a transfer in told back to the hotline that sent it.

Pure rules on a request the decider has already loaded (decider.py wires them to the commands); `evolve_transfer`
folds the linkage events into the request.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime

from pydantic import Field

from services.intake.domain.commands import ReceiveRequest
from services.intake.domain.rules import DEFAULT_WORK_ORDER_HOURS, work_order_due
from services.intake.domain.state import Request, Status, Transfer
from shared.contracts.common import HOTLINES, Department, Partner, ShortText
from shared.contracts.hotline_linkage import (
    RequestTransferred,
    TransferOutcomeRecorded,
    TransferResultReported,
    TransferTicketRecorded,
)
from shared.contracts.intake import Channel, CloseOutcome, ExternalRef, RequestReceived, WorkOrderOpened
from shared.errors import DomainError, InvalidTransition, ValidationFailed
from shared.events import Command, Event

#: the channel a transfer in arrives on, per hotline that sends it
TRANSFER_CHANNELS = {Partner.HOTLINE_12345: Channel.TRANSFER_12345, Partner.DISPATCH_110: Channel.TRANSFER_110}
#: the hotline a transferred-in request came from (it gets the result back)
SENDING_HOTLINE = {channel: partner for partner, channel in TRANSFER_CHANNELS.items()}
#: requests 12348 may hand on: hotline calls, and calls transferred in that belong to the other hotline
TRANSFER_OUT_CHANNELS = frozenset({Channel.HOTLINE_12348, Channel.TRANSFER_12345, Channel.TRANSFER_110})


class ReceiveTransfer(Command):
    """12345 / 110 → 12348 (转办): the request, opened with a work order (工单) due within the hotline's time limit."""

    request: ReceiveRequest
    deadline_hours: int = Field(default=DEFAULT_WORK_ORDER_HOURS, ge=1, le=24 * 30)


class TransferRequest(Command):
    """Hand an open hotline request to 12345 or 110, saying why and what is asked."""

    to: Partner
    reason: ShortText
    asked: ShortText
    at: datetime


class RecordTransferTicket(Command):
    """The hotline a request was transferred to accepted it under its ticket."""

    to: Partner
    ticket: ExternalRef
    at: datetime


class RecordTransferOutcome(Command):
    """The hotline a request was transferred to reports its result."""

    to: Partner
    ticket: ExternalRef
    outcome: ShortText = Field(max_length=500)
    at: datetime


def transfer_request_id(partner: Partner, ticket: str) -> str:
    """The intake request of a transfer in: one per (hotline, ticket), so a re-sent transfer finds its request."""
    return "rq-" + hashlib.sha256(f"{partner.value}:{ticket}".encode()).hexdigest()[:32]


def is_same_transfer_in(state: Request, channel: Channel, ticket: str | None) -> bool:
    """A transfer in received again (same hotline channel and ticket): nothing changes."""
    return (
        ticket is not None
        and channel in SENDING_HOTLINE
        and (state.channel, state.external_reference)
        == (
            channel,
            ticket,
        )
    )


def transfer_work_order(c: ReceiveTransfer, received: list[Event]) -> list[Event]:
    """The work order of a transfer in (seed 002: 按时办理工单), opened with the request; none for a re-sent one."""
    if c.request.channel not in SENDING_HOTLINE:
        raise ValidationFailed("a transfer in arrives on transfer_12345 or transfer_110", field="channel")
    if not received:
        return []
    assert isinstance(received[0], RequestReceived)
    at, hours = c.request.at, c.deadline_hours
    opened = WorkOrderOpened(
        opened_at=at,
        deadline_hours=hours,
        due_at=work_order_due(at, hours),
        channel=c.request.channel,
        region=c.request.region,
    )
    return [*received, opened]


def result_back(
    s: Request, outcome: CloseOutcome, at: datetime, to_department: Department | None = None
) -> list[Event]:
    """结果反馈: the result of a transfer in, told to the hotline that sent it the first time the request resolves."""
    sender = SENDING_HOTLINE.get(s.channel)
    if sender is None or s.external_reference is None or s.result_reported:
        return []
    return [
        TransferResultReported(
            recipient=sender,
            partner_reference=s.external_reference,
            request_id=s.request_id,
            outcome=outcome,
            to_department=to_department,
            reported_at=at,
        )
    ]


def transfer(c: TransferRequest, s: Request) -> list[Event]:
    """转办 out (the decider has checked the request is open)."""
    if c.to not in HOTLINES:
        raise ValidationFailed("a request is transferred to hotline_12345 or dispatch_110", field="to")
    if s.channel not in TRANSFER_OUT_CHANNELS:
        raise InvalidTransition(
            "transfer", s.status.value, f"only hotline calls are transferred, not {s.channel.value}"
        )
    if SENDING_HOTLINE.get(s.channel) is c.to:
        raise ValidationFailed(f"the call came from {c.to.value}: it is not transferred back", field="to")
    event = RequestTransferred(
        recipient=c.to,
        request_id=s.request_id,
        reason=c.reason,
        asked=c.asked,
        region=s.region,
        kind=s.kind,
        topic=s.topic,
        transferred_at=c.at,
    )
    return [event, *result_back(s, CloseOutcome.TRANSFERRED, c.at)]


def _transferred_to(s: Request, to: Partner, ticket: str) -> Transfer:
    t = s.transfer
    if t is None or t.to is not to:
        raise DomainError(f"request {s.request_id} was not transferred to {to.value}", field="request_id")
    if t.ticket is not None and t.ticket != ticket:
        raise DomainError(f"{to.value} accepted this request under ticket {t.ticket}, not {ticket}", field="ticket")
    return t


def record_ticket(c: RecordTransferTicket, s: Request) -> list[Event]:
    t = _transferred_to(s, c.to, c.ticket)
    if t.ticket is not None:
        return []  # the acceptance again (re-sent): nothing changes
    return [TransferTicketRecorded(to=c.to, ticket=c.ticket, accepted_at=c.at)]


def record_outcome(c: RecordTransferOutcome, s: Request) -> list[Event]:
    t = _transferred_to(s, c.to, c.ticket)
    if t.outcome is not None:
        if t.outcome == c.outcome:
            return []
        raise DomainError(f"{c.to.value} already reported its result for ticket {c.ticket}", field="outcome")
    return [TransferOutcomeRecorded(to=c.to, ticket=c.ticket, outcome=c.outcome, handled_at=c.at)]


def close_problem(s: Request) -> str | None:
    """Why a transferred request cannot close yet: the other hotline has not reported its result."""
    if s.status is Status.TRANSFERRED and (s.transfer is None or s.transfer.outcome is None):
        return "the request waits for the result of the hotline it was transferred to"
    return None


def evolve_transfer(state: Request, event: Event) -> Request:
    match event:
        case RequestTransferred():
            t = Transfer(
                to=event.recipient, reason=event.reason, asked=event.asked, transferred_at=event.transferred_at
            )
            return replace(state, status=Status.TRANSFERRED, transfer=t, resolved_as=CloseOutcome.TRANSFERRED)
        case TransferTicketRecorded() if state.transfer is not None:
            return replace(state, transfer=replace(state.transfer, ticket=event.ticket, accepted_at=event.accepted_at))
        case TransferOutcomeRecorded() if state.transfer is not None:
            t = replace(state.transfer, ticket=event.ticket, outcome=event.outcome, handled_at=event.handled_at)
            return replace(state, transfer=t)
        case TransferResultReported():
            return replace(state, result_reported=True)
    return state
