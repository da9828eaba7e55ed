"""A dispute's state: its status, the groups of statuses the rules speak of, and everything recorded so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from shared.contracts.common import Partner
from shared.contracts.mediation import CommitteeKind, Fulfilment, Outcome, Referrer, Source


class Status(StrEnum):
    NEW = "new"
    DECLINED = "declined"  # referral not taken; the stream holds only the acknowledgement
    REGISTERED = "registered"  # awaiting assignment (待指派)
    ASSIGNED = "assigned"
    IN_MEDIATION = "in_mediation"  # at least one session held
    AGREEMENT = "agreement"
    CONFIRMATION_REQUESTED = "confirmation_requested"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"
    ARCHIVED = "archived"


ACTIVE = frozenset({Status.REGISTERED, Status.ASSIGNED, Status.IN_MEDIATION})
WITH_MEDIATOR = frozenset({Status.ASSIGNED, Status.IN_MEDIATION})
AGREED = frozenset({Status.AGREEMENT, Status.CONFIRMATION_REQUESTED, Status.CONFIRMED, Status.REJECTED})
ARCHIVABLE = frozenset({Status.AGREEMENT, Status.CONFIRMED, Status.REJECTED, Status.FAILED, Status.WITHDRAWN})


@dataclass(frozen=True)
class Dispute:
    status: Status = Status.NEW
    dispute_id: str = ""
    source: Source | None = None
    region: str = ""
    dispute_type: str = ""
    complex: bool = False
    parties: tuple[str, ...] = ()
    claim: str = ""
    referrer: Referrer | None = None
    partner_reference: str | None = None
    intake_case_id: str | None = None
    registered_at: datetime | None = None
    last_act_at: datetime | None = None
    time_limit_days: int = 0
    due_by: datetime | None = None
    decline_reason: str | None = None
    committee_id: str | None = None
    committee_kind: CommitteeKind | None = None
    mediator_id: str | None = None
    sessions: int = 0
    last_session_at: datetime | None = None
    next_session_on: date | None = None
    outcome: Outcome | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    terms: str | None = None
    confirmation_deadline: datetime | None = None
    confirmation_requested_at: datetime | None = None
    confirmation_decided_at: datetime | None = None
    confirmation_outcome: Outcome | None = None
    window_lapsed: bool = False
    follow_up_due_by: datetime | None = None
    fulfilment: Fulfilment | None = None
    followed_up_at: datetime | None = None
    archived_at: datetime | None = None
    satisfaction: int | None = None  # 随单评价, once archived
    history: tuple[str, ...] = field(default=())  # event types, for the view's timeline

    @property
    def partner(self) -> Partner | None:
        """The organ to notify, when the referrer is a partner with an outbound topic."""
        try:
            return Partner(self.referrer.value) if self.referrer is not None else None
        except ValueError:
            return None


def initial_state() -> Dispute:
    return Dispute()
