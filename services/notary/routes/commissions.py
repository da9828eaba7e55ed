"""Court commissions (法院委托): accepted from the court, performed, reported back to it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from services.notary.deps import Court, NotaryDep, Reader, ReaderOrCourt, Writer
from services.notary.domain import PerformCommission, ReportCommission
from services.notary.handlers import (
    accept_commission,
    act_on_commission,
    commission_out,
    commission_view,
    stored_commission,
)
from services.notary.schemas import CommissionBody, CommissionView, PerformBody

router = APIRouter(tags=["notary"])
CommissionId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]


@router.post("/commissions", status_code=201, response_model=CommissionView, summary="A court commissions the office")
async def receive(body: CommissionBody, call: Court, svc: NotaryDep) -> CommissionView:
    outcome = await accept_commission(svc, body, at=call.now, ctx=call.context())
    return commission_view(call.answered(outcome))


@router.get("/commissions", response_model=list[CommissionView], summary="Find commissions")
async def list_commissions(
    _: Reader,
    svc: NotaryDep,
    status: Annotated[Literal["accepted", "performed", "reported"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CommissionView]:
    query: dict[str, Any] = {"kind": "commission"} | ({"status": status} if status else {})
    return [commission_out(doc) for doc in await svc.commission_views.find(query, sort="accepted_at", limit=limit)]


@router.get("/commissions/{commission_id}", response_model=CommissionView, summary="One commission")
async def get_commission(commission_id: CommissionId, _: ReaderOrCourt, svc: NotaryDep) -> CommissionView:
    return await stored_commission(svc, commission_id)


@router.post("/commissions/{commission_id}/perform", response_model=CommissionView, summary="Perform the commission")
async def perform(commission_id: CommissionId, body: PerformBody, call: Writer, svc: NotaryDep) -> CommissionView:
    return await act_on_commission(svc, commission_id, PerformCommission(summary=body.summary, at=call.now), call)


@router.post("/commissions/{commission_id}/report", response_model=CommissionView, summary="Report back to the court")
async def report(commission_id: CommissionId, call: Writer, svc: NotaryDep) -> CommissionView:
    """Forwarded to the court's outbound topic by the router."""
    return await act_on_commission(svc, commission_id, ReportCommission(at=call.now), call)
