"""Complaints (投诉) received at the centre: handle, reply to the complainant, and the worklist of open complaints
with their reply deadlines. A complaint is received, closed and evaluated like every request (requests.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.intake import domain
from services.intake.deps import IntakeDep, Reader, Writer
from services.intake.handlers import act, request_view
from services.intake.routes.requests import RequestId
from services.intake.schemas import HandleComplaintBody, RequestList, RequestView
from shared.deps import Cursor, next_page

router = APIRouter(tags=["intake"])


@router.post("/requests/{request_id}/complaint/handle", response_model=RequestView, summary="Handle a complaint")
async def handle(request_id: RequestId, body: HandleComplaintBody, call: Writer, svc: IntakeDep) -> RequestView:
    command = domain.HandleComplaint(finding=body.finding, about=body.about, at=call.now)
    return request_view(await act(svc, request_id, command, call))


@router.post("/requests/{request_id}/complaint/reply", response_model=RequestView, summary="Reply to the complainant")
async def reply(request_id: RequestId, call: Writer, svc: IntakeDep) -> RequestView:
    return request_view(await act(svc, request_id, domain.ReplyToComplaint(at=call.now), call))


@router.get("/complaints", response_model=RequestList, summary="Open complaints, the reply due soonest first")
async def open_complaints(
    call: Reader,
    svc: IntakeDep,
    region: Annotated[str | None, Query(pattern=r"^\d{2,12}$", description="code or prefix (e.g. 4310)")] = None,
    overdue: bool | None = Query(default=None, description="true: past the reply deadline; false: not yet"),
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    skip: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    after: Cursor = None,
) -> RequestList:
    query: dict[str, Any] = {"record": "request", "complaint_open": True}
    if region is not None:
        query["region"] = region if len(region) == 12 else {"$prefix": region}
    if overdue is not None:
        query["complaint_reply_due_at"] = {"$lt" if overdue else "$gte": call.now}
    sort = "complaint_reply_due_at"
    docs = await svc.cases.find(query, sort=sort, limit=limit, skip=skip, after=after)
    items = [RequestView.model_validate(d) for d in docs]
    return RequestList(items=items, count=len(items), next=next_page(docs, limit, sort))
