"""What the pages gather from the services: scorecard with charts, and the cross-department worklists.

Every upstream call may fail on its own; a failure becomes a message in that part of the page (`Unavailable`),
never a 500 for the whole page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from services.console import regions
from services.console.clients import Rejected, Unavailable, Upstream
from services.console.config import DEPARTMENTS
from services.metrics.periods import CHINA
from shared import clock as scenario
from shared.calendar import end_of_day

Item = dict[str, Any]
Section = tuple[str, list[Item] | None, str | None]


async def try_get(up: Upstream, service: str, path: str, params: Mapping[str, Any] | None = None) -> Any | None:
    try:
        return await up.get(service, path, params)
    except (Unavailable, Rejected):
        return None


def trend_of(period: str, now: datetime) -> tuple[str, int]:
    """The series (kind, points) whose axis covers the chosen period in China time: this year's months so far,
    this month's days so far, the last 7 days for today or a 7-day window, the last 2 days for 24 hours."""
    local = now.astimezone(CHINA)
    return {
        "year": ("month", local.month),
        "month": ("day", local.day),
        "last-24h": ("day", 2),
    }.get(period, ("day", 7))


async def by_department(up: Upstream, indicator: str, region: str, period: str) -> list[tuple[str, Item | None]]:
    """One indicator's value per department (the metrics `dept:<department>` dimension), in DEPARTMENTS order."""
    values = await asyncio.gather(
        *(
            try_get(
                up,
                "metrics",
                f"/indicators/{indicator}",
                {"region": region, "period": period, "dimension": f"dept:{d}"},
            )  # fmt: skip
            for d in DEPARTMENTS
        )
    )
    return list(zip(DEPARTMENTS, values, strict=True))


async def drilldown(up: Upstream, indicator: str, region: str, period: str) -> list[tuple[regions.Region, Item | None]]:
    kids = regions.children(region)
    values = await asyncio.gather(
        *(
            try_get(up, "metrics", f"/indicators/{indicator}", {"region": r.code, "period": period}) for r in kids
        )  # fmt: skip
    )
    return list(zip(kids, values, strict=True))


# -- worklists ------------------------------------------------------------------------------------------------
def _first_open_due(deadlines: list[Mapping[str, Any]]) -> str | None:
    open_ = sorted(str(d["due_at"]) for d in deadlines if d.get("status") in ("pending", "due"))
    return open_[0] if open_ else None


def _within(due: str | None, now: datetime, days: int) -> bool:
    if not due:
        return False
    try:
        at = datetime.fromisoformat(due)
    except ValueError:
        return False
    if at.tzinfo is None:  # a bare date (notary `due_on`) is the end of that day in China
        at = end_of_day(at.date())
    return now <= at <= now + timedelta(days=days)


async def _intake(up: Upstream, now: datetime, days: int) -> list[Item]:
    """Work orders past or near their deadline, and open complaints past or near their reply deadline (投诉)."""
    overdue, rest, late_complaints, open_complaints = await asyncio.gather(
        up.get("intake", "/requests", {"overdue": "true", "limit": 200}),
        up.get("intake", "/requests", {"overdue": "false", "limit": 500}),
        up.get("intake", "/complaints", {"overdue": "true", "limit": 200}),
        up.get("intake", "/complaints", {"overdue": "false", "limit": 200}),
    )

    def item(r: Mapping[str, Any], state: str, due: str) -> Item:
        return {"id": r["request_id"], "state": state, "what": f"{r.get('kind')} · {r.get('topic')}",
                "status": r["status"], "region": r.get("region"), "due": r.get(due)}  # fmt: skip

    soon = [r for r in rest["items"] if r.get("work_order_open") and _within(r.get("work_order_due_at"), now, days)]
    replies_soon = [r for r in open_complaints["items"] if _within(r.get("complaint_reply_due_at"), now, days)]
    return [
        *(item(r, "overdue", "work_order_due_at") for r in overdue["items"]),
        *(item(r, "overdue", "complaint_reply_due_at") for r in late_complaints["items"]),
        *(item(r, "due_soon", "work_order_due_at") for r in soon),
        *(item(r, "due_soon", "complaint_reply_due_at") for r in replies_soon),
    ]


async def _legal_aid(up: Upstream, now: datetime, days: int) -> list[Item]:
    horizon = (now + timedelta(days=days)).isoformat()
    overdue, soon = await asyncio.gather(
        up.get("legal_aid", "/applications", {"overdue": "true", "limit": 200}),
        up.get("legal_aid", "/applications", {"overdue": "false", "due_before": horizon, "limit": 200}),
    )

    def item(c: Mapping[str, Any], state: str) -> Item:
        what = f"{c.get('kind') or ''} · {c.get('matter_type') or ''}"
        due = _first_open_due(c.get("deadlines", []))
        return {"id": c["id"], "state": state, "what": what, "status": c["status"], "region": c.get("region"),
                "due": due}  # fmt: skip

    return [item(c, "overdue") for c in overdue] + [item(c, "due_soon") for c in soon]


async def _mediation(up: Upstream, now: datetime, days: int) -> list[Item]:
    overdue, closing = await asyncio.gather(
        up.get("mediation", "/disputes", {"overdue": "true", "limit": 200}),
        up.get("mediation", "/worklists/confirmation-closing", {"within_days": days, "limit": 200}),
    )

    def item(d: Mapping[str, Any], state: str) -> Item:
        due = d.get("confirmation_deadline") if state == "due_soon" else (d.get("due_by") or d.get("follow_up_due_by"))
        return {"id": d["dispute_id"], "state": state, "what": d.get("dispute_type"), "status": d["status"],
                "region": d.get("region"), "due": due}  # fmt: skip

    seen = {d["dispute_id"] for d in overdue["items"]}
    return [item(d, "overdue") for d in overdue["items"]] + [
        item(d, "due_soon") for d in closing["items"] if d["dispute_id"] not in seen
    ]


async def _notary(up: Upstream, now: datetime, days: int) -> list[Item]:
    overdue, rest = await asyncio.gather(
        up.get("notary", "/applications", {"overdue": "true", "limit": 200}),
        up.get("notary", "/applications", {"overdue": "false", "limit": 500}),
    )

    def item(a: Mapping[str, Any], state: str) -> Item:
        return {"id": a["application_id"], "state": state, "what": a.get("matter_name"), "status": a["status"],
                "region": a.get("region"), "due": a.get("due_on")}  # fmt: skip

    soon = [
        a for a in rest["items"]
        if a.get("working_days_left") is not None and a["working_days_left"] <= days
        and a["status"] not in ("issued", "refused")
    ]  # fmt: skip
    return [item(a, "overdue") for a in overdue["items"]] + [item(a, "due_soon") for a in soon]


FETCHERS = {"intake": _intake, "legal_aid": _legal_aid, "mediation": _mediation, "notary": _notary}


async def worklists(up: Upstream, days: int, now: datetime | None = None) -> list[Section]:
    at = now or scenario.now()

    async def one(dept: str) -> Section:
        try:
            return dept, await FETCHERS[dept](up, at, days), None
        except Unavailable as exc:
            return dept, None, exc.reason
        except Rejected as exc:
            return dept, None, f"HTTP {exc.status}: {exc.detail}"
        except (KeyError, TypeError, ValueError) as exc:  # an answer of an unexpected shape
            return dept, None, f"unexpected answer ({type(exc).__name__})"

    return list(await asyncio.gather(*(one(d) for d in DEPARTMENTS)))
