"""Statutory deadlines (法律援助法, 2021): review within 7 days of the application (art. 43; time spent supplementing
materials not counted), assignment within 3 days of the grant or the notice (art. 36), a detainee's application
forwarded within 24 hours (art. 39).

Day periods are counted the law's way by `shared.calendar` (民法典 arts. 201–203: from the day after the event to
24:00 China time of the last day, a last day on a rest day moved to the next working day); hours are exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from shared.calendar import deadline_for_days, deadline_for_duration, on_time, resumed_deadline

REVIEW_DAYS = 7  # art. 43
ASSIGN_DAYS = 3  # art. 36
FORWARD_HOURS = 24  # art. 39
DUE_SOON = timedelta(days=1)


DeadlineName = Literal["review", "assignment", "forwarding"]
DeadlineStatus = Literal["pending", "due", "met", "missed", "paused"]


def review_due(applied_at: datetime, supplements: Iterable[tuple[datetime, datetime | None]] = ()) -> datetime | None:
    """The 7-day review's end, the supplement intervals (requested, received) left out; None while awaiting one."""
    return resumed_deadline(applied_at, REVIEW_DAYS, supplements)


def assignment_due(granted_or_notified_at: datetime) -> datetime:
    return deadline_for_days(granted_or_notified_at, ASSIGN_DAYS)


def forwarding_due(received_at: datetime) -> datetime:
    return deadline_for_duration(received_at, hours=FORWARD_HOURS)


@dataclass(frozen=True)
class Deadline:
    name: DeadlineName
    due_at: datetime | None  # exclusive: done strictly before this instant is on time; None while paused
    met_at: datetime | None = None

    def status(self, now: datetime) -> DeadlineStatus:
        return deadline_status(self.due_at, self.met_at, now)


def deadline_status(due_at: datetime | None, met_at: datetime | None, now: datetime) -> DeadlineStatus:
    if due_at is None:
        return "paused"
    if met_at is not None:
        return "met" if on_time(met_at, due_at) else "missed"
    if now >= due_at:
        return "missed"
    return "due" if due_at - now <= DUE_SOON else "pending"
