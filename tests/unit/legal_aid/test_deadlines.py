"""Statutory deadlines in days counted the law's way (China time), across month and year ends and holidays; the
24 h forwarding check."""

from datetime import UTC, datetime, timedelta

import pytest

from services.legal_aid.domain import assignment_due, deadline_status, forwarding_due, review_due
from shared.calendar import CHINA


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHINA)


@pytest.mark.parametrize(
    ("applied", "due"),
    [
        (cst(2026, 1, 28, 15, 0), cst(2026, 2, 5)),  # across January's end: last day Feb 4
        (cst(2026, 2, 25, 9, 0), cst(2026, 3, 5)),  # February 2026 has 28 days
        (cst(2026, 9, 24, 10, 0), cst(2026, 10, 9)),  # last day 1 Oct (国庆): moves to Thu 8 Oct, the next working day
        (cst(2026, 12, 28, 23, 59), cst(2027, 1, 5)),  # across the year end
        (cst(2026, 4, 30, 0, 0), cst(2026, 5, 8)),  # the day of the application is not counted
    ],
)
def test_review_due_seven_days(applied, due):
    """法律援助法 art. 43 with 民法典 arts. 201, 203: 7 days from the day after the application, to 24:00 of the last
    day, a last day on a holiday moved to the first working day after it."""
    assert review_due(applied) == due


def test_days_are_counted_in_china_time():
    """民法典 art. 201: the day of the event (a China date) is not counted."""
    # 23:30 UTC on Mon 2 March is already Tue 3 March in China: the 7 days run 4..10 March
    assert review_due(datetime(2026, 3, 2, 23, 30, tzinfo=UTC)) == cst(2026, 3, 11)
    assert review_due(datetime(2026, 3, 2, 15, 59, tzinfo=UTC)) == cst(2026, 3, 10)


@pytest.mark.parametrize(
    ("start", "due"),
    [
        (cst(2026, 3, 30, 10), cst(2026, 4, 3)),
        (cst(2026, 2, 27, 10), cst(2026, 3, 3)),
        (cst(2026, 12, 31, 8), cst(2027, 1, 5)),  # last day Sun 3 Jan: moves to Mon 4 Jan
    ],
)
def test_assignment_due_three_days(start, due):
    """法律援助法 art. 36 with 民法典 arts. 201, 203: 3 days after the grant or notice, to 24:00 China time."""
    assert assignment_due(start) == due


def test_forwarding_is_24_hours_exactly():
    """法律援助法 art. 39 with 民法典 art. 201 para. 2: a period in hours runs from the exact instant."""
    received = datetime(2026, 5, 31, 22, 0, tzinfo=UTC)
    assert forwarding_due(received) == datetime(2026, 6, 1, 22, 0, tzinfo=UTC)


def test_deadline_status():
    """民法典 art. 203 para. 2: the last day ends at 24:00, so an act at 00:00 of the next day is late."""
    due = cst(2026, 2, 5)
    assert deadline_status(due, due - timedelta(seconds=1), due + timedelta(days=3)) == "met"
    assert deadline_status(due, due, due) == "missed"  # done at 00:00 of the next day is late
    assert deadline_status(due, None, due) == "missed"
    assert deadline_status(due, None, due - timedelta(hours=5)) == "due"
    assert deadline_status(due, None, due - timedelta(days=3)) == "pending"
