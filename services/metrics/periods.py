"""Periods (统计周期): the calendar buckets an instant counts in, the period keys queries name and rolling windows.
The calendar is China's (`shared.calendar.CHINA`): the seeds' jurisdictions are all in China. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Literal

from shared.calendar import CHINA

PeriodKind = Literal["day", "month", "year", "last-24h", "last-7d"]
ALL_PERIODS: tuple[PeriodKind, ...] = ("day", "month", "year", "last-24h", "last-7d")
#: the rolling windows, in hours: summed from the hour buckets at query time
WINDOW_HOURS = {"last-24h": 24, "last-7d": 24 * 7}
_FORMATS = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}


def hour_bucket(at: datetime) -> str:
    return "hour:" + at.astimezone(UTC).isoformat()[:13]


@lru_cache(maxsize=65536)
def period_keys(at: datetime) -> tuple[str, ...]:
    """The buckets an instant counts in: its China-local day, month and year, and its UTC hour."""
    local = at.astimezone(CHINA).isoformat()
    return ("day:" + local[:10], "month:" + local[:7], "year:" + local[:4], hour_bucket(at))


@lru_cache(maxsize=65536)
def hour_of(at: datetime) -> datetime:
    """The UTC hour an instant falls in. Every period key of an instant (China-local day, month and year; UTC hour)
    is the same for all instants of its hour, China being a whole number of hours from UTC."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def parse_period(text: str) -> tuple[PeriodKind, str]:
    """`day:2026-11-23`, `month:2026-11`, `year:2026`, `last-24h`, `last-7d` → (kind, bucket key)."""
    if text in WINDOW_HOURS:
        return text, text  # type: ignore[return-value]
    kind, _, value = text.partition(":")
    if kind not in _FORMATS:
        raise ValueError(f"unknown period {text!r}: use day:YYYY-MM-DD, month:YYYY-MM, year:YYYY, last-24h or last-7d")
    try:
        datetime.strptime(value, _FORMATS[kind])
    except ValueError:
        raise ValueError(f"period {text!r} is not {kind}:{_FORMATS[kind].replace('%', '')}") from None
    return kind, text  # type: ignore[return-value]


def current_period(kind: PeriodKind, now: datetime) -> str:
    if kind in WINDOW_HOURS:
        return kind
    return f"{kind}:{now.astimezone(CHINA).strftime(_FORMATS[kind])}"


def previous_year(period: str) -> str | None:
    """The same calendar period a year earlier (growth compares with it); None for a rolling window."""
    kind, _, value = period.partition(":")
    if kind not in _FORMATS:
        return None
    return f"{kind}:{int(value[:4]) - 1:04d}{value[4:]}"


def elapsed_share(period: str, now: datetime) -> float:
    """The share of a calendar period (`day:…`, `month:…`, `year:…`, China time) elapsed at `now`: 1.0 once it is
    over (and for a rolling window), at least one hour's share while it runs."""
    kind, _, value = period.partition(":")
    if kind not in _FORMATS:
        return 1.0
    start = datetime.strptime(value, _FORMATS[kind]).replace(tzinfo=CHINA)
    if kind == "day":
        end = start + timedelta(days=1)
    elif kind == "month":
        end = (start + timedelta(days=32)).replace(day=1)
    else:
        end = start.replace(year=start.year + 1)
    span = (end - start).total_seconds()
    return min(1.0, max((now - start).total_seconds(), 3600.0) / span)
