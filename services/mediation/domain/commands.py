"""What mediation can be asked to do, from registering a dispute to archiving it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from services.mediation.domain.deadlines import DEFAULT_FOLLOW_UP_DAYS
from shared.contracts.common import CaseId, LongText, PersonRef, RegionCode, ShortText
from shared.contracts.mediation import CommitteeKind, Fulfilment, Outcome, Referrer, Source
from shared.events import Command


class RegisterDispute(Command):
    """Open a dispute from any source; a partner or intake referral no committee can take is declined."""

    dispute_id: CaseId
    at: datetime
    source: Source
    dispute_type: ShortText
    region: RegionCode
    parties: list[PersonRef] = Field(min_length=1, max_length=50)
    claim: LongText
    complex: bool | None = None  # None: judged from the type and the number of parties
    referrer: Referrer | None = None
    partner_reference: str | None = Field(default=None, max_length=64)
    intake_case_id: CaseId | None = None
    time_limit_days: int = Field(ge=1, le=365)
    not_covered: str | None = None  # why no committee can take it (from reference data), None when one can


class CommitteeFit(Command):
    """Reference data of the chosen committee and mediator, looked up by the handler."""

    committee_id: ShortText
    committee_kind: CommitteeKind
    regions: list[RegionCode]
    dispute_types: list[str]
    mediator_id: ShortText
    mediator_committee_id: ShortText
    mediator_active: bool = True


class AssignMediator(Command):
    at: datetime
    fit: CommitteeFit


class HoldSession(Command):
    at: datetime
    minutes: LongText
    next_session_on: date | None = None


class ExtendTimeLimit(Command):
    at: datetime
    days: int = Field(ge=1, le=180)
    reason: ShortText


class SignAgreement(Command):
    at: datetime
    terms: LongText
    follow_up_days: int = Field(default=DEFAULT_FOLLOW_UP_DAYS, ge=1, le=365)


class FailMediation(Command):
    at: datetime
    reason: ShortText


class Withdraw(Command):
    at: datetime
    reason: ShortText


class RequestConfirmation(Command):
    at: datetime


class RecordConfirmation(Command):
    at: datetime
    outcome: Literal[Outcome.CONFIRMED, Outcome.REJECTED]
    reason: ShortText | None = None
    court_reference: str | None = Field(default=None, max_length=64)


class RecordWindowLapse(Command):
    at: datetime


class RecordFollowUp(Command):
    at: datetime
    fulfilment: Fulfilment
    notes: LongText | None = None


class Archive(Command):
    at: datetime
