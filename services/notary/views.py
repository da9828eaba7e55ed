"""Read-model documents (one per application / commission) rendered from aggregate state; the API's queries run
on these. `due_on` is an ISO date string so the worklist's overdue filter is a plain string comparison."""

from __future__ import annotations

from typing import Any

from services.notary.domain import Application, Commission

#: statuses in which the 15-working-day issuance clock runs
OPEN_STATUSES = ("accepted", "fee_assessed")


#: indexed columns of the two views' tables (the fields the API filters and sorts on)
APPLICATION_COLUMNS = {
    "kind": "text",
    "status": "text",
    "matter": "text",
    "due_on": "text",
    "certificate_no": "text",
    "office": "text",
    "open": "boolean",
}
COMMISSION_COLUMNS = {"kind": "text", "status": "text", "accepted_at": "timestamptz"}


def is_application(stream_id: str) -> bool:
    return stream_id.startswith("na-")


def is_commission(stream_id: str) -> bool:
    return stream_id.startswith("notary-commission-")


def render_application(stream_id: str, s: Application, version: int) -> dict[str, Any]:
    return {
        "_id": stream_id,
        "kind": "application" if s.status != "new" else "other",
        "status": s.status,
        "region": s.region,
        "office": s.office,
        "matter": s.matter,
        "matter_name": s.matter_name,
        "applicant_ref": s.applicant_ref,
        "required": list(s.required),
        "supplied": list(s.supplied),
        "missing": list(s.missing),
        "notice_given": list(s.notice_given) if s.notice_given is not None else None,
        "aid_case_id": s.aid_case_id,
        "visits": s.visits,
        "one_trip": s.visits <= 1,
        "applied_at": s.applied_at,
        "accepted_at": s.accepted_at,
        "due_on": s.due_on.isoformat() if s.due_on else None,
        "open": s.status in OPEN_STATUSES,
        "refused_reason": s.refused_reason,
        "standard_fee": s.standard_fee,
        "charged_fee": s.charged_fee,
        "waived": s.waived,
        "aid_linked": s.aid_linked,
        "aid_link_verified": s.aid_link_verified,
        "certificate_no": s.certificate_no,
        "issued_at": s.issued_at,
        "satisfaction": s.satisfaction,
        "feedback": [
            {"partner_reference": f.partner_reference, "adopted": f.adopted, "reason": f.reason} for f in s.feedback
        ],
    }


def render_commission(stream_id: str, s: Commission, version: int) -> dict[str, Any]:
    return {
        "_id": stream_id,
        "kind": "commission" if s.status != "new" else "other",
        "status": s.status,
        "partner_reference": s.partner_reference,
        "commission_kind": s.kind.value if s.kind else None,
        "region": s.region,
        "details": s.details,
        "due_by": s.due_by,
        "commissioned_at": s.commissioned_at,
        "accepted_at": s.accepted_at,
        "summary": s.summary,
        "performed_at": s.performed_at,
        "reported_at": s.reported_at,
    }
