"""Statutory deadlines (法律援助法, 2021): review within 7 days of the application (art. 43), assignment within 3
days of the grant or the notice (art. 36), a detainee's application forwarded within 24 hours (art. 39).

Day periods are calendar days in China time: the day of the triggering event is not counted and the period ends
at 24:00 of its last day (民法典 art. 201, 203). Holiday extension is not applied (no holiday calendar yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal

CHINA = timezone(timedelta(hours=8), "CST")
REVIEW_DAYS = 7  # art. 43
ASSIGN_DAYS = 3  # art. 36
FORWARD_HOURS = 24  # art. 39
DUE_SOON = timedelta(days=1)


DeadlineName = Literal["review", "assignment", "forwarding"]
DeadlineStatus = Literal["pending", "due", "met", "missed"]


def _local_day(at: datetime) -> date:
    return at.astimezone(CHINA).date()


def days_deadline(start: datetime, days: int) -> datetime:
    """End (exclusive) of a period of `days` calendar days counted from the day after `start` (China time)."""
    last_day = _local_day(start) + timedelta(days=days)
    return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=CHINA)


def review_due(applied_at: datetime) -> datetime:
    return days_deadline(applied_at, REVIEW_DAYS)


def assignment_due(granted_or_notified_at: datetime) -> datetime:
    return days_deadline(granted_or_notified_at, ASSIGN_DAYS)


def forwarding_due(received_at: datetime) -> datetime:
    return received_at + timedelta(hours=FORWARD_HOURS)


@dataclass(frozen=True)
class Deadline:
    name: DeadlineName
    due_at: datetime  # exclusive: done strictly before this instant is on time
    met_at: datetime | None = None

    def status(self, now: datetime) -> DeadlineStatus:
        return deadline_status(self.due_at, self.met_at, now)


def deadline_status(due_at: datetime, met_at: datetime | None, now: datetime) -> DeadlineStatus:
    if met_at is not None:
        return "met" if met_at < due_at else "missed"
    if now >= due_at:
        return "missed"
    return "due" if due_at - now <= DUE_SOON else "pending"
