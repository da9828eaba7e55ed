"""Legal aid HTTP API: applications, partner notices, the case steps, the worklist and the provider registry.

Scopes: `legal_aid:apply` (open an application, contest a refusal), `legal_aid:review` (eligibility review),
`legal_aid:write` (assign, close, quality review, subsidy, notary fee waiver), `legal_aid:read` (views),
`partner:<court|police|procuratorate>` (notices; the token's partner must be the notifying organ).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from services.legal_aid import domain, handlers
from services.legal_aid.handlers import LegalAid
from services.legal_aid.views import deadline_view
from shared.api import IdempotencyKey
from shared.auth import Principal, require
from shared.commands import CommandContext, Outcome
from shared.contracts.common import Partner, PersonRef, RegionCode, ShortText
from shared.contracts.legal_aid import (
    Channel,
    MatterType,
    ProviderId,
    ProviderType,
    QualityMethod,
    SpecialGroup,
)
from shared.contracts.legal_aid import (
    Outcome as CaseOutcome,
)
from shared.contracts.partners import (
    DefenceKind,
    DetaineeApplicationForwarded,
    NotifiedDefenceRequested,
    ProceedingStage,
)
from shared.errors import Forbidden
from shared.pii import PersonData, PersonVault

router = APIRouter(tags=["legal aid"])

APPLY = require("legal_aid:apply")
REVIEW = require("legal_aid:review")
WRITE = require("legal_aid:write")
READ = require("legal_aid:read", "legal_aid:review", "legal_aid:write")
PARTNER = require("partner:court", "partner:police", "partner:procuratorate")

Income = Annotated[float, Field(ge=0, allow_inf_nan=False, description="yuan per household member per month")]


def service(request: Request) -> LegalAid:
    return request.app.state.legal_aid


def vault(request: Request) -> PersonVault:
    return request.app.state.vault


Service = Annotated[LegalAid, Depends(service)]
Vault = Annotated[PersonVault, Depends(vault)]


def now() -> datetime:
    return datetime.now(UTC)


def ctx(principal: Principal, key: str | None, step: str) -> CommandContext:
    # the same key on two routes (or two cases) must not replay the other's outcome: route and case are in it
    return CommandContext(actor=principal.actor, idempotency_key=f"http:{step}:{key}" if key else None)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- requests --------------------------------------------------------------------------------------------------


class ApplicationIn(Strict):
    channel: Literal[Channel.WALK_IN, Channel.WEB] = Channel.WALK_IN
    region: RegionCode
    matter_type: MatterType
    matter: ShortText
    applicant: PersonData
    opposing_parties: list[PersonData] = Field(default_factory=list, max_length=20)
    household_income_per_head: Income | None = None
    special_groups: list[SpecialGroup] = Field(default_factory=list, max_length=10)


class DefenceNoticeIn(Strict):
    kind: Literal["notified_defence", "duty_lawyer"]
    organ: Partner
    partner_reference: Annotated[str, Field(min_length=1, max_length=64)]
    region: RegionCode
    defendant_ref: PersonRef
    stage: ProceedingStage
    charge: ShortText
    reason: ShortText | None = None
    notified_at: datetime


class DetaineeNoticeIn(Strict):
    kind: Literal["detainee_application"]
    organ: Partner
    partner_reference: Annotated[str, Field(min_length=1, max_length=64)]
    region: RegionCode
    applicant_ref: PersonRef
    matter: ShortText
    received_at: datetime
    forwarded_at: datetime


NoticeIn = Annotated[DefenceNoticeIn | DetaineeNoticeIn, Field(discriminator="kind")]


class ReviewIn(Strict):
    matter_type: MatterType | None = None
    household_income_per_head: Income | None = None
    special_groups: list[SpecialGroup] | None = None
    refuse_reason: ShortText | None = None


class ContestIn(Strict):
    grounds: ShortText


class AssignIn(Strict):
    provider_id: ProviderId


class CloseIn(Strict):
    outcome: CaseOutcome
    summary: ShortText | None = None


class QualityIn(Strict):
    score: int = Field(ge=0, le=100)
    method: QualityMethod


class SubsidyIn(Strict):
    amount: float = Field(gt=0, le=1_000_000, allow_inf_nan=False)


class FeeWaiverIn(Strict):
    notary_matter: ShortText
    waiver: float = Field(default=1.0, gt=0, le=1, allow_inf_nan=False)


# -- responses -------------------------------------------------------------------------------------------------


class DeadlineOut(BaseModel):
    name: str
    due_at: datetime
    met_at: datetime | None = None
    status: Literal["pending", "due", "met", "missed"]


class CaseOut(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    status: str
    kind: str | None
    channel: str | None
    region: str
    matter_type: str | None
    matter: str
    client_ref: str | None = None
    organ: str | None = None
    partner_reference: str | None = None
    referral_case_id: str | None = None
    applied_at: datetime | None = None
    notified_at: datetime | None = None
    decision: str | None = None
    reason: str | None = None
    grounds: list[dict[str, Any]] = []
    decided_at: datetime | None = None
    granted_at: datetime | None = None
    contested: bool = False
    provider_type: str | None = None
    provider_id: str | None = None
    assigned_at: datetime | None = None
    outcome: str | None = None
    closed_at: datetime | None = None
    quality_score: int | None = None
    quality_method: str | None = None
    subsidy: float | None = None
    fee_waivers: list[dict[str, Any]] = []
    deadlines: list[DeadlineOut]
    version: int


class ProviderOut(BaseModel):
    id: str
    type: ProviderType
    city: str
    capacity: int
    open_cases: int
    available: bool


def case_out(doc: dict[str, Any], at: datetime | None = None) -> CaseOut:
    return CaseOut.model_validate({**doc, "id": doc["_id"], "deadlines": deadline_view(doc, at or now())})


async def respond(svc: LegalAid, outcome: Outcome[Any]) -> CaseOut:
    return case_out(await svc.get_case(outcome.stream_id))


# -- routes ----------------------------------------------------------------------------------------------------


@router.post("/applications", status_code=201, response_model=CaseOut)
async def apply(
    body: ApplicationIn, svc: Service, persons: Vault, key: IdempotencyKey = None, principal: Principal = APPLY
) -> CaseOut:
    svc.require_profile(body.region)  # before anything is written
    applicant = await persons.register(body.applicant)
    opposing = tuple([await persons.register(p) for p in body.opposing_parties])
    cmd = domain.ReceiveApplication(
        channel=body.channel,
        region=body.region,
        matter_type=body.matter_type,
        matter=body.matter,
        applicant_ref=applicant,
        opposing_party_refs=opposing,
        household_income_per_head=body.household_income_per_head,
        special_groups=tuple(body.special_groups),
        applied_at=now(),
    )
    create = replace(ctx(principal, key, "apply"), creates=True)
    return await respond(svc, await svc.open_application(handlers.new_case_id(), cmd, create))


@router.post("/notices", status_code=201, response_model=CaseOut)
async def notice(body: NoticeIn, svc: Service, key: IdempotencyKey = None, principal: Principal = PARTNER) -> CaseOut:
    if principal.partner != body.organ.value:
        raise Forbidden(f"a {principal.partner} token cannot send a notice from the {body.organ.value}")
    c = ctx(principal, key, "notice")
    if isinstance(body, DefenceNoticeIn):
        payload = NotifiedDefenceRequested(
            partner_reference=body.partner_reference,
            kind=DefenceKind(body.kind),
            defendant_ref=body.defendant_ref,
            region=body.region,
            stage=body.stage,
            charge=body.charge,
            notified_at=body.notified_at,
            reason=body.reason,
        )
        return await respond(svc, await svc.notified_defence(body.organ, payload, c))
    detainee = DetaineeApplicationForwarded(
        partner_reference=body.partner_reference,
        applicant_ref=body.applicant_ref,
        region=body.region,
        matter=body.matter,
        received_at=body.received_at,
        forwarded_at=body.forwarded_at,
    )
    return await respond(svc, await svc.detainee_application(body.organ, detainee, c))


@router.post("/applications/{case_id}/review", response_model=CaseOut)
async def review(
    case_id: str, body: ReviewIn, svc: Service, key: IdempotencyKey = None, principal: Principal = REVIEW
) -> CaseOut:
    cmd = domain.Review(
        at=now(),
        matter_type=body.matter_type,
        household_income_per_head=body.household_income_per_head,
        special_groups=tuple(body.special_groups) if body.special_groups is not None else None,
        refuse_reason=body.refuse_reason,
    )
    return await respond(svc, await svc.review(case_id, cmd, ctx(principal, key, f"review:{case_id}")))


async def _step(svc: LegalAid, case_id: str, cmd: Any, c: CommandContext) -> CaseOut:
    await svc.get_case(case_id)  # 404 rather than opening a stream by accident
    return await respond(svc, await svc.bus.execute(case_id, cmd, c))


@router.post("/applications/{case_id}/contest", response_model=CaseOut)
async def contest(
    case_id: str, body: ContestIn, svc: Service, key: IdempotencyKey = None, principal: Principal = APPLY
) -> CaseOut:
    return await _step(
        svc, case_id, domain.Contest(grounds=body.grounds, at=now()), ctx(principal, key, f"contest:{case_id}")
    )


@router.post("/applications/{case_id}/assign", response_model=CaseOut)
async def assign(
    case_id: str, body: AssignIn, svc: Service, key: IdempotencyKey = None, principal: Principal = WRITE
) -> CaseOut:
    return await respond(
        svc, await svc.assign(case_id, body.provider_id, now(), ctx(principal, key, f"assign:{case_id}"))
    )


@router.post("/applications/{case_id}/close", response_model=CaseOut)
async def close(
    case_id: str, body: CloseIn, svc: Service, key: IdempotencyKey = None, principal: Principal = WRITE
) -> CaseOut:
    cmd = domain.Close(outcome=body.outcome, summary=body.summary, at=now())
    return await _step(svc, case_id, cmd, ctx(principal, key, f"close:{case_id}"))


@router.post("/applications/{case_id}/quality-review", response_model=CaseOut)
async def quality_review(
    case_id: str, body: QualityIn, svc: Service, key: IdempotencyKey = None, principal: Principal = WRITE
) -> CaseOut:
    cmd = domain.ReviewQuality(score=body.score, method=body.method, at=now())
    return await _step(svc, case_id, cmd, ctx(principal, key, f"quality:{case_id}"))


@router.post("/applications/{case_id}/subsidy", response_model=CaseOut)
async def subsidy(
    case_id: str, body: SubsidyIn, svc: Service, key: IdempotencyKey = None, principal: Principal = WRITE
) -> CaseOut:
    return await _step(
        svc, case_id, domain.PaySubsidy(amount=body.amount, at=now()), ctx(principal, key, f"subsidy:{case_id}")
    )


@router.post("/applications/{case_id}/fee-waivers", response_model=CaseOut)
async def fee_waiver(
    case_id: str, body: FeeWaiverIn, svc: Service, key: IdempotencyKey = None, principal: Principal = WRITE
) -> CaseOut:
    cmd = domain.GrantNotaryFeeWaiver(case_id=case_id, notary_matter=body.notary_matter, waiver=body.waiver, at=now())
    return await _step(svc, case_id, cmd, ctx(principal, key, f"waiver:{case_id}"))


@router.get("/applications/{case_id}", response_model=CaseOut)
async def get_case(case_id: str, svc: Service, principal: Principal = READ) -> CaseOut:
    return case_out(await svc.get_case(case_id))


StatusQ = Literal[
    "applied", "refused", "contested", "granted", "assigned", "closed", "quality_reviewed", "subsidy_paid"
]


@router.get("/applications", response_model=list[CaseOut])
async def worklist(
    svc: Service,
    principal: Principal = READ,
    status: StatusQ | None = None,
    region: Annotated[str | None, Query(pattern=r"^\d{2,12}$", description="region code or its prefix")] = None,
    due_before: datetime | None = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CaseOut]:
    """The worklist: cases by status and region; `due_before` / `overdue` pick cases by their next unmet deadline."""
    at = now()
    query: dict[str, Any] = {}
    if status:
        query["status"] = status
    if region:
        query["region"] = region if len(region) == 12 else {"$prefix": region}
    due: dict[str, Any] = {}
    if due_before is not None:
        due["$lte"] = due_before if due_before.tzinfo else due_before.replace(tzinfo=UTC)
    if overdue:
        due["$lte"] = min(due.get("$lte", at), at)
    elif overdue is False:
        due["$gt"] = at
    if due:
        query["next_due_at"] = {"$ne": None, **due}
    docs = await svc.cases.find(query, sort="next_due_at" if due else "_id", limit=limit)
    return [case_out(d, at) for d in docs]


@router.get("/providers", response_model=list[ProviderOut])
async def providers(
    svc: Service,
    principal: Principal = READ,
    city: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
) -> list[ProviderOut]:
    loads = await svc.provider_loads()
    return [
        ProviderOut(
            id=p.id,
            type=p.type,
            city=p.city,
            capacity=p.capacity,
            open_cases=loads.get(p.id, 0),
            available=loads.get(p.id, 0) < p.capacity,
        )
        for p in svc.providers.providers
        if city is None or p.city == city
    ]
