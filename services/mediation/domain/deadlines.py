"""The statutory and agreed periods of a dispute: the 30-day window for judicial confirmation (司法确认), the
source's time limit, the follow-up visit (回访), and whether each was met.

Every period is in days, counted the law's way by `shared.calendar` (民法典 arts. 201–203): from the day after the
act to 24:00 China time of the last day, a last day on a rest day moved to the next working day.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from shared.calendar import deadline_for_days, extended_deadline, on_time

CONFIRMATION_WINDOW_DAYS = 30  # 人民调解法 art. 33: apply to the court within 30 days of the agreement taking effect
DEFAULT_FOLLOW_UP_DAYS = 30

DeadlineStatus = Literal["due", "met", "missed"]


def confirmation_deadline(signed_at: datetime) -> datetime:
    """End of the 30-day window for judicial confirmation (司法确认): a request before this instant is in time."""
    return deadline_for_days(signed_at, CONFIRMATION_WINDOW_DAYS)


def time_limit_due(registered_at: datetime, days: int) -> datetime:
    return deadline_for_days(registered_at, days)


def time_limit_extended(due_by: datetime, days: int) -> datetime:
    return extended_deadline(due_by, days)


def follow_up_due(ended_at: datetime, days: int = DEFAULT_FOLLOW_UP_DAYS) -> datetime:
    return deadline_for_days(ended_at, days)


def deadline_status(deadline: datetime | None, done_at: datetime | None, now: datetime) -> DeadlineStatus | None:
    """met when done before the deadline; missed when done late or still open at it; due while open in time."""
    if deadline is None:
        return None
    if done_at is not None:
        return "met" if on_time(done_at, deadline) else "missed"
    return "missed" if now >= deadline else "due"
