"""The shared China calendar and the law's counting of periods (民法典 arts. 200–203), with the holiday data of the
State Council's notices."""

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import BaseModel, ValidationError

from shared.calendar import (
    CALENDAR,
    CHINA,
    CalendarDate,
    CalendarDatetime,
    OutsideCalendar,
    add_working_days,
    china_date,
    deadline_for_days,
    deadline_for_duration,
    deadline_for_working_days,
    end_of_day,
    extended_deadline,
    load_calendar,
    on_time,
    resumed_deadline,
    working_days_between,
)


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHINA)


def test_china_is_utc_plus_eight():
    """The seeds' jurisdictions are all in China: China Standard Time, UTC+8, no daylight saving."""
    assert CHINA.utcoffset(None) == timedelta(hours=8)


def test_period_starts_the_day_after_the_event_and_ends_at_midnight():
    """民法典 art. 201: the day of the event is not counted; art. 203 para. 2: the last day ends at 24:00."""
    # Tue 3 March 2026 at 23:59: the 7 days are 4..10 March; 10 March ends at 24:00 (= 11 March 00:00 China time)
    assert deadline_for_days(cst(2026, 3, 3, 23, 59), 7) == cst(2026, 3, 11)
    assert deadline_for_days(cst(2026, 3, 3, 0, 0), 7) == cst(2026, 3, 11)


def test_period_in_days_counts_china_dates_not_utc_dates():
    """民法典 art. 201 with the China calendar: 20:00 UTC on 2 March is already 3 March in China."""
    assert deadline_for_days(datetime(2026, 3, 2, 20, 0, tzinfo=UTC), 7) == cst(2026, 3, 11)


def test_last_day_on_a_public_holiday_moves_to_the_first_working_day_after():
    """民法典 art. 203 para. 1: a 7-day review whose last day is 1 Oct 2026 (国庆, off 1–7 Oct per
    国办发明电〔2025〕7号) ends on Thu 8 Oct, the first working day after the holiday,
    at 24:00 (= 9 Oct 00:00 China time)."""
    due = deadline_for_days(cst(2026, 9, 24, 10, 0), 7)
    assert due == cst(2026, 10, 9)
    assert due == end_of_day(date(2026, 10, 8))


def test_last_day_on_a_weekend_moves_to_monday():
    """民法典 art. 203: 法定休假日 includes the weekly rest days (Saturday and Sunday), see docs/decisions/0007."""
    # Mon 2 March + 5 days = Sat 7 March: moves to Mon 9 March
    assert deadline_for_days(cst(2026, 3, 2, 9), 5) == cst(2026, 3, 10)


def test_make_up_working_day_is_a_working_day():
    """国办发明电〔2025〕7号: Sat 10 Oct 2026 is worked (调休), so a period whose last day it is ends that day; and it
    counts as a working day."""
    assert deadline_for_days(cst(2026, 10, 3, 12), 7) == cst(2026, 10, 11)
    assert CALENDAR.is_working_day(date(2026, 10, 10)) and not CALENDAR.is_working_day(date(2026, 10, 11))
    # Fri 9 Oct → the next working day is Sat 10 Oct (调休), not Mon 12 Oct
    assert add_working_days(date(2026, 10, 9), 1) == date(2026, 10, 10)


def test_working_days_skip_public_holidays_and_count_make_up_days():
    """公证程序规则 art. 35 (15 working days) on the 2026 notice: 25–27 Sep and 1–7 Oct off, 10 Oct worked."""
    assert add_working_days(date(2026, 9, 24), 15) == date(2026, 10, 22)
    assert deadline_for_working_days(cst(2026, 9, 24, 15), 15) == cst(2026, 10, 23)
    assert working_days_between(date(2026, 9, 24), date(2026, 10, 22)) == 15
    assert working_days_between(date(2026, 10, 22), date(2026, 9, 24)) == -15


def test_2025_notice_dates():
    """国办发明电〔2024〕12号: 春节 28 Jan – 4 Feb 2025 off, 26 Jan and 8 Feb worked; 国庆中秋 1–8 Oct off, 11 Oct
    worked."""
    assert not CALENDAR.is_working_day(date(2025, 1, 28)) and not CALENDAR.is_working_day(date(2025, 2, 4))
    assert CALENDAR.is_working_day(date(2025, 1, 26)) and CALENDAR.is_working_day(date(2025, 2, 8))
    assert not CALENDAR.is_working_day(date(2025, 10, 8)) and CALENDAR.is_working_day(date(2025, 10, 11))
    assert CALENDAR.years[2025].document == "国办发明电〔2024〕12号" and CALENDAR.years[2025].verified


def test_every_covered_year_names_its_notice_and_unverified_years_say_so():
    """Each year's data comes from 国务院办公厅关于20XX年部分节假日安排的通知; a year whose notice could not be
    checked is marked unverified."""
    assert CALENDAR.covered == (2025, 2026, 2027)
    for year, notice in CALENDAR.years.items():
        assert notice.notice == f"国务院办公厅关于{year}年部分节假日安排的通知"
        assert notice.verified == (notice.document is not None)
    assert CALENDAR.years[2026].document == "国办发明电〔2025〕7号"


