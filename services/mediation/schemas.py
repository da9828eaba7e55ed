"""Mediation's request bodies and response views (the HTTP contract; the domain's commands are in domain/commands.py).

A body may carry `at`, when the act happened (a session written up the next morning): it must carry a timezone
and may not lie in the future beyond the clock skew (`recorded_at`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.calendar import CalendarDate, CalendarDatetime
from shared.contracts.common import CaseId, LongText, PersonRef, ShortText
from shared.contracts.mediation import AckDecision, CommitteeKind, Fulfilment, Source
from shared.contracts.mediation import Outcome as MediationOutcome
from shared.contracts.partners import ReferralKind
from shared.errors import ValidationFailed
from shared.pii import PersonData
from shared.regions import KnownRegion

CLOCK_SKEW = timedelta(minutes=5)
Reference = Annotated[str, Field(min_length=1, max_length=64)]
RegistryId = Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


def recorded_at(at: datetime | None, now: datetime) -> datetime:
    """The time an act counts at: `now`, or the body's `at` for an act recorded after it happened."""
    if at is None:
        return now
    if at > now + CLOCK_SKEW:
        raise ValidationFailed("the act cannot be recorded in the future", field="at")
    return at


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- request bodies -----------------------------------------------------------------------------------------
class PartyIn(Body):
    """A party by pseudonymous reference, or by personal data kept in this service's vault."""

    person_ref: PersonRef | None = None
    person: PersonData | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> PartyIn:
        if (self.person_ref is None) == (self.person is None):
            raise ValueError("give exactly one of person_ref or person")
        return self


class RegisterIn(Body):
    source: Literal[Source.WALK_IN, Source.PETITION] = Source.WALK_IN
    dispute_type: ShortText
    region: KnownRegion
    parties: list[PartyIn] = Field(min_length=1, max_length=50)
    claim: LongText
    complex: bool | None = None
    petition_reference: Reference | None = None
    registered_at: CalendarDatetime | None = None

    @model_validator(mode="after")
    def _petition_reference(self) -> RegisterIn:
        if self.source is Source.PETITION and not self.petition_reference:
            raise ValueError("a petition office referral (访调对接) needs petition_reference")
        return self


class ReferralIn(Body):
    """A partner's referral over HTTP (same fields as the `DisputeReferred` event)."""

    partner_reference: Reference
    kind: ReferralKind
    dispute_type: ShortText
    region: KnownRegion
    parties: list[PersonRef] = Field(min_length=1, max_length=20)
    summary: LongText
    referred_at: CalendarDatetime
    correlation_id: CaseId | None = None


class AssignIn(Body):
    committee_id: ShortText | None = None  # both omitted: the registry proposes a committee and mediator
    mediator_id: ShortText | None = None
    at: CalendarDatetime | None = None


class SessionIn(Body):
    minutes: LongText
    next_session_on: CalendarDate | None = None
    at: CalendarDatetime | None = None


class ExtendIn(Body):
    days: int = Field(ge=1, le=180)
    reason: ShortText
    at: CalendarDatetime | None = None


class AgreementIn(Body):
    terms: LongText
    at: CalendarDatetime | None = None


class ReasonIn(Body):
    reason: ShortText
    at: CalendarDatetime | None = None


class AtIn(Body):
    at: CalendarDatetime | None = None


class RulingIn(Body):
    outcome: Literal[MediationOutcome.CONFIRMED, MediationOutcome.REJECTED]
    reason: ShortText | None = None
    decided_at: CalendarDatetime
    partner_reference: Reference | None = None


class FollowUpIn(Body):
    fulfilment: Fulfilment
    notes: LongText | None = None
    at: CalendarDatetime | None = None


class MediatorIn(Body):
    mediator_id: RegistryId
    display_name: ShortText
    specialisms: list[ShortText] = Field(default_factory=list, max_length=50)
    at: CalendarDatetime | None = None


class CommitteeIn(Body):
    committee_id: RegistryId
    name: ShortText
    kind: CommitteeKind
    regions: list[KnownRegion] = Field(min_length=1, max_length=50)
    dispute_types: list[ShortText] = Field(min_length=1, max_length=50)
    serves: Literal["court", "police", "procuratorate", "petition_office"] | None = None
    at: CalendarDatetime | None = None


class DeactivateIn(Body):
    reason: ShortText
    at: CalendarDatetime | None = None


# -- response views -----------------------------------------------------------------------------------------
class Flags(BaseModel):
    time_limit: Literal["due", "met", "missed"] | None
    confirmation_window: Literal["due", "met", "missed"] | None
    follow_up: Literal["due", "met", "missed"] | None


class DisputeOut(BaseModel):
    dispute_id: str
    status: str
    source: str | None
    region: str
    dispute_type: str
    complex: bool
    parties: list[str]
    referrer: str | None
    partner_reference: str | None
    intake_case_id: str | None
    decline_reason: str | None
    registered_at: datetime | None
    time_limit_days: int
    due_by: datetime | None
    committee_id: str | None
    mediator_id: str | None
    sessions: int
    next_session_on: str | None
    outcome: str | None
    ended_at: datetime | None
    end_reason: str | None
    terms: str | None
    confirmation_deadline: datetime | None
    confirmation_requested_at: datetime | None
    confirmation_outcome: str | None
    window_lapsed: bool
    follow_up_due_by: datetime | None
    fulfilment: str | None
    archived_at: datetime | None
    satisfaction: int | None = None
    flags: Flags
    history: list[str]
    version: int


class CommandOut(BaseModel):
    dispute_id: str
    status: str
    version: int
    duplicate: bool
    correlation_id: str
    events: list[str]


class AckOut(BaseModel):
    dispute_id: str
    decision: AckDecision
    reason: str | None
    correlation_id: str


class DisputeList(BaseModel):
    items: list[DisputeOut]
    count: int
    next: str | None = Field(default=None, description="cursor for the next page (`after=`), none on the last")


class MediatorOut(BaseModel):
    id: str
    display_name: str
    specialisms: list[str]
    active: bool


class CommitteeOut(BaseModel):
    id: str
    name: str
    kind: str
    regions: list[str]
    dispute_types: list[str]
    mediators: list[MediatorOut]


class CommitteeList(BaseModel):
    version: str
    dispute_types: dict[str, str]
    items: list[CommitteeOut]


class RegistryOut(BaseModel):
    committee_id: str
    version: int
    duplicate: bool
    events: list[str]
    mediators: list[MediatorOut]


class SweepOut(BaseModel):
    lapsed: list[str]
