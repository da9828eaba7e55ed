"""Statutory deadlines in calendar days (China time), across month and year ends; the 24 h forwarding check."""

from datetime import UTC, datetime, timedelta

import pytest

from services.legal_aid.domain import CHINA, assignment_due, deadline_status, forwarding_due, review_due


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHINA)


@pytest.mark.parametrize(
    ("applied", "due"),
    [
        (cst(2026, 1, 28, 15, 0), cst(2026, 2, 5)),  # across January's end: last day Feb 4
        (cst(2026, 2, 25, 9, 0), cst(2026, 3, 5)),  # February 2026 has 28 days
        (cst(2028, 2, 25, 9, 0), cst(2028, 3, 4)),  # leap year: Feb 29 counts
        (cst(2026, 12, 28, 23, 59), cst(2027, 1, 5)),  # across the year end
        (cst(2026, 4, 30, 0, 0), cst(2026, 5, 8)),  # the day of the application is not counted
    ],
)
def test_review_due_seven_calendar_days(applied, due):
    assert review_due(applied) == due


def test_days_are_counted_in_china_time():
    # 23:30 UTC on Jan 31 is already Feb 1 in China: the 7 days run Feb 2..Feb 8
    assert review_due(datetime(2026, 1, 31, 23, 30, tzinfo=UTC)) == cst(2026, 2, 9)
    assert review_due(datetime(2026, 1, 31, 15, 59, tzinfo=UTC)) == cst(2026, 2, 8)


@pytest.mark.parametrize(
    ("start", "due"),
    [
        (cst(2026, 3, 30, 10), cst(2026, 4, 3)),
        (cst(2026, 2, 27, 10), cst(2026, 3, 3)),
        (cst(2026, 12, 31, 8), cst(2027, 1, 4)),
    ],
)
def test_assignment_due_three_calendar_days(start, due):
    assert assignment_due(start) == due


def test_forwarding_is_24_hours_exactly():
    received = datetime(2026, 5, 31, 22, 0, tzinfo=UTC)
    assert forwarding_due(received) == datetime(2026, 6, 1, 22, 0, tzinfo=UTC)


def test_deadline_status():
    due = cst(2026, 2, 5)
    assert deadline_status(due, due - timedelta(seconds=1), due + timedelta(days=3)) == "met"
    assert deadline_status(due, due, due) == "missed"  # done at 00:00 of the next day is late
    assert deadline_status(due, None, due) == "missed"
    assert deadline_status(due, None, due - timedelta(hours=5)) == "due"
    assert deadline_status(due, None, due - timedelta(days=3)) == "pending"
