"""A court's feedback on a notarial document used as evidence (采信 or not)."""

from __future__ import annotations

from fastapi import APIRouter

from services.notary.deps import Court, NotaryDep
from services.notary.handlers import court_feedback
from services.notary.schemas import ApplicationView, FeedbackBody

router = APIRouter(tags=["notary"])


@router.post("/feedback", status_code=202, response_model=ApplicationView, summary="The court adopted the document?")
async def feedback(body: FeedbackBody, call: Court, svc: NotaryDep) -> ApplicationView:
    return await court_feedback(svc, body, call)
