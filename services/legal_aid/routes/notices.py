"""Notices from the court, procuratorate and police over HTTP (the same path as their Kafka topics take):
通知辩护 / 法律帮助, and a detainee's application forwarded. A partner sends notices only in its own name."""

from __future__ import annotations

from fastapi import APIRouter

from services.legal_aid.deps import LegalAidDep, Partner
from services.legal_aid.handlers import receive_notice
from services.legal_aid.schemas import CaseView, NoticeBody

router = APIRouter(tags=["legal aid"])


@router.post("/notices", status_code=201, response_model=CaseView, summary="A partner notice")
async def notice(body: NoticeBody, call: Partner, la: LegalAidDep) -> CaseView:
    return await receive_notice(la, body, call)
