"""Notarisation applications from 申请 to 出证: submit, one-time notice, materials, accept or refuse, fee, issue,
and the applicant's evaluation (随单评价)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from services.notary.deps import NotaryDep, Reader, Writer
from services.notary.domain import (
    AcceptApplication,
    IssueMaterialsNotice,
    RefuseApplication,
    SupplementMaterials,
)
from services.notary.handlers import (
    act_on_application,
    application_out,
    assess_fee,
    issue_certificate,
    stored_application,
    submit_application,
)
from services.notary.schemas import (
    ApplicationBody,
    ApplicationList,
    ApplicationView,
    AssessFeeBody,
    IssueBody,
    MaterialsBody,
    RefuseBody,
)
from shared.calendar import china_date
from shared.contracts.notary import MatterId, OfficeCode
from shared.errors import ValidationFailed
from shared.evaluation import EvaluateCase, EvaluationBody

router = APIRouter(tags=["notary"])
ApplicationId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
Status = Literal["applied", "accepted", "refused", "fee_assessed", "issued"]


@router.post("/applications", status_code=201, response_model=ApplicationView, summary="Apply for notarisation")
async def submit(body: ApplicationBody, call: Writer, svc: NotaryDep) -> ApplicationView:
    return await submit_application(svc, body, call)


@router.get("/applications", response_model=ApplicationList, summary="Find applications (the worklist)")
async def list_applications(
    call: Reader,
    svc: NotaryDep,
    status: Annotated[Status | None, Query()] = None,
    matter: Annotated[MatterId | None, Query()] = None,
    office: Annotated[OfficeCode | None, Query()] = None,
    overdue: Annotated[bool | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ApplicationList:
    if matter is not None and matter not in svc.catalogue:
        raise ValidationFailed(f"unknown matter type {matter!r}", field="matter")
    today = china_date(call.now)
    query: dict[str, Any] = {"kind": "application"}
    query |= {k: v for k, v in (("status", status), ("matter", matter), ("office", office)) if v}
    if overdue is True:
        query |= {"open": True, "due_on": {"$lt": today.isoformat()}}
    elif overdue is False:
        query["$or"] = [{"open": False}, {"due_on": {"$gte": today.isoformat()}}]
    docs = await svc.application_views.find(query, sort="due_on", limit=limit)
    items = [application_out(doc, today) for doc in docs]
    return ApplicationList(items=items, count=len(items))


@router.get("/applications/{application_id}", response_model=ApplicationView, summary="One application")
async def get_application(application_id: ApplicationId, call: Reader, svc: NotaryDep) -> ApplicationView:
    return await stored_application(svc, application_id, call.now)


@router.post("/applications/{application_id}/notice", response_model=ApplicationView, summary="一次性告知")
async def notice(application_id: ApplicationId, call: Writer, svc: NotaryDep) -> ApplicationView:
    """Records every missing material in one notice; a second notice is refused (409)."""
    return await act_on_application(svc, application_id, IssueMaterialsNotice(at=call.now), call)


@router.post("/applications/{application_id}/materials", response_model=ApplicationView, summary="Add materials")
async def supply(application_id: ApplicationId, body: MaterialsBody, call: Writer, svc: NotaryDep) -> ApplicationView:
    command = SupplementMaterials(materials=body.materials, in_person=body.in_person, at=call.now)
    return await act_on_application(svc, application_id, command, call)


@router.post("/applications/{application_id}/accept", response_model=ApplicationView, summary="Accept (受理)")
async def accept(application_id: ApplicationId, call: Writer, svc: NotaryDep) -> ApplicationView:
    command = AcceptApplication(at=call.now)
    return await act_on_application(svc, application_id, command, call)


@router.post("/applications/{application_id}/refuse", response_model=ApplicationView, summary="Refuse (不予受理)")
async def refuse(application_id: ApplicationId, body: RefuseBody, call: Writer, svc: NotaryDep) -> ApplicationView:
    return await act_on_application(svc, application_id, RefuseApplication(reason=body.reason, at=call.now), call)


@router.post("/applications/{application_id}/evaluate", response_model=ApplicationView, summary="Satisfaction 1–5")
async def evaluate(
    application_id: ApplicationId, body: EvaluationBody, call: Writer, svc: NotaryDep
) -> ApplicationView:
    """随单评价 (seed 004): the applicant rates the issued or refused application, once."""
    command = EvaluateCase(satisfaction=body.satisfaction, at=call.now)
    return await act_on_application(svc, application_id, command, call)


@router.post("/applications/{application_id}/assess-fee", response_model=ApplicationView, summary="Assess the fee")
async def assess(application_id: ApplicationId, body: AssessFeeBody, call: Writer, svc: NotaryDep) -> ApplicationView:
    return await assess_fee(svc, application_id, body, call)


@router.post("/applications/{application_id}/issue", response_model=ApplicationView, summary="Issue (出证)")
async def issue(application_id: ApplicationId, body: IssueBody, call: Writer, svc: NotaryDep) -> ApplicationView:
    return await issue_certificate(svc, application_id, body.collected_in_person, call)
