"""Disputes: registration at the window, the mediation lifecycle, the court's ruling, one dispute and the lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from services.mediation import domain, handlers, views
from services.mediation.deps import Court, MediationDep, Reader, Writer
from services.mediation.schemas import (
    AgreementIn,
    AssignIn,
    AtIn,
    CommandOut,
    DisputeList,
    DisputeOut,
    ExtendIn,
    FollowUpIn,
    ReasonIn,
    RegisterIn,
    RulingIn,
    SessionIn,
    recorded_at,
)
from shared.contracts.mediation import Source
from shared.deps import Cursor, next_page
from shared.evaluation import EvaluateCase, EvaluationBody

router = APIRouter(tags=["mediation"])
DisputeId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
RegionQuery = Annotated[str | None, Query(pattern=r"^\d{12}$", description="12-digit region code")]
TextQuery = Annotated[str | None, Query(min_length=1, max_length=100)]


@router.post("/disputes", status_code=201, response_model=CommandOut)
async def register(body: RegisterIn, call: Writer, m: MediationDep) -> CommandOut:
    """Walk-in registration (当事人申请) or a petition office referral (访调对接)."""
    return await handlers.register(m, body, call)


@router.post("/disputes/{dispute_id}/assign", response_model=CommandOut)
async def assign(dispute_id: DisputeId, body: AssignIn, call: Writer, m: MediationDep) -> CommandOut:
    return await handlers.assign(m, dispute_id, body, call)


@router.post("/disputes/{dispute_id}/sessions", response_model=CommandOut)
async def hold_session(dispute_id: DisputeId, body: SessionIn, call: Writer, m: MediationDep) -> CommandOut:
    at, next_on = recorded_at(body.at, call.now), body.next_session_on
    command = domain.HoldSession(at=at, minutes=body.minutes, next_session_on=next_on)
    return await handlers.act(m, dispute_id, command, call)


@router.post("/disputes/{dispute_id}/extend", response_model=CommandOut)
async def extend(dispute_id: DisputeId, body: ExtendIn, call: Writer, m: MediationDep) -> CommandOut:
    command = domain.ExtendTimeLimit(at=recorded_at(body.at, call.now), days=body.days, reason=body.reason)
    return await handlers.act(m, dispute_id, command, call)


@router.post("/disputes/{dispute_id}/agreement", response_model=CommandOut)
async def sign_agreement(dispute_id: DisputeId, body: AgreementIn, call: Writer, m: MediationDep) -> CommandOut:
    follow_up_days = m.settings.follow_up_days
    command = domain.SignAgreement(at=recorded_at(body.at, call.now), terms=body.terms, follow_up_days=follow_up_days)
    return await handlers.act(m, dispute_id, command, call)


@router.post("/disputes/{dispute_id}/fail", response_model=CommandOut)
async def fail(dispute_id: DisputeId, body: ReasonIn, call: Writer, m: MediationDep) -> CommandOut:
    command = domain.FailMediation(at=recorded_at(body.at, call.now), reason=body.reason)
    return await handlers.act(m, dispute_id, command, call)


@router.post("/disputes/{dispute_id}/withdraw", response_model=CommandOut)
async def withdraw(dispute_id: DisputeId, body: ReasonIn, call: Writer, m: MediationDep) -> CommandOut:
    command = domain.Withdraw(at=recorded_at(body.at, call.now), reason=body.reason)
    return await handlers.act(m, dispute_id, command, call)


@router.post("/disputes/{dispute_id}/request-confirmation", response_model=CommandOut)
async def request_confirmation(dispute_id: DisputeId, body: AtIn, call: Writer, m: MediationDep) -> CommandOut:
    command = domain.RequestConfirmation(at=recorded_at(body.at, call.now))
    return await handlers.act(m, dispute_id, command, call)


@router.post("/disputes/{dispute_id}/confirmation-ruling", response_model=CommandOut)
async def confirmation_ruling(dispute_id: DisputeId, body: RulingIn, call: Court, m: MediationDep) -> CommandOut:
    """The court's ruling over HTTP (the same as `JudicialConfirmationDecided` on its inbound topic)."""
    return handlers.command_out(call.answered(await handlers.record_ruling(m, dispute_id, body, call.context())))


@router.post("/disputes/{dispute_id}/follow-up", response_model=CommandOut)
async def follow_up(dispute_id: DisputeId, body: FollowUpIn, call: Writer, m: MediationDep) -> CommandOut:
    command = domain.RecordFollowUp(at=recorded_at(body.at, call.now), fulfilment=body.fulfilment, notes=body.notes)
    return await handlers.act(m, dispute_id, command, call)


@router.post("/disputes/{dispute_id}/archive", response_model=CommandOut)
async def archive(dispute_id: DisputeId, body: AtIn, call: Writer, m: MediationDep) -> CommandOut:
    return await handlers.act(m, dispute_id, domain.Archive(at=recorded_at(body.at, call.now)), call)


@router.post("/disputes/{dispute_id}/evaluate", response_model=CommandOut, summary="Satisfaction 1–5 (随单评价)")
async def evaluate(dispute_id: DisputeId, body: EvaluationBody, call: Writer, m: MediationDep) -> CommandOut:
    return await handlers.act(m, dispute_id, EvaluateCase(satisfaction=body.satisfaction, at=call.now), call)


@router.get("/disputes/{dispute_id}", response_model=DisputeOut)
async def get_dispute(dispute_id: DisputeId, call: Reader, m: MediationDep) -> DisputeOut:
    return await handlers.stored_dispute(m, dispute_id, call.now)


@router.get("/disputes", response_model=DisputeList)
async def list_disputes(
    call: Reader,
    m: MediationDep,
    source: Source | None = None,
    status: domain.Status | None = None,
    region: RegionQuery = None,
    committee: TextQuery = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    skip: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    after: Cursor = None,
) -> DisputeList:
    query = views.dispute_query(
        call.now, source=source, status=status, region=region, committee=committee, overdue=overdue
    )
    docs = await m.cases.find(query, sort="registered_at", limit=limit, skip=skip, after=after)
    return handlers.dispute_list(docs, call.now, next_page(docs, limit, "registered_at"))
