"""A case's timeline (案件时间线) and its citizen-facing progress (进展查询), read off its fold state. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from services.metrics.catalogue import DeadlineRule
from services.metrics.fold import CaseState, hours_held


def timeline_of(case: CaseState, rules: Mapping[str, DeadlineRule], now: datetime) -> dict[str, Any]:
    """Every step across departments and partners, hours per department, every deadline met/pending/missed."""
    steps = sorted(case.steps, key=lambda s: s.at)
    return {
        "correlation_id": case.correlation_id,
        "region": case.region,
        "channel": case.channel,
        "case_ids": list(case.subjects),
        "partner_references": list(case.references),
        "steps": [{**asdict(s), "at": s.at.isoformat()} for s in steps],
        "hours_in_department": hours_held(steps),
        "deadlines": [
            {
                "rule": d.rule,
                "name_zh": rules[d.rule].name_zh,
                "name_en": rules[d.rule].name_en,
                "case_id": d.subject,
                "start": d.start.isoformat(),
                "due": d.due.isoformat(),
                "done_at": d.done_at.isoformat() if d.done_at else None,
                "status": d.status(now),
            }
            for d in case.deadlines
        ],
    }


def progress_of(case: CaseState, rules: Mapping[str, DeadlineRule], now: datetime) -> dict[str, Any]:
    """Where the citizen's matter stands and what comes next — no actors, no internal ids."""
    last = max(case.steps, key=lambda s: s.at)
    pending = sorted((d for d in case.deadlines if d.status(now) == "pending"), key=lambda d: d.due)
    nxt = (
        {"step_zh": rules[pending[0].rule].name_zh, "step_en": rules[pending[0].rule].name_en,
         "due": pending[0].due.isoformat()}
        if pending
        else None
    )  # fmt: skip
    return {
        "status": last.event_type.rsplit(".", 1)[-1],
        "department": last.department if last.department != "partner" else None,
        "updated_at": last.at.isoformat(),
        "next_step": nxt,
    }
