"""Intake read model: one document per stream (request, call, village or QC month), rendered from the aggregate
state.

`record` tells the four kinds apart in the single `intake` view; no personal data besides the
pseudonymous `person_ref` is stored here.
"""

from __future__ import annotations

from typing import Any

from services.intake.domain import Call, Empty, IntakeState, QcMonth, Request, Transfer, Village, qc_quota

#: the fields the worklists filter and sort on: indexed columns of the view's table
COLUMNS = {
    "record": "text",
    "status": "text",
    "region": "text",
    "channel": "text",
    "work_order_open": "boolean",
    "work_order_due_at": "timestamptz",
    "received_at": "timestamptz",
    "complaint_open": "boolean",
    "complaint_reply_due_at": "timestamptz",
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
            "refused_by": state.refusal.refused_by.value if state.refusal else None,
            "refusal_code": state.refusal.reason_code if state.refusal else None,
            "refusal_reason": state.refusal.reason if state.refusal else None,
            "refused_at": state.refusal.refused_at if state.refusal else None,
            "escalated_to_level": state.escalated_to[0].value if state.escalated_to else None,
            "escalated_to_region": state.escalated_to[1] if state.escalated_to else None,
            "work_order_due_at": wo.due_at if wo else None,
            "work_order_completed_at": wo.completed_at if wo else None,
            "work_order_on_time": wo.on_time if wo else None,
            # indexed flag so `overdue=` is one range query: open work order whose due time has passed
            "work_order_open": bool(wo and wo.completed_at is None),
            "reply_minutes": state.reply_minutes,
            "qc_drawn": state.qc_drawn,
            "qc_result": state.qc_result.value if state.qc_result else None,
            # a complaint awaiting its reply: the complaints worklist is one indexed query, sorted by due time
            "complaint_open": state.is_complaint and state.replied_at is None,
            "complaint_reply_due_at": state.reply_due_at,
            "complaint_finding": state.finding.value if state.finding else None,
            "complaint_about": state.complaint_about.value if state.complaint_about else None,
            "complaint_replied_at": state.replied_at,
            "complaint_reply_on_time": state.reply_on_time,
            "closed_at": state.closed_at,
            "outcome": state.outcome.value if state.outcome else None,
            "satisfaction": state.satisfaction,
            **_transfer(state.transfer),
            "result_reported": state.result_reported,
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
    if isinstance(state, QcMonth):
        return {
            **base,
            "record": "qc_month",
            "region": state.region,
            "month": state.month,
            "published": state.published,
            "drawn": len(state.draws),
            "quota": qc_quota(state.published),
        }
    assert isinstance(state, Empty)
    return {**base, "record": "empty"}


def _transfer(t: Transfer | None) -> dict[str, Any]:
    """A transfer out to 12345 / 110: where to, why, what was asked, the other hotline's ticket and result."""
    return {
        "transferred_to": t.to.value if t else None,
        "transfer_reason": t.reason if t else None,
        "transfer_asked": t.asked if t else None,
        "transferred_at": t.transferred_at if t else None,
        "transfer_ticket": t.ticket if t else None,
        "transfer_accepted_at": t.accepted_at if t else None,
        "transfer_outcome": t.outcome if t else None,
        "transfer_handled_at": t.handled_at if t else None,
    }
