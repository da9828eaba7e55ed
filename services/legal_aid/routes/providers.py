"""The provider registry (lawyers, grassroots legal workers, aid-centre staff) with each one's open cases."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.legal_aid.deps import LegalAidDep, Reader
from services.legal_aid.handlers import list_providers
from services.legal_aid.schemas import ProviderView

router = APIRouter(tags=["legal aid"])


@router.get("/providers", response_model=list[ProviderView], summary="Providers and their load")
async def providers(
    _: Reader, la: LegalAidDep, city: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None
) -> list[ProviderView]:
    return await list_providers(la, city)
