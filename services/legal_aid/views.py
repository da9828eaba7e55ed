"""The case read model (`cases` view): one document per aid case, rendered from the aggregate state.

Deadlines are stored as due/met instants; whether a pending one is due soon or missed depends on the reader's
clock, so `deadline_view` computes the status at query time. `next_due_at` (the earliest unmet deadline) backs
the worklist queries (`overdue`, `due_before`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.legal_aid.domain import AidCase, deadline_status

#: the fields the worklists, the provider load and look-ups by origin filter and sort on: indexed columns
COLUMNS = {
    "status": "text",
    "region": "text",
    "next_due_at": "timestamptz",
    "provider_id": "text",
    "organ": "text",
    "channel": "text",
    "partner_reference": "text",
    "referral_case_id": "text",
}


def _v(x: Any) -> Any:
    return getattr(x, "value", x)


def render(stream_id: str, s: AidCase, version: int) -> dict[str, Any]:
    deadlines = s.deadlines()
    pending = [d.due_at for d in deadlines if d.met_at is None and d.due_at is not None]
    return {
        "_id": stream_id,
        "status": s.status,
        "kind": _v(s.kind),
        "channel": _v(s.channel),
        "region": s.region,
        "matter_type": _v(s.matter_type),
        "matter": s.matter,
        "client_ref": s.client_ref,
        "opposing_refs": list(s.opposing_refs),
        "organ": _v(s.organ),
        "partner_reference": s.partner_reference,
        "referral_case_id": s.referral_case_id,
        "stage": s.stage,
        "charge": s.charge,
        "applied_at": s.applied_at,
        "notified_at": s.notified_at,
        "received_at": s.received_at,
        "forwarded_at": s.forwarded_at,
        "decision": _v(s.decision),
        "reason": s.reason,
        "grounds": [g.model_dump(mode="json") for g in s.grounds],
        "decided_at": s.decided_at,
        "granted_at": s.granted_at,
        "contested": s.contested,
        "awaiting_supplement": s.awaiting_supplement,
        "provider_type": _v(s.provider_type),
        "provider_id": s.provider_id,
        "assigned_at": s.assigned_at,
        "outcome": _v(s.outcome),
        "closed_at": s.closed_at,
        "quality_score": s.quality_score,
        "quality_method": _v(s.quality_method),
        "subsidy": s.subsidy,
        "satisfaction": s.satisfaction,
        "fee_waivers": [
            {"notary_matter": w.notary_matter, "waiver": w.waiver, "granted_at": w.granted_at} for w in s.fee_waivers
        ],
        "deadlines": [{"name": d.name, "due_at": d.due_at, "met_at": d.met_at} for d in deadlines],
        "next_due_at": min(pending) if pending else None,
        "version": version,
    }


def deadline_view(doc: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    return [{**d, "status": deadline_status(d["due_at"], d.get("met_at"), now)} for d in doc.get("deadlines", [])]
