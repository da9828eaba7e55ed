"""What is due: the worklists (待指派 · 待调解 · 司法确认期限将届 · 待回访) and the lapsed-window sweep."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from services.mediation import handlers
from services.mediation.deps import MediationDep, Reader, Writer
from services.mediation.routes.disputes import TextQuery
from services.mediation.schemas import DisputeList, SweepOut
from services.mediation.views import WORKLISTS, worklist_query

router = APIRouter(tags=["mediation"])
Worklist = Literal["awaiting-assignment", "sessions-due", "confirmation-closing", "follow-ups-due"]


@router.get("/worklists/{name}", response_model=DisputeList)
async def worklist(
    name: Worklist,
    call: Reader,
    m: MediationDep,
    within_days: Annotated[int | None, Query(ge=0, le=90)] = None,
    committee: TextQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DisputeList:
    """待指派 · 待调解 · 司法确认期限将届 · 待回访."""
    assert name in WORKLISTS
    query, sort = worklist_query(name, call.now, m.settings.closing_within_days if within_days is None else within_days)
    if committee is not None:
        query["committee_id"] = committee
    return handlers.dispute_list(await m.cases.find(query, sort=sort, limit=limit), call.now)


@router.post("/deadlines/sweep", response_model=SweepOut)
async def sweep(call: Writer, m: MediationDep) -> SweepOut:
    """Record the lapse of every confirmation window that closed unused (also run periodically)."""
    return SweepOut(lapsed=await handlers.sweep_lapsed_windows(m, call.now, call.actor))
