"""Citizens' applications (walk-in or web): open one, read one case with its deadlines as they stand."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from services.legal_aid.deps import Applicant, LegalAidDep, Reader
from services.legal_aid.handlers import read_case, receive_application
from services.legal_aid.schemas import ApplicationBody, CaseView

router = APIRouter(tags=["legal aid"])
CaseId = Annotated[str, Path(description="legal aid case id")]


@router.post("/applications", status_code=201, response_model=CaseView, summary="Apply for legal aid")
async def apply(body: ApplicationBody, call: Applicant, la: LegalAidDep) -> CaseView:
    return await receive_application(la, body, call)


@router.get("/applications/{case_id}", response_model=CaseView, summary="One case and its deadlines")
async def get_case(case_id: CaseId, call: Reader, la: LegalAidDep) -> CaseView:
    return await read_case(la, case_id, call)
