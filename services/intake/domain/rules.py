"""Intake's pure rules: which channels escalate or get work orders, the QC quota, complaint reply deadlines,
region levels, time spans."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from services.intake.domain.state import Request
from shared.calendar import CHINA, deadline_for_days, deadline_for_duration
from shared.contracts.intake import Channel, Level

#: Seed 000 indicator 36: "对已解答问题抽取3%进行质检" — at least 3% of answered web questions are inspected.
QC_SAMPLE_PERCENT = 3
#: The quota rule: the n-th reply a region publishes in a China month is drawn while fewer than ceil(3% × n)
#: of that month's replies were drawn, so every region and month (and every total of them) reaches ≥3%.
QC_RULE = "quota: drawn < ceil(3% x published) per region and China month"
DEFAULT_WORK_ORDER_HOURS = 72
#: The seeds set no complaint reply time (001 asks for "投诉受理、处理和反馈机制", 003 for a complaints post); a
#: complaint to a state organ is a 信访 投诉请求, which 信访工作条例 (2022) art. 35 settles within 60 days of
#: acceptance. A city sets its own shorter promise with `INTAKE_COMPLAINT_REPLY_DAYS`.
DEFAULT_COMPLAINT_REPLY_DAYS = 60
#: Channels whose work can be escalated to a walk-in centre or followed up by a work order.
REMOTE_CHANNELS = frozenset({Channel.HOTLINE_12348, Channel.WEB_12348, Channel.TRANSFER_12345, Channel.TRANSFER_110})
WORK_ORDER_CHANNELS = frozenset({Channel.HOTLINE_12348, Channel.TRANSFER_12345, Channel.TRANSFER_110})


def region_level_problem(region: str, level: Level) -> str | None:
    """Why a region code does not name a division of `level` (city/county/town/village digits), or None."""
    county, town, village = region[4:6], region[6:9], region[9:12]
    if level is Level.CITY and region[4:] != "00000000":
        return "a city-level centre's region code ends in 8 zeros"
    if level is Level.COUNTY and not (county != "00" and town == "000" and village == "000"):
        return "a county-level centre's region code has digits 5-6 non-zero and ends in 6 zeros"
    if level is Level.TOWN and not (town != "000" and village == "000"):
        return "a town workstation's region code has digits 7-9 non-zero and ends in 3 zeros"
    if level is Level.VILLAGE and village == "000":
        return "a village room's region code has non-zero digits 10-12"
    return None


def qc_quota(published: int) -> int:
    """How many of `published` replies the 3% quota draws at least: ceil(3% × published), in integers."""
    return (published * QC_SAMPLE_PERCENT + 99) // 100


def qc_draws(ordinal: int, drawn_before: int) -> bool:
    """Whether the `ordinal`-th reply of a region's month is drawn, given how many of the earlier ones were."""
    return drawn_before < qc_quota(ordinal)


def china_month(at: datetime) -> str:
    """The China calendar month (`YYYY-MM`) an instant falls in: the QC quota counts per China month."""
    return at.astimezone(CHINA).strftime("%Y-%m")


def qc_stream(region: str, at: datetime) -> str:
    """The stream counting a region's published web replies in the China month of `at`."""
    return f"qc-{region}-{china_month(at)}"


def complaint_reply_due(received_at: datetime, days: int) -> datetime:
    """When a complaint's reply is due: `days` days after the day it was received, counted the law's way
    (民法典 arts. 201–203: to 24:00 China time, off a rest day)."""
    return deadline_for_days(received_at, days)


def minutes_between(start: datetime, end: datetime) -> int:
    return max(0, math.ceil((end - start).total_seconds() / 60))


#: how far ahead of the platform clock a switchboard's time may lie (the two clocks are not the same)
SWITCHBOARD_SKEW = timedelta(minutes=5)


def switchboard_time_problem(at: datetime, now: datetime) -> str | None:
    """Why a call time logged by the switchboard is refused: in the future, or before the previous calendar year
    (hotline growth compares a year with the one before it, seed 000), or None."""
    if at > now + SWITCHBOARD_SKEW:
        return "a call time cannot lie in the future"
    if at.astimezone(CHINA).year < now.astimezone(CHINA).year - 1:
        return "a call time cannot lie before the previous calendar year"
    return None


def seconds_between(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds()))


def work_order_due(opened_at: datetime, deadline_hours: int) -> datetime:
    return deadline_for_duration(opened_at, hours=deadline_hours)


def is_overdue(state: Request, now: datetime) -> bool:
    wo = state.work_order
    return wo is not None and wo.completed_at is None and now >= wo.due_at
