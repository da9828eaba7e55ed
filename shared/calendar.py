"""China's calendar and the law's counting of periods, for every department and the metrics service.

- `CHINA`: China Standard Time (UTC+8), the one time zone of every deadline, period and typed date.
- The holiday calendar: the State Council's public holidays and make-up working days (调休) per year, as versioned
  data (`data/cn-holidays.json`, each year naming its notice). A day of a year not in the data raises
  `OutsideCalendar`: the calendar never guesses.
- Periods in days (民法典 arts. 201–203): start the day after the triggering event, end at 24:00 China time of the
  last day; a last day that is a rest day (法定休假日: a public holiday or a weekend day not worked) moves to the
  first working day after it. Periods in working days end at 24:00 of the N-th working day after the event.
  Periods in hours or minutes are exact (art. 201 para. 2).
- A deadline is an instant: an act done strictly before it is on time (`on_time`).

Pure: reads its data file once at import, no clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel

from shared.errors import ValidationFailed

#: China Standard Time: deadlines, calendar periods and the dates people type are China's.
CHINA = timezone(timedelta(hours=8), "CST")
DATA_FILE = Path(__file__).resolve().parent / "data" / "cn-holidays.json"


class OutsideCalendar(ValidationFailed):
    """A date in a year the holiday calendar does not cover: its holidays are unknown, so no deadline is guessed."""

    code = "outside_calendar"

    def __init__(self, day: date, covered: Iterable[int]) -> None:
        years = ", ".join(str(y) for y in sorted(covered))
        super().__init__(
            f"{day.isoformat()} is outside the holiday calendar (covered years: {years}): "
            "its public holidays and make-up working days are not known"
        )
        self.day = day


@dataclass(frozen=True)
class YearNotice:
    """One year's public holidays and make-up working days, with the notice they come from."""

    year: int
    notice: str
    document: str | None
    verified: bool
    holidays: frozenset[date]
    workdays: frozenset[date]


@dataclass(frozen=True)
class ChinaCalendar:
    """Working days and rest days (法定休假日) in the years the data covers."""

    version: str
    years: Mapping[int, YearNotice]

    @property
    def covered(self) -> tuple[int, ...]:
        return tuple(sorted(self.years))

    def notice(self, day: date) -> YearNotice:
        """The year's notice, or `OutsideCalendar` for a year the data does not cover."""
        found = self.years.get(day.year)
        if found is None:
            raise OutsideCalendar(day, self.years)
        return found

    def is_working_day(self, day: date) -> bool:
        year = self.notice(day)
        if day in year.workdays:
            return True
        return day not in year.holidays and day.weekday() < 5

    def is_rest_day(self, day: date) -> bool:
        """法定休假日: a public holiday, or a Saturday or Sunday that is not a make-up working day."""
        return not self.is_working_day(day)


def _year(year: int, raw: Mapping[str, Any]) -> YearNotice:
    holidays = frozenset(date.fromisoformat(d) for d in raw["holidays"])
    workdays = frozenset(date.fromisoformat(d) for d in raw["workdays"])
    strays = sorted(d for d in holidays | workdays if d.year != year)
    if strays or holidays & workdays:
        raise ValueError(f"{year}: dates of another year {strays} or both holiday and working day")
    return YearNotice(year, raw["notice"], raw.get("document"), bool(raw["verified"]), holidays, workdays)


def load_calendar(path: Path = DATA_FILE) -> ChinaCalendar:
    raw = json.loads(path.read_text(encoding="utf-8"))
    years = {int(y): _year(int(y), v) for y, v in raw["years"].items()}
    return ChinaCalendar(version=raw["version"], years=years)


CALENDAR = load_calendar()


# -- China dates -----------------------------------------------------------------------------------------------


def china_date(at: datetime) -> date:
    """The China date of an instant: "today" for a date a person typed is this, not the UTC date."""
    return at.astimezone(CHINA).date()


def end_of_day(day: date) -> datetime:
    """24:00 China time of `day`: a deadline on that day passes at this instant."""
    return datetime.combine(day + timedelta(days=1), time(0), CHINA)


