"""Intake read model: one document per stream (request, call or village), rendered from the aggregate state.

`record` tells the three kinds apart in the single `intake` view; no personal data besides the
pseudonymous `person_ref` is stored here.
"""

from __future__ import annotations

from typing import Any

from services.intake.domain import Call, Empty, IntakeState, Request, Village

#: the fields the worklists filter and sort on: indexed columns of the view's table
COLUMNS = {
    "record": "text",
    "status": "text",
    "region": "text",
    "channel": "text",
    "work_order_open": "boolean",
    "work_order_due_at": "timestamptz",
    "received_at": "timestamptz",
}


def render(stream_id: str, state: IntakeState, version: int) -> dict[str, Any]:
    base: dict[str, Any] = {"_id": stream_id, "version": version}
    if isinstance(state, Request):
        wo = state.work_order
        return {
            **base,
            "record": "request",
            "request_id": state.request_id,
            "status": state.status.value,
            "channel": state.channel.value,
            "level": state.level.value if state.level else None,
            "region": state.region,
            "kind": state.kind.value,
            "topic": state.topic,
            "received_at": state.received_at,
            "person_ref": state.person_ref,
            "call_id": state.call_id,
            "external_reference": state.external_reference,
            "referred_to": state.referred_to.value if state.referred_to else None,
            "escalated_to_level": state.escalated_to[0].value if state.escalated_to else None,
            "escalated_to_region": state.escalated_to[1] if state.escalated_to else None,
            "work_order_due_at": wo.due_at if wo else None,
            "work_order_completed_at": wo.completed_at if wo else None,
            "work_order_on_time": wo.on_time if wo else None,
            # indexed flag so `overdue=` is one range query: open work order whose due time has passed
            "work_order_open": bool(wo and wo.completed_at is None),
            "reply_minutes": state.reply_minutes,
            "qc_drawn": state.qc_drawn,
            "closed_at": state.closed_at,
            "outcome": state.outcome.value if state.outcome else None,
            "satisfaction": state.satisfaction,
        }
    if isinstance(state, Call):
        return {
            **base,
            "record": "call",
            "call_id": state.call_id,
            "status": state.status.value,
            "region": state.region,
            "offered_at": state.offered_at,
            "wait_seconds": state.wait_seconds,
            "line": state.line.value,
        }
    if isinstance(state, Village):
        return {
            **base,
            "record": "village",
            "village_region": state.village_region,
            "region": state.village_region,
            "advisor_id": state.advisor_id,
            "advisor_kind": state.advisor_kind.value if state.advisor_kind else None,
            "hours": state.hours,
            "services": state.services,
        }
    assert isinstance(state, Empty)
    return {**base, "record": "empty"}
