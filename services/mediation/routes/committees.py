"""The committee registry (人民调解委员会 / 人民调解员 名册): who covers what, and its changes as events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from services.mediation import roster
from services.mediation.deps import Admin, MediationDep, Reader
from services.mediation.routes.disputes import RegionQuery, TextQuery
from services.mediation.schemas import CommitteeIn, CommitteeList, DeactivateIn, MediatorIn, RegistryOut

router = APIRouter(tags=["mediation"])
RegistryPath = Annotated[str, Path(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


@router.get("/committees", response_model=CommitteeList)
async def committees(
    _: Reader, m: MediationDep, region: RegionQuery = None, dispute_type: TextQuery = None
) -> CommitteeList:
    return roster.committee_list(m.registry, region, dispute_type)


@router.post("/committees", status_code=201, response_model=RegistryOut)
async def register_committee(body: CommitteeIn, call: Admin, m: MediationDep) -> RegistryOut:
    return await roster.register_committee(m, body, call)


@router.post("/committees/{committee_id}/mediators", status_code=201, response_model=RegistryOut)
async def add_mediator(committee_id: RegistryPath, body: MediatorIn, call: Admin, m: MediationDep) -> RegistryOut:
    return await roster.add_mediator(m, committee_id, body, call)


@router.post("/committees/{committee_id}/mediators/{mediator_id}/deactivate", response_model=RegistryOut)
async def deactivate_mediator(
    committee_id: RegistryPath, mediator_id: RegistryPath, body: DeactivateIn, call: Admin, m: MediationDep
) -> RegistryOut:
    return await roster.deactivate_mediator(m, committee_id, mediator_id, body, call)
