"""The worklist: cases by status and region, and by their next unmet deadline (`due_before`, `overdue`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from services.legal_aid.deps import LegalAidDep, Reader
from services.legal_aid.handlers import find_cases
from services.legal_aid.schemas import CaseView, Status

router = APIRouter(tags=["legal aid"])


@router.get("/applications", response_model=list[CaseView], summary="The worklist")
async def worklist(
    call: Reader,
    la: LegalAidDep,
    status: Status | None = None,
    region: Annotated[str | None, Query(pattern=r"^\d{2,12}$", description="region code or its prefix")] = None,
    due_before: datetime | None = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CaseView]:
    """Cases by status and region; `due_before` / `overdue` pick cases by their next unmet deadline."""
    return await find_cases(la, call, status=status, region=region, due_before=due_before, overdue=overdue, limit=limit)
