"""Court commissions (法院委托): a court's commission accepted → performed → reported back. The stream id is derived
from the court's reference, so HTTP and Kafka deliveries of the same commission land on one stream."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from shared.contracts.common import LongText, Partner, RegionCode, ShortText
from shared.contracts.notary import CommissionAccepted, CommissionPerformed, CommissionReported
from shared.contracts.partners import CommissionKind
from shared.decider import Decider
from shared.errors import InvalidTransition
from shared.events import Command, Event

CommissionStatus = Literal["new", "accepted", "performed", "reported"]


@dataclass(frozen=True)
class Commission:
    status: CommissionStatus = "new"
    partner_reference: str | None = None
    kind: CommissionKind | None = None
    region: str = ""
    details: str = ""
    due_by: datetime | None = None
    commissioned_at: datetime | None = None
    accepted_at: datetime | None = None
    summary: str | None = None
    performed_at: datetime | None = None
    reported_at: datetime | None = None


class AcceptCommission(Command):
    partner_reference: ShortText
    kind: CommissionKind
    region: RegionCode
    details: LongText
    due_by: datetime | None = None
    commissioned_at: datetime
    at: datetime


class PerformCommission(Command):
    summary: LongText
    at: datetime


class ReportCommission(Command):
    at: datetime


def _decide_commission(command: Command, state: Commission) -> list[Event]:
    match command:
        case AcceptCommission():
            if state.status != "new":
                if state.partner_reference == command.partner_reference and state.kind == command.kind:
                    return []  # the same commission again (over HTTP and Kafka): accepted once
                raise InvalidTransition("accept", state.status, "a different commission has this reference")
            return [
                CommissionAccepted(
                    recipient=Partner.COURT,
                    partner_reference=command.partner_reference,
                    kind=command.kind,
                    region=command.region,
                    details=command.details,
                    due_by=command.due_by,
                    commissioned_at=command.commissioned_at,
                    accepted_at=command.at,
                )
            ]
        case PerformCommission():
            if state.status != "accepted":
                raise InvalidTransition("perform", state.status)
            return [CommissionPerformed(summary=command.summary, performed_at=command.at)]
        case ReportCommission():
            if state.status != "performed":
                raise InvalidTransition("report", state.status, "the commission must be performed first")
            assert state.kind is not None and state.summary is not None and state.performed_at is not None
            return [
                CommissionReported(
                    recipient=Partner.COURT,
                    partner_reference=state.partner_reference,
                    kind=state.kind,
                    summary=state.summary,
                    performed_at=state.performed_at,
                    reported_at=command.at,
                )
            ]
    raise TypeError(f"not a commission command: {type(command).__name__}")


def _evolve_commission(state: Commission, event: Event) -> Commission:
    match event:
        case CommissionAccepted():
            return Commission(
                status="accepted",
                partner_reference=event.partner_reference,
                kind=event.kind,
                region=event.region,
                details=event.details,
                due_by=event.due_by,
                commissioned_at=event.commissioned_at,
                accepted_at=event.accepted_at,
            )
        case CommissionPerformed():
            return replace(state, status="performed", summary=event.summary, performed_at=event.performed_at)
        case CommissionReported():
            return replace(state, status="reported", reported_at=event.reported_at)
    return state


commission = Decider("notary_commission", Commission, _decide_commission, _evolve_commission)


def commission_stream(partner_reference: str) -> str:
    """Stream id of a court's commission, derived from the court's reference so HTTP and Kafka deliveries of the
    same commission land on one stream (the reference may hold characters a stream id may not)."""
    return f"notary-commission-{hashlib.sha256(partner_reference.encode()).hexdigest()[:24]}"
