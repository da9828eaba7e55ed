"""Intake's staff at the windows, the 12348 seats and the web desk: receive, answer on the spot, refer, escalate,
open and complete work orders, publish web replies, close."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from integrations.demo.cities import City
from integrations.demo.day import Demo
from integrations.demo.evaluations import schedule_evaluation
from integrations.demo.plan import Visit

WORK_ORDER_HOURS = 72
REFERRALS = {
    "refer_legal_aid": {"to_department": "legal_aid", "matter": "劳动者被拖欠工资, 申请法律援助"},
    "refer_mediation": {"to_department": "mediation", "matter": "邻里纠纷, 双方同意调解"},
}


async def receive(demo: Demo, v: Visit, channel: str, person: dict[str, Any] | None, **extra: Any) -> str:
    body = {"channel": channel, "region": v.region, "kind": v.kind, "topic": v.topic, "person": person, **extra}
    if channel == "walk_in":
        body["level"] = v.level
    rq = await demo.platform.post("intake", "/requests", body, demo.key(demo.run_id, v.n, "receive"))
    return str(rq["request_id"])


async def step(demo: Demo, request_id: str, name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    path = f"/requests/{request_id}/{name}" if name else f"/requests/{request_id}"
    result: dict[str, Any] = await demo.platform.post("intake", path, body, demo.key(request_id, name))
    return result


async def settle(demo: Demo, v: Visit, request_id: str) -> None:
    """Act on a received request as the visit's fate says, close it, and let the citizen evaluate."""
    if v.path in REFERRALS:
        body = dict(REFERRALS[v.path])
        if v.path == "refer_mediation":
            body["dispute_type"] = v.matter
        await step(demo, request_id, "refer", body)
    elif v.path == "escalate":
        await step(demo, request_id, "escalate", escalation(demo.cities, v))
    elif v.path in ("answer", "work_order"):
        await step(demo, request_id, "answer", {"on_the_spot": v.path == "answer"})
    await close(demo, v, request_id)


async def close(demo: Demo, v: Visit, request_id: str) -> None:
    await step(demo, request_id, "close")
    schedule_evaluation(demo, "intake", request_id, v.satisfaction)


def escalation(cities: Sequence[City], v: Visit) -> dict[str, str]:
    """Hotline/web → the walk-in centre of the caller's county (or town, in a district without counties)."""
    city = next(c for c in cities if c.code == v.city)
    level = "county" if city.counties else "town"
    return {"to_level": level, "to_region": city.under(level, v.n)}


async def offer_call(demo: Demo, v: Visit, offered_at: datetime, line: str = "hotline_12348") -> str:
    """A call waiting on the 12348 hotline, or a real-time consultation on the 12348 web (`web_12348`)."""
    body = {"region": v.region, "line": line, "offered_at": offered_at.isoformat()}
    call = await demo.platform.post("intake", "/calls", body, demo.key(demo.run_id, v.n, "call", line))
    return str(call["call_id"])


async def answer_call(demo: Demo, call_id: str, offered_at: datetime, wait_seconds: int) -> None:
    answered_at = offered_at + timedelta(seconds=wait_seconds)
    await demo.platform.post(
        "intake", f"/calls/{call_id}/answer", {"answered_at": answered_at.isoformat()}, demo.key(call_id, "answer")
    )


async def open_work_order(demo: Demo, v: Visit, request_id: str) -> None:
    """A work order (工单) due in 72 h, completed after the visit's planned hours (some late), then closed."""
    await step(demo, request_id, "work-order", {"deadline_hours": WORK_ORDER_HOURS})

    async def complete() -> None:
        await step(demo, request_id, "work-order/complete")
        await settle(demo, v, request_id)

    demo.later(request_id, "work-order/complete", v.reply_minutes, complete)


def publish_reply_later(demo: Demo, v: Visit, request_id: str) -> None:
    """The web desk replies after the visit's planned minutes (some past the 300-minute limit), then closes."""

    async def reply() -> None:
        await step(demo, request_id, "reply")
        await close(demo, v, request_id)

    demo.later(request_id, "reply", v.reply_minutes / 60, reply)
