"""The matter catalogue (公证事项): each matter's material checklist and standard fee."""

from __future__ import annotations

from fastapi import APIRouter

from services.notary.deps import NotaryDep, ReaderOrCourt
from services.notary.schemas import CatalogueView

router = APIRouter(tags=["notary"])


@router.get("/matters", response_model=CatalogueView, summary="The matter catalogue with checklists and fees")
async def list_matters(_: ReaderOrCourt, svc: NotaryDep) -> CatalogueView:
    return CatalogueView.model_validate(svc.catalogue.model_dump())
