"""The statutory and agreed periods of a dispute: the 30-day window for judicial confirmation (司法确认), the
source's time limit, the follow-up visit (回访), and whether each was met."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

CONFIRMATION_WINDOW_DAYS = 30  # 人民调解法 art. 33: apply to the court within 30 days of the agreement taking effect
DEFAULT_FOLLOW_UP_DAYS = 30

DeadlineStatus = Literal["due", "met", "missed"]


def confirmation_deadline(signed_at: datetime) -> datetime:
    """Last moment to apply for judicial confirmation (司法确认): 30 days after the agreement."""
    return signed_at + timedelta(days=CONFIRMATION_WINDOW_DAYS)


def time_limit_due(registered_at: datetime, days: int) -> datetime:
    return registered_at + timedelta(days=days)


def follow_up_due(ended_at: datetime, days: int = DEFAULT_FOLLOW_UP_DAYS) -> datetime:
    return ended_at + timedelta(days=days)


def deadline_status(deadline: datetime | None, done_at: datetime | None, now: datetime) -> DeadlineStatus | None:
    """met when done by the deadline; missed when done late or still open after it; due while open in time."""
    if deadline is None:
        return None
    if done_at is not None:
        return "met" if done_at <= deadline else "missed"
    return "missed" if now > deadline else "due"
