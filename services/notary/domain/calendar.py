"""The 15-working-day issuance deadline (公证程序规则), counted on the shared China calendar (`shared.calendar`)."""

from __future__ import annotations

from datetime import date, datetime

from shared.calendar import add_working_days, china_date

ISSUE_WITHIN_WORKING_DAYS = 15


def issuance_due(accepted_at: datetime) -> date:
    """The last day to issue: the 15th working day after the day of acceptance (public holidays skipped, 调休
    Saturdays worked)."""
    return add_working_days(china_date(accepted_at), ISSUE_WITHIN_WORKING_DAYS)
