"""Working days in the office's calendar (China Standard Time, 法定节假日 and 调休) and the 15-working-day issuance
deadline (公证程序规则)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from pydantic import BaseModel, ConfigDict, model_validator

from shared.contracts.common import ShortText

#: China Standard Time: deadlines and certificate years follow the office's calendar, not UTC.
CST = timezone(timedelta(hours=8), "CST")
ISSUE_WITHIN_WORKING_DAYS = 15


class HolidayCalendar(BaseModel):
    """Public holidays (法定节假日) and adjusted working days (调休: weekend days that are worked)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: ShortText = "none"
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    @model_validator(mode="after")
    def _disjoint(self) -> HolidayCalendar:
        both = self.holidays & self.workdays
        if both:
            raise ValueError(f"dates both holiday and working day: {sorted(both)}")
        return self

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5


def local_date(at: datetime) -> date:
    return at.astimezone(CST).date()


def add_working_days(start: date, days: int, calendar: HolidayCalendar) -> date:
    """The `days`-th working day after `start` (the start day itself is not counted)."""
    current = start
    left = days
    while left > 0:
        current += timedelta(days=1)
        if calendar.is_working_day(current):
            left -= 1
    return current


def working_days_between(start: date, end: date, calendar: HolidayCalendar) -> int:
    """Working days in (start, end]; negative when `end` is before `start` (days overdue)."""
    if end < start:
        return -working_days_between(end, start, calendar)
    count, current = 0, start
    while current < end:
        current += timedelta(days=1)
        count += calendar.is_working_day(current)
    return count


def issuance_due(accepted_at: datetime, calendar: HolidayCalendar) -> date:
    return add_working_days(local_date(accepted_at), ISSUE_WITHIN_WORKING_DAYS, calendar)


def end_of_day(day: date) -> datetime:
    """24:00 China time of `day`: a deadline on that day passes at this instant."""
    return datetime.combine(day + timedelta(days=1), time(0), CST)
