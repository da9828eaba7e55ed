"""Calls: 12348 hotline calls and the web platform's live consultations (实时咨询, 002), offered, answered
(connected) or abandoned; the hotline answer rate and the 30-second live-consultation rate count these.

The switchboard may give a call's times (`offered_at`, `answered_at`) when it logs a call after the fact: the
call then counts at those times, which may not lie in the future nor before the previous calendar year.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path

from services.intake import domain
from services.intake.deps import IntakeDep, Reader, Writer
from services.intake.handlers import act, call_view, offer_call, stored
from services.intake.schemas import AnswerCallBody, CallBody, CallView
from shared.deps import Call
from shared.errors import ValidationFailed

router = APIRouter(tags=["intake"])
CallId = Annotated[str, Path(pattern=r"^call-[0-9a-f]{32}$")]


def at_switchboard_time(call: Call, at: datetime | None, field: str) -> Call:
    """The call counted at the switchboard's time `at` (None: now), checked against the platform's clock."""
    if at is None:
        return call
    problem = domain.switchboard_time_problem(at, call.now)
    if problem:
        raise ValidationFailed(problem, field=field)
    return replace(call, now=at)


@router.post("/calls", status_code=201, response_model=CallView, summary="A hotline call or live consultation waits")
async def offer(body: CallBody, call: Writer, svc: IntakeDep) -> CallView:
    return await offer_call(svc, body.region, at_switchboard_time(call, body.offered_at, "offered_at"), body.line)


@router.post("/calls/{call_id}/answer", response_model=CallView, summary="The call was answered")
async def answer(call_id: CallId, call: Writer, svc: IntakeDep, body: AnswerCallBody | None = None) -> CallView:
    at_call = at_switchboard_time(call, (body or AnswerCallBody()).answered_at, "answered_at")
    return call_view(await act(svc, call_id, domain.AnswerCall(at=at_call.now), at_call))


@router.post("/calls/{call_id}/abandon", response_model=CallView, summary="The caller hung up before an answer")
async def abandon(call_id: CallId, call: Writer, svc: IntakeDep) -> CallView:
    return call_view(await act(svc, call_id, domain.AbandonCall(at=call.now), call))


@router.get("/calls/{call_id}", response_model=CallView, summary="One call")
async def get_call(call_id: CallId, _: Reader, svc: IntakeDep) -> CallView:
    return CallView.model_validate(await stored(svc, call_id, "call", "call_id"))