def _covered(value: Any) -> Any:
    day = china_date(value) if isinstance(value, datetime) else value
    if day.year not in CALENDAR.years:
        years = ", ".join(str(y) for y in CALENDAR.covered)
        raise ValueError(f"the date must lie in a year the holiday calendar covers ({years})")
    return value


def uncovered_fields(model: BaseModel) -> list[tuple[str, str]]:
    """(field, reason) for each top-level date or time of `model` in a year the calendar does not cover: a partner's
    request checked before it is accepted, so no deadline is started from a date whose holidays are unknown."""
    out = []
    for name, value in model:
        if isinstance(value, date):
            try:
                _covered(value)
            except ValueError as exc:
                out.append((name, str(exc)))
    return out


#: Request-body types for a time or date that starts a deadline: outside the covered years → 422 naming the field.
CalendarDatetime = Annotated[AwareDatetime, AfterValidator(_covered)]
CalendarDate = Annotated[date, AfterValidator(_covered)]


# -- working days ----------------------------------------------------------------------------------------------


def add_working_days(start: date, days: int, calendar: ChinaCalendar = CALENDAR) -> date:
    """The `days`-th working day after `start` (the start day itself is not counted); 调休 Saturdays count."""
    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        if calendar.is_working_day(current):
            left -= 1
    return current


def working_days_between(start: date, end: date, calendar: ChinaCalendar = CALENDAR) -> int:
    """Working days in (start, end]; negative when `end` is before `start` (days overdue)."""
    if end < start:
        return -working_days_between(end, start, calendar)
    count, current = 0, start
    while current < end:
        current += timedelta(days=1)
        count += calendar.is_working_day(current)
    return count


# -- the law's counting ----------------------------------------------------------------------------------------


def _last_day_end(last_day: date, calendar: ChinaCalendar) -> datetime:
    """民法典 art. 203: a last day that is a rest day moves to the first working day after; it ends at 24:00."""
    while calendar.is_rest_day(last_day):
        last_day += timedelta(days=1)
    return end_of_day(last_day)


def deadline_for_days(start: datetime, days: int, calendar: ChinaCalendar = CALENDAR) -> datetime:
    """End of a period of `days` days after the event at `start` (民法典 arts. 201, 203), as an instant."""
    if days < 1:
        raise ValueError("a period in days lasts at least one day")
    return _last_day_end(china_date(start) + timedelta(days=days), calendar)


def extended_deadline(due: datetime, days: int, calendar: ChinaCalendar = CALENDAR) -> datetime:
    """A period in days that ended at `due` (24:00 of its last day), extended by `days` days."""
    if days < 1:
        raise ValueError("an extension lasts at least one day")
    return _last_day_end(china_date(due) - timedelta(days=1) + timedelta(days=days), calendar)


def deadline_for_working_days(start: datetime, days: int, calendar: ChinaCalendar = CALENDAR) -> datetime:
    """End (24:00 China time) of the `days`-th working day after the event at `start`."""
    return end_of_day(add_working_days(china_date(start), days, calendar))


def deadline_for_duration(start: datetime, *, hours: int = 0, minutes: int = 0) -> datetime:
    """End of a period in hours or minutes: exact, from the event's instant (民法典 art. 201 para. 2)."""
    return start + timedelta(hours=hours, minutes=minutes)


def resumed_deadline(
    start: datetime,
    days: int,
    pauses: Iterable[tuple[datetime, datetime | None]],
    calendar: ChinaCalendar = CALENDAR,
) -> datetime | None:
    """A period in days that stops while the other side acts (法律援助法 art. 43: time spent supplementing
    materials is not counted); None while paused.

    Each pause (requested, received) uses up the days from the period's (re)start to the request day inclusive;
    the rest runs again from the day after receipt. A request on the last day leaves the rest of the receipt day.
    """
    anchor, left = start, days
    for requested, received in sorted(pauses, key=lambda p: p[0]):
        left -= (china_date(requested) - china_date(anchor)).days
        if received is None:
            return None
        anchor = received
    if left < 1:
        return _last_day_end(china_date(anchor), calendar)
    return deadline_for_days(anchor, left, calendar)


def on_time(done_at: datetime, due: datetime) -> bool:
    """An act is on time when done strictly before the deadline instant (24:00 of the last day is the next day)."""
    return done_at < due