def test_a_date_outside_the_covered_years_is_an_error_not_a_guess():
    """The calendar never guesses: the holidays of an uncovered year are unknown, so no deadline is computed."""
    with pytest.raises(OutsideCalendar) as err:
        deadline_for_days(cst(2028, 3, 1, 9), 7)
    assert "2028-03-08" in err.value.message and "2025, 2026, 2027" in err.value.message
    assert err.value.code == "outside_calendar" and err.value.http_status == 422
    with pytest.raises(OutsideCalendar):
        add_working_days(date(2027, 12, 20), 15)  # runs into 2028


def test_request_body_types_refuse_an_uncovered_year_naming_the_field():
    """Bad input: a date outside the calendar in a body is refused by validation, naming the field and the rule."""

    class Body(BaseModel):
        at: CalendarDatetime
        on: CalendarDate | None = None

    assert Body(at=cst(2026, 5, 1, 9)).at == cst(2026, 5, 1, 9)
    with pytest.raises(ValidationError) as err:
        Body(at=cst(2026, 5, 1, 9), on=date(2030, 1, 1))
    [problem] = err.value.errors()
    assert problem["loc"] == ("on",) and "holiday calendar covers (2025, 2026, 2027)" in problem["msg"]
    with pytest.raises(ValidationError):
        Body(at=datetime(2024, 12, 31, 15, 30, tzinfo=UTC))  # 23:30 on 31 Dec 2024 in China: not covered
    assert Body(at=datetime(2024, 12, 31, 16, 30, tzinfo=UTC)).at.year == 2024  # 00:30 on 1 Jan 2025 in China


def test_hour_periods_are_exact():
    """民法典 art. 201 para. 2: a period in hours runs from the event's instant (24-hour forwarding, 300 minutes)."""
    at = cst(2026, 9, 30, 18, 5)
    assert deadline_for_duration(at, hours=24) == cst(2026, 10, 1, 18, 5)  # a holiday changes nothing
    assert deadline_for_duration(at, minutes=300) == cst(2026, 9, 30, 23, 5)


def test_on_time_is_strictly_before_the_deadline_instant():
    """民法典 art. 203 para. 2: the last day ends at 24:00; 00:00 of the next day is already late."""
    due = cst(2026, 3, 11)
    assert on_time(due - timedelta(seconds=1), due)
    assert not on_time(due, due)


def test_extension_adds_days_to_the_last_day():
    """An agreed extension of N days moves the last day N days on, counted like any period (民法典 art. 203)."""
    due = deadline_for_days(cst(2026, 3, 2, 17), 30)  # last day Wed 1 April
    assert due == cst(2026, 4, 2)
    assert extended_deadline(due, 15) == cst(2026, 4, 17)  # last day Thu 16 April
    assert extended_deadline(due, 3) == cst(2026, 4, 8)  # Sat 4 April → 清明 4–6 April → Tue 7 April


def test_supplement_time_is_not_counted():
    """法律援助法 art. 43: time spent supplementing materials does not count toward the 7-day review."""
    applied = cst(2026, 3, 2, 10)  # Mon; without a pause the review ends 24:00 Mon 9 March
    assert resumed_deadline(applied, 7, []) == cst(2026, 3, 10)
    # asked on Wed 4 March (2 days used), materials in on Fri 13 March: 5 days left, 14..18 March
    assert resumed_deadline(applied, 7, [(cst(2026, 3, 4, 15), None)]) is None  # paused
    assert resumed_deadline(applied, 7, [(cst(2026, 3, 4, 15), cst(2026, 3, 13, 11))]) == cst(2026, 3, 19)
    # asked on the day of the application: the full 7 days run from the receipt
    assert resumed_deadline(applied, 7, [(cst(2026, 3, 2, 11), cst(2026, 3, 5, 9))]) == deadline_for_days(
        cst(2026, 3, 5, 9), 7
    )
    # two pauses add up: 1 day used by 3 March, 5 more by 10 March, the last day is Fri 13 March
    two = [(cst(2026, 3, 3, 9), cst(2026, 3, 5, 9)), (cst(2026, 3, 10, 9), cst(2026, 3, 12, 9))]
    assert resumed_deadline(applied, 7, two) == cst(2026, 3, 14)
    # a request on the last day leaves the rest of the receipt day
    assert resumed_deadline(applied, 7, [(cst(2026, 3, 9, 9), cst(2026, 3, 11, 10))]) == cst(2026, 3, 12)


def test_china_date_of_an_early_morning_instant():
    """A date a person types is a China date: 07:30 China time is 23:30 UTC of the day before."""
    morning = cst(2026, 3, 10, 7, 30)
    assert china_date(morning) == date(2026, 3, 10) and morning.astimezone(UTC).date() == date(2026, 3, 9)


def test_loader_refuses_a_day_both_holiday_and_working_day(tmp_path):
    """A date cannot be both a rest day and a make-up working day of the same notice."""
    path = tmp_path / "cal.json"
    path.write_text(
        '{"version": "t", "years": {"2026": {"notice": "n", "verified": false,'
        ' "holidays": ["2026-01-04"], "workdays": ["2026-01-04"]}}}'
    )
    with pytest.raises(ValueError, match="both"):
        load_calendar(path)
