"""Web platform quality control (网络平台质检, seed 000: ≥3% of answered web questions inspected): the inspector's
result on a drawn reply, and a region's monthly count against the quota. The draw itself happens when a reply is
published (requests.py `/reply`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from services.intake import domain
from services.intake.deps import IntakeDep, Reader, Writer
from services.intake.handlers import act, request_view, stored
from services.intake.routes.requests import RequestId
from services.intake.schemas import InspectionBody, QcMonthView, RequestView

router = APIRouter(tags=["intake"])
RegionPath = Annotated[str, Path(pattern=r"^\d{12}$", description="the 12-digit region the replies were counted in")]
MonthPath = Annotated[str, Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="China calendar month, YYYY-MM")]


@router.post("/requests/{request_id}/inspection", response_model=RequestView, summary="Record a QC inspection (质检)")
async def inspect(request_id: RequestId, body: InspectionBody, call: Writer, svc: IntakeDep) -> RequestView:
    command = domain.InspectWebReply(**body.model_dump(), at=call.now)
    return request_view(await act(svc, request_id, command, call))


@router.get("/qc/{region}/{month}", response_model=QcMonthView, summary="A region's month: published, drawn, quota")
async def qc_month(region: RegionPath, month: MonthPath, _: Reader, svc: IntakeDep) -> QcMonthView:
    return QcMonthView.model_validate(await stored(svc, f"qc-{region}-{month}", "qc_month", "month"))
