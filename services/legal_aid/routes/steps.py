"""A case's steps after it is opened: supplementary materials (补充材料), review (审查), objection (异议, to the
justice bureau), assign, close, quality review, subsidy, the notary fee waiver for a granted recipient, and the
recipient's evaluation (随单评价)."""

from __future__ import annotations

from fastapi import APIRouter

from services.legal_aid import domain
from services.legal_aid.deps import Applicant, LegalAidDep, Reviewer, Writer
from services.legal_aid.handlers import assign_provider, review_application, take_step
from services.legal_aid.routes.applications import CaseId
from services.legal_aid.schemas import (
    AssignBody,
    CaseView,
    CloseBody,
    ContestBody,
    FeeWaiverBody,
    QualityBody,
    ReviewBody,
    SubsidyBody,
    SupplementRequestBody,
)
from shared.evaluation import EvaluateCase, EvaluationBody

router = APIRouter(tags=["legal aid"])


@router.post("/applications/{case_id}/review", response_model=CaseView, summary="Decide eligibility (审查)")
async def review(case_id: CaseId, body: ReviewBody, call: Reviewer, la: LegalAidDep) -> CaseView:
    return await review_application(la, case_id, body, call)


@router.post(
    "/applications/{case_id}/supplement-request", response_model=CaseView, summary="Ask for materials (补充材料)"
)
async def request_supplement(case_id: CaseId, body: SupplementRequestBody, call: Reviewer, la: LegalAidDep) -> CaseView:
    return await take_step(la, case_id, domain.RequestSupplement(missing=body.missing, at=call.now), call)


@router.post("/applications/{case_id}/supplement", response_model=CaseView, summary="Record the materials' arrival")
async def receive_supplement(case_id: CaseId, call: Reviewer, la: LegalAidDep) -> CaseView:
    return await take_step(la, case_id, domain.ReceiveSupplement(at=call.now), call)


@router.post(
    "/applications/{case_id}/contest",
    response_model=CaseView,
    summary="Object to a refusal (异议)",
)
async def contest(case_id: CaseId, body: ContestBody, call: Applicant, la: LegalAidDep) -> CaseView:
    return await take_step(la, case_id, domain.Contest(grounds=body.grounds, at=call.now), call)


@router.post("/applications/{case_id}/assign", response_model=CaseView, summary="Assign a provider")
async def assign(case_id: CaseId, body: AssignBody, call: Writer, la: LegalAidDep) -> CaseView:
    return await assign_provider(la, case_id, body.provider_id, call)


@router.post("/applications/{case_id}/close", response_model=CaseView, summary="Close the case with its outcome")
async def close(case_id: CaseId, body: CloseBody, call: Writer, la: LegalAidDep) -> CaseView:
    return await take_step(la, case_id, domain.Close(outcome=body.outcome, summary=body.summary, at=call.now), call)


@router.post("/applications/{case_id}/quality-review", response_model=CaseView, summary="Review the case's quality")
async def quality_review(case_id: CaseId, body: QualityBody, call: Writer, la: LegalAidDep) -> CaseView:
    return await take_step(la, case_id, domain.ReviewQuality(**body.model_dump(), at=call.now), call)


@router.post("/applications/{case_id}/subsidy", response_model=CaseView, summary="Pay the provider's subsidy")
async def subsidy(case_id: CaseId, body: SubsidyBody, call: Writer, la: LegalAidDep) -> CaseView:
    return await take_step(la, case_id, domain.PaySubsidy(amount=body.amount, at=call.now), call)


@router.post("/applications/{case_id}/fee-waivers", response_model=CaseView, summary="Waive a notary fee (flow 7)")
async def fee_waiver(case_id: CaseId, body: FeeWaiverBody, call: Writer, la: LegalAidDep) -> CaseView:
    command = domain.GrantNotaryFeeWaiver(case_id=case_id, **body.model_dump(), at=call.now)
    return await take_step(la, case_id, command, call)


@router.post("/applications/{case_id}/evaluate", response_model=CaseView, summary="Satisfaction 1–5 (随单评价)")
async def evaluate(case_id: CaseId, body: EvaluationBody, call: Applicant, la: LegalAidDep) -> CaseView:
    return await take_step(la, case_id, EvaluateCase(satisfaction=body.satisfaction, at=call.now), call)
