"""The read models: one document per dispute (with its deadline flags, list filters and worklist queries) and
one per committee of the registry.

Deadline flags (due | met | missed) depend on the time of reading, so they are computed when a view is served,
from the deadlines the document stores; the list filters turn the same rules into view queries.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.mediation.committees import CommitteeState, MediatorState
from services.mediation.domain import ACTIVE, WITH_MEDIATOR, Dispute, Status, deadline_status
from shared.calendar import china_date
from shared.contracts.common import region_ancestors
from shared.contracts.mediation import CommitteeKind, Source

#: the fields the lists and worklists filter and sort on: indexed columns of the view's table
COLUMNS = {
    "status": "text",
    "regions": "text[]",
    "source": "text",
    "committee_id": "text",
    "registered_at": "timestamptz",
    "due_by": "timestamptz",
    "confirmation_deadline": "timestamptz",
    "next_session_on": "text",
    "sessions": "integer",
    "follow_up_due_by": "timestamptz",
    "followed_up_at": "timestamptz",
    "window_lapsed": "boolean",
}
WORKLISTS = ("awaiting-assignment", "sessions-due", "confirmation-closing", "follow-ups-due")


def is_dispute(stream_id: str) -> bool:
    """Dispute streams share the service's store with the committee registry's (`committee-…`)."""
    return not stream_id.startswith("committee-")


def _v(x: Any) -> Any:
    return x.value if hasattr(x, "value") else x


def render(stream_id: str, s: Dispute, version: int) -> dict[str, Any]:
    return {
        "dispute_id": stream_id,
        "status": s.status.value,
        "source": _v(s.source),
        "region": s.region,
        "regions": region_ancestors(s.region) if s.region else [],  # lets `region=` match any ancestor
        "dispute_type": s.dispute_type,
        "complex": s.complex,
        "parties": list(s.parties),
        "claim": s.claim,
        "referrer": _v(s.referrer),
        "partner_reference": s.partner_reference,
        "intake_case_id": s.intake_case_id,
        "decline_reason": s.decline_reason,
        "registered_at": s.registered_at,
        "time_limit_days": s.time_limit_days,
        "due_by": s.due_by,
        "committee_id": s.committee_id,
        "committee_kind": _v(s.committee_kind),
        "mediator_id": s.mediator_id,
        "sessions": s.sessions,
        "last_session_at": s.last_session_at,
        # ISO date string: the text sorts like the date
        "next_session_on": s.next_session_on.isoformat() if s.next_session_on else None,
        "outcome": _v(s.outcome),
        "ended_at": s.ended_at,
        "end_reason": s.end_reason,
        "terms": s.terms,
        "confirmation_deadline": s.confirmation_deadline,
        "confirmation_requested_at": s.confirmation_requested_at,
        "confirmation_outcome": _v(s.confirmation_outcome),
        "confirmation_decided_at": s.confirmation_decided_at,
        "window_lapsed": s.window_lapsed,
        "follow_up_due_by": s.follow_up_due_by,
        "fulfilment": _v(s.fulfilment),
        "followed_up_at": s.followed_up_at,
        "archived_at": s.archived_at,
        "satisfaction": s.satisfaction,
        "history": list(s.history),
        "version": version,
    }


def flags(doc: dict[str, Any], now: datetime) -> dict[str, str | None]:
    """The three tracked deadlines of a dispute as due | met | missed (None when not applicable)."""
    ended = doc.get("ended_at")
    time_limit = None
    if doc.get("due_by") is not None and doc["status"] != Status.DECLINED.value:
        time_limit = deadline_status(doc["due_by"], ended, now)
    return {
        "time_limit": time_limit,
        "confirmation_window": deadline_status(
            doc.get("confirmation_deadline"), doc.get("confirmation_requested_at"), now
        ),
        "follow_up": deadline_status(doc.get("follow_up_due_by"), doc.get("followed_up_at"), now),
    }


def overdue_query(now: datetime) -> dict[str, Any]:
    """Disputes with a deadline passed and the act still not done (the same rule as a `missed` open flag)."""
    return {
        "$or": [
            {"status": {"$in": [s.value for s in ACTIVE]}, "due_by": {"$lte": now}},
            {"status": Status.AGREEMENT.value, "confirmation_deadline": {"$lte": now}},
            {
                "status": {"$ne": Status.ARCHIVED.value},
                "follow_up_due_by": {"$lte": now},
                "followed_up_at": None,
            },
        ]
    }


def dispute_query(
    now: datetime,
    *,
    source: Source | None = None,
    status: Status | None = None,
    region: str | None = None,
    committee: str | None = None,
    overdue: bool | None = None,
) -> dict[str, Any]:
    """The list filters as a view query (`region` matches the region or any ancestor)."""
    query: dict[str, Any] = {}
    if source is not None:
        query["source"] = source.value
    if status is not None:
        query["status"] = status.value
    if region is not None:
        query["regions"] = region
    if committee is not None:
        query["committee_id"] = committee
    if overdue is True:
        query.update(overdue_query(now))
    elif overdue is False:
        query["$nor"] = overdue_query(now)["$or"]
    return query


def worklist_query(name: str, now: datetime, within_days: int) -> tuple[dict[str, Any], str]:
    """(query, sort field) of a worklist; `within_days` is the look-ahead horizon."""
    horizon = now + timedelta(days=within_days)
    if name == "awaiting-assignment":
        return {"status": Status.REGISTERED.value}, "registered_at"
    if name == "sessions-due":
        return {
            "status": {"$in": [s.value for s in WITH_MEDIATOR]},
            "$or": [
                {"next_session_on": {"$lte": china_date(horizon).isoformat()}},
                {"status": Status.ASSIGNED.value, "sessions": 0},  # assigned, first session not yet held
            ],
        }, "due_by"
    if name == "confirmation-closing":
        return {
            "status": Status.AGREEMENT.value,
            "confirmation_deadline": {"$gt": now, "$lte": horizon},
        }, "confirmation_deadline"
    if name == "follow-ups-due":
        return {
            "status": {"$ne": Status.ARCHIVED.value},
            "follow_up_due_by": {"$ne": None, "$lte": horizon},
            "followed_up_at": None,
        }, "follow_up_due_by"
    raise KeyError(name)


def render_committee(stream_id: str, s: CommitteeState, version: int) -> dict[str, object]:
    return {
        "committee_id": s.committee_id,
        "name": s.name,
        "kind": s.kind.value if s.kind else None,
        "regions": list(s.regions),
        "dispute_types": list(s.dispute_types),
        "serves": s.serves,
        "mediators": [
            {
                "mediator_id": m.mediator_id,
                "display_name": m.display_name,
                "specialisms": list(m.specialisms),
                "active": m.active,
            }
            for m in s.mediators
        ],
        "version": version,
    }


def committee_state(doc: dict[str, Any]) -> CommitteeState:
    """A committee's state back from its document (the registry overlay at start)."""
    return CommitteeState(
        committee_id=str(doc["committee_id"]),
        name=str(doc["name"]),
        kind=CommitteeKind(str(doc["kind"])),
        regions=tuple(doc["regions"]),
        dispute_types=tuple(doc["dispute_types"]),
        serves=doc.get("serves"),
        mediators=tuple(
            MediatorState(m["mediator_id"], m["display_name"], tuple(m["specialisms"]), m["active"])
            for m in doc.get("mediators") or []
        ),
    )
