"""Requests on every channel (窗口, 12348 hotline and web): receive, act, read, find."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from services.intake import domain
from services.intake.deps import IntakeDep, Reader, Writer
from services.intake.handlers import act, publish_web_reply, receive_request, request_view, stored
from services.intake.schemas import (
    AnswerBody,
    EscalateBody,
    ReceiveBody,
    ReferBody,
    RequestList,
    RequestView,
    TransferBody,
    WebQuestionBody,
    WorkOrderBody,
)
from shared.contracts.common import Partner
from shared.contracts.intake import Channel
from shared.deps import Cursor, next_page
from shared.evaluation import EvaluationBody

router = APIRouter(tags=["intake"])
RequestId = Annotated[str, Path(pattern=r"^rq-[0-9a-f]{32}$", description="intake case id")]


@router.post("/requests", status_code=201, response_model=RequestView, summary="Receive a request on any channel")
async def receive(body: ReceiveBody, call: Writer, svc: IntakeDep) -> RequestView:
    return await receive_request(svc, body, call)


@router.post("/web/questions", status_code=201, response_model=RequestView, summary="Post a 12348 web question")
async def web_question(body: WebQuestionBody, call: Writer, svc: IntakeDep) -> RequestView:
    full = ReceiveBody(channel=Channel.WEB_12348, **body.model_dump(exclude={"person"}), person=body.person)
    return await receive_request(svc, full, call)


@router.post("/requests/{request_id}/answer", response_model=RequestView, summary="Answer on the spot (当场办结)")
async def answer(request_id: RequestId, call: Writer, svc: IntakeDep, body: AnswerBody | None = None) -> RequestView:
    command = domain.AnswerRequest(on_the_spot=(body or AnswerBody()).on_the_spot, at=call.now)
    return request_view(await act(svc, request_id, command, call))


@router.post("/requests/{request_id}/refer", response_model=RequestView, summary="Refer to legal aid/mediation/notary")
async def refer(request_id: RequestId, body: ReferBody, call: Writer, svc: IntakeDep) -> RequestView:
    return request_view(await act(svc, request_id, domain.ReferRequest(**body.model_dump(), at=call.now), call))


@router.post("/requests/{request_id}/escalate", response_model=RequestView, summary="Hotline/web → walk-in")
async def escalate(request_id: RequestId, body: EscalateBody, call: Writer, svc: IntakeDep) -> RequestView:
    return request_view(await act(svc, request_id, domain.EscalateRequest(**body.model_dump(), at=call.now), call))


@router.post("/requests/{request_id}/transfer", response_model=RequestView, summary="Transfer to 12345 or 110 (转办)")
async def transfer(request_id: RequestId, body: TransferBody, call: Writer, svc: IntakeDep) -> RequestView:
    command = domain.TransferRequest(to=Partner(body.to), reason=body.reason, asked=body.asked, at=call.now)
    return request_view(await act(svc, request_id, command, call))


@router.post("/requests/{request_id}/work-order", response_model=RequestView, summary="Open a work order (工单)")
async def open_work_order(
    request_id: RequestId, call: Writer, svc: IntakeDep, body: WorkOrderBody | None = None
) -> RequestView:
    command = domain.OpenWorkOrder(deadline_hours=(body or WorkOrderBody()).deadline_hours, at=call.now)
    return request_view(await act(svc, request_id, command, call))


@router.post("/requests/{request_id}/work-order/complete", response_model=RequestView, summary="Complete work order")
async def complete_work_order(request_id: RequestId, call: Writer, svc: IntakeDep) -> RequestView:
    return request_view(await act(svc, request_id, domain.CompleteWorkOrder(at=call.now), call))


@router.post("/requests/{request_id}/reply", response_model=RequestView, summary="Publish the reply to a web question")
async def reply(request_id: RequestId, call: Writer, svc: IntakeDep) -> RequestView:
    return await publish_web_reply(svc, request_id, call)


@router.post("/requests/{request_id}/close", response_model=RequestView, summary="Close the request")
async def close(request_id: RequestId, call: Writer, svc: IntakeDep) -> RequestView:
    return request_view(await act(svc, request_id, domain.CloseRequest(at=call.now), call))


@router.post("/requests/{request_id}/evaluate", response_model=RequestView, summary="Satisfaction 1–5 (随单评价)")
async def evaluate(request_id: RequestId, body: EvaluationBody, call: Writer, svc: IntakeDep) -> RequestView:
    command = domain.EvaluateRequest(satisfaction=body.satisfaction, at=call.now)
    return request_view(await act(svc, request_id, command, call))


@router.get("/requests/{request_id}", response_model=RequestView, summary="One request")
async def get_request(request_id: RequestId, _: Reader, svc: IntakeDep) -> RequestView:
    return RequestView.model_validate(await stored(svc, request_id, "request", "request_id"))


@router.get("/requests", response_model=RequestList, summary="Find requests")
async def list_requests(
    call: Reader,
    svc: IntakeDep,
    channel: Channel | None = None,
    region: Annotated[str | None, Query(pattern=r"^\d{2,12}$", description="code or prefix (e.g. 4310)")] = None,
    status: domain.Status | None = None,
    overdue: bool | None = Query(default=None, description="open work orders past their deadline"),
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    skip: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    after: Cursor = None,
) -> RequestList:
    query: dict[str, Any] = {"record": "request"}
    if channel is not None:
        query["channel"] = channel.value
    if region is not None:
        query["region"] = region if len(region) == 12 else {"$prefix": region}
    if status is not None:
        query["status"] = status.value
    if overdue is True:
        query["work_order_open"] = True
        query["work_order_due_at"] = {"$lte": call.now}  # a deadline instant is already past
    elif overdue is False:
        query["$or"] = [{"work_order_open": False}, {"work_order_due_at": {"$gt": call.now}}]
    docs = await svc.cases.find(query, sort="received_at", descending=True, limit=limit, skip=skip, after=after)
    items = [RequestView.model_validate(d) for d in docs]
    return RequestList(items=items, count=len(items), next=next_page(docs, limit, "received_at"))
