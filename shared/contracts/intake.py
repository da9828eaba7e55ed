"""Intake (公共法律服务中心 / 12348): events of a citizen's request. Extended by the intake service."""

from __future__ import annotations

from shared.contracts.common import Department, LongText, PersonRef, RegionCode
from shared.events import Event, event


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
