"""Intake's pure rules: which channels escalate or get work orders, the QC draw, region levels, time spans."""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta, timezone

from services.intake.domain.state import Request
from shared.contracts.intake import Channel, Level

CHINA = timezone(timedelta(hours=8), "CST")
#: Seed 000: 3% of answered web questions are inspected. The draw is a pure function of the case id.
QC_SAMPLE_PERCENT = 3
QC_RULE = "sha256(request_id) mod 100 < 3"
DEFAULT_WORK_ORDER_HOURS = 72
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


def qc_bucket(request_id: str) -> int:
    """The reproducible 0–99 bucket of a case: anyone can recompute who was drawn for inspection."""
    return int(hashlib.sha256(request_id.encode()).hexdigest()[:8], 16) % 100


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
    return opened_at + timedelta(hours=deadline_hours)


def is_overdue(state: Request, now: datetime) -> bool:
    wo = state.work_order
    return wo is not None and wo.completed_at is None and now > wo.due_at
