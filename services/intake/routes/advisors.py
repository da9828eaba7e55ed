"""Village legal advisors (村居法律顾问): the advisor of each village and the hours they serve."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from services.intake import domain
from services.intake.deps import Admin, IntakeDep, Reader, Writer
from services.intake.handlers import act, stored, village_stream, village_view
from services.intake.schemas import AssignBody, ServiceLogBody, VillageList, VillageView
from shared.deps import Cursor, next_page
from shared.regions import KnownRegion

router = APIRouter(tags=["intake"])
VillageRegion = Annotated[KnownRegion, Path(description="12-digit village/community code in the reference data")]


@router.post("/advisors/{village_region}/assign", response_model=VillageView, summary="Assign the village's advisor")
async def assign(village_region: VillageRegion, body: AssignBody, call: Admin, svc: IntakeDep) -> VillageView:
    command = domain.AssignAdvisor(
        village_region=village_region, advisor_id=body.advisor_id, advisor_kind=body.advisor_kind, at=call.now
    )
    return village_view(await act(svc, village_stream(village_region), command, call), village_region)


@router.post("/advisors/{village_region}/unassign", response_model=VillageView, summary="Remove the advisor")
async def unassign(village_region: VillageRegion, call: Admin, svc: IntakeDep) -> VillageView:
    command = domain.UnassignAdvisor(village_region=village_region, at=call.now)
    return village_view(await act(svc, village_stream(village_region), command, call), village_region)


@router.post("/advisors/{village_region}/services", response_model=VillageView, summary="Log advisor service hours")
async def log_service(village_region: VillageRegion, body: ServiceLogBody, call: Writer, svc: IntakeDep) -> VillageView:
    command = domain.LogAdvisorService(village_region=village_region, **body.model_dump(), at=call.now)
    return village_view(await act(svc, village_stream(village_region), command, call), village_region)


@router.get("/advisors/{village_region}", response_model=VillageView, summary="A village's advisor and hours")
async def get_village(village_region: VillageRegion, _: Reader, svc: IntakeDep) -> VillageView:
    return VillageView.model_validate(await stored(svc, village_stream(village_region), "village", "village_region"))


@router.get("/advisors", response_model=VillageList, summary="Villages and their advisors")
async def list_villages(
    _: Reader,
    svc: IntakeDep,
    region: Annotated[str | None, Query(pattern=r"^\d{2,12}$", description="code prefix")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    skip: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    after: Cursor = None,
) -> VillageList:
    query: dict[str, Any] = {"record": "village"}
    if region is not None:
        query["region"] = {"$prefix": region}
    docs = await svc.cases.find(query, sort="_id", limit=limit, skip=skip, after=after)
    items = [VillageView.model_validate(d) for d in docs]
    return VillageList(items=items, count=len(items), next=next_page(docs, limit, "_id"))
