"""HTTP API of the notary service: applications (申请 → 受理 → 缴费 → 出证), the matter catalogue, court feedback
and court commissions. Request model → command → bus → response model; every route declares its scope and every
POST honours `Idempotency-Key`.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.notary import handlers
from services.notary.domain import (
    CST,
    AcceptApplication,
    AcceptCommission,
    Application,
    Commission,
    HolidayCalendar,
    IssueMaterialsNotice,
    MatterCatalogue,
    PerformCommission,
    RefuseApplication,
    ReportCommission,
    SubmitApplication,
    SupplementMaterials,
    commission_stream,
    working_days_between,
)
from services.notary.handlers import WaiverRegistry
from services.notary.views import OPEN_STATUSES
from shared.api import IdempotencyKey
from shared.auth import Principal, require
from shared.commands import CommandBus, CommandContext
from shared.contracts.common import CaseId, LongText, PersonRef, RegionCode, ShortText
from shared.contracts.notary import MaterialId, MatterId, OfficeCode
from shared.contracts.partners import CommissionKind
from shared.errors import NotFound, ValidationFailed
from shared.pii import PersonData, PersonVault
from shared.readmodel import ReadModel

router = APIRouter(tags=["notary"])

READ = ("notary:read", "notary:write")
WRITE = "notary:write"
COURT = "partner:court"
AppId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]


# -- dependencies ---------------------------------------------------------------------------------------------
class Deps:
    """What the routes need from the wiring (set on `app.state` by main.py)."""

    def __init__(self, request: Request) -> None:
        s = request.app.state
        self.applications: CommandBus[Application] = s.applications_bus
        self.issuer: handlers.CertificateIssuer = s.issuer
        self.commissions: CommandBus[Commission] = s.commissions_bus
        self.app_views: ReadModel[Application] = s.applications
        self.commission_views: ReadModel[Commission] = s.commissions
        self.catalogue: MatterCatalogue = s.catalogue
        self.calendar: HolidayCalendar = s.calendar
        self.waivers: WaiverRegistry = s.waivers
        self.vault: PersonVault = s.vault


D = Annotated[Deps, Depends(Deps)]


def now() -> datetime:
    return datetime.now(UTC)


def ctx(principal: Principal, key: str | None) -> CommandContext:
    return CommandContext(actor=principal.actor, idempotency_key=key)


# -- models ---------------------------------------------------------------------------------------------------
class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApplicationIn(Body):
    region: RegionCode
    office: OfficeCode
    matter: MatterId
    applicant_ref: PersonRef | None = None
    applicant: PersonData | None = None  # stored encrypted in this service's vault; only the ref travels
    materials_supplied: list[MaterialId] = Field(default_factory=list, max_length=50)
    aid_case_id: CaseId | None = None
    in_person: bool = True

    @model_validator(mode="after")
    def _one_applicant(self) -> ApplicationIn:
        if (self.applicant_ref is None) == (self.applicant is None):
            raise ValueError("give exactly one of applicant_ref or applicant")
        return self


class MaterialsIn(Body):
    materials: list[MaterialId] = Field(min_length=1, max_length=50)
    in_person: bool = False


class RefuseIn(Body):
    reason: LongText


class AssessFeeIn(Body):
    waiver_aid_case_id: CaseId | None = None  # the aid case the applicant presents, if not linked at application
    proceed_without_waiver: bool = False


class IssueIn(Body):
    collected_in_person: bool = False


class FeedbackIn(Body):
    partner_reference: Annotated[str, Field(min_length=1, max_length=64)]
    certificate_no: ShortText
    adopted: bool
    reason: ShortText | None = None
    decided_at: datetime


class CommissionIn(Body):
    partner_reference: Annotated[str, Field(min_length=1, max_length=64)]
    kind: CommissionKind
    region: RegionCode
    details: LongText
    due_by: datetime | None = None
    commissioned_at: datetime


class PerformIn(Body):
    summary: LongText


class FeedbackOut(BaseModel):
    partner_reference: str | None
    adopted: bool
    reason: str | None


class ApplicationOut(BaseModel):
    application_id: str
    status: str
    region: str
    office: str
    matter: str
    matter_name: str
    applicant_ref: str
    required: list[str]
    supplied: list[str]
    missing: list[str]
    notice_given: list[str] | None
    aid_case_id: str | None
    visits: int
    one_trip: bool
    applied_at: datetime | None
    accepted_at: datetime | None
    due_on: date | None
    working_days_left: int | None = None
    overdue: bool = False
    refused_reason: str | None
    standard_fee: float
    charged_fee: float | None
    waived: bool
    aid_linked: bool
    certificate_no: str | None
    issued_at: datetime | None
    feedback: list[FeedbackOut]


class ApplicationList(BaseModel):
    items: list[ApplicationOut]
    count: int


class CommissionOut(BaseModel):
    commission_id: str
    status: str
    partner_reference: str | None
    kind: str | None
    region: str
    details: str
    due_by: datetime | None
    commissioned_at: datetime | None
    accepted_at: datetime | None
    summary: str | None
    performed_at: datetime | None
    reported_at: datetime | None


class MaterialOut(BaseModel):
    id: str
    name_zh: str
    name_en: str


class MatterOut(BaseModel):
    id: str
    name_zh: str
    name_en: str
    standard_fee: float
    materials: list[MaterialOut]


class MattersOut(BaseModel):
    version: str
    matters: list[MatterOut]


# -- rendering ------------------------------------------------------------------------------------------------
def application_out(doc: dict[str, Any], calendar: HolidayCalendar, today: date) -> ApplicationOut:
    due = date.fromisoformat(doc["due_on"]) if doc.get("due_on") else None
    left = working_days_between(today, due, calendar) if due and doc["status"] in OPEN_STATUSES else None
    fields = {k: v for k, v in doc.items() if k in ApplicationOut.model_fields}
    return ApplicationOut(
        **{**fields, "due_on": due},
        application_id=doc["_id"],
        working_days_left=left,
        overdue=bool(due and doc["status"] in OPEN_STATUSES and today > due),
    )


def commission_out(doc: dict[str, Any]) -> CommissionOut:
    fields = {k: v for k, v in doc.items() if k in CommissionOut.model_fields and k != "kind"}
    return CommissionOut(**fields, commission_id=doc["_id"], kind=doc.get("commission_kind"))


async def _application_view(d: Deps, application_id: str) -> ApplicationOut:
    doc = await d.app_views.get(application_id)
    if doc is None or doc.get("kind") != "application":
        raise NotFound(f"no notary application {application_id}", field="application_id")
    return application_out(doc, d.calendar, now().astimezone(CST).date())


async def _exists(d: Deps, application_id: str) -> None:
    await handlers.load_application(d.applications, application_id)


# -- catalogue ------------------------------------------------------------------------------------------------
@router.get("/matters", response_model=MattersOut)
async def list_matters(d: D, _: Principal = require(*READ, COURT)) -> MattersOut:
    return MattersOut.model_validate(d.catalogue.model_dump())


# -- applications ---------------------------------------------------------------------------------------------
@router.post("/applications", status_code=201, response_model=ApplicationOut)
async def submit_application(
    body: ApplicationIn, d: D, idempotency_key: IdempotencyKey = None, principal: Principal = require(WRITE)
) -> ApplicationOut:
    matter = d.catalogue.get(body.matter)  # unknown matter → 422 naming the field
    applicant_ref = body.applicant_ref or await d.vault.register(body.applicant)  # type: ignore[arg-type]
    application_id = f"na-{uuid.uuid4().hex[:20]}"
    command = SubmitApplication(
        application_id=application_id,
        region=body.region,
        office=body.office,
        matter=matter,
        catalogue_version=d.catalogue.version,
        applicant_ref=applicant_ref,
        materials_supplied=body.materials_supplied,
        aid_case_id=body.aid_case_id,
        in_person=body.in_person,
        at=now(),
    )
    create = replace(ctx(principal, idempotency_key), creates=True)
    outcome = await d.applications.execute(application_id, command, create)
    return await _application_view(d, outcome.stream_id)


@router.get("/applications", response_model=ApplicationList)
async def list_applications(
    d: D,
    status: Annotated[Literal["applied", "accepted", "refused", "fee_assessed", "issued"] | None, Query()] = None,
    matter: Annotated[MatterId | None, Query()] = None,
    office: Annotated[OfficeCode | None, Query()] = None,
    overdue: Annotated[bool | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    _: Principal = require(*READ),
) -> ApplicationList:
    if matter is not None and matter not in d.catalogue:
        raise ValidationFailed(f"unknown matter type {matter!r}", field="matter")
    today = now().astimezone(CST).date()
    query: dict[str, Any] = {"kind": "application"}
    if status:
        query["status"] = status
    if matter:
        query["matter"] = matter
    if office:
        query["office"] = office
    if overdue is True:
        query["open"] = True
        query["due_on"] = {"$lt": today.isoformat()}
    elif overdue is False:
        query["$or"] = [{"open": False}, {"due_on": {"$gte": today.isoformat()}}]
    docs = await d.app_views.find(query, sort="due_on", limit=limit)
    items = [application_out(doc, d.calendar, today) for doc in docs]
    return ApplicationList(items=items, count=len(items))


@router.get("/applications/{application_id}", response_model=ApplicationOut)
async def get_application(application_id: AppId, d: D, _: Principal = require(*READ)) -> ApplicationOut:
    return await _application_view(d, application_id)


@router.post("/applications/{application_id}/notice", response_model=ApplicationOut)
async def one_time_notice(
    application_id: AppId, d: D, idempotency_key: IdempotencyKey = None, principal: Principal = require(WRITE)
) -> ApplicationOut:
    """一次性告知: records every missing material in one notice; a second notice is refused (409)."""
    await _exists(d, application_id)
    await d.applications.execute(application_id, IssueMaterialsNotice(at=now()), ctx(principal, idempotency_key))
    return await _application_view(d, application_id)


@router.post("/applications/{application_id}/materials", response_model=ApplicationOut)
async def supplement_materials(
    application_id: AppId,
    body: MaterialsIn,
    d: D,
    idempotency_key: IdempotencyKey = None,
    principal: Principal = require(WRITE),
) -> ApplicationOut:
    await _exists(d, application_id)
    command = SupplementMaterials(materials=body.materials, in_person=body.in_person, at=now())
    await d.applications.execute(application_id, command, ctx(principal, idempotency_key))
    return await _application_view(d, application_id)


@router.post("/applications/{application_id}/accept", response_model=ApplicationOut)
async def accept_application(
    application_id: AppId, d: D, idempotency_key: IdempotencyKey = None, principal: Principal = require(WRITE)
) -> ApplicationOut:
    await _exists(d, application_id)
    command = AcceptApplication(calendar=d.calendar, at=now())
    await d.applications.execute(application_id, command, ctx(principal, idempotency_key))
    return await _application_view(d, application_id)


@router.post("/applications/{application_id}/refuse", response_model=ApplicationOut)
async def refuse_application(
    application_id: AppId,
    body: RefuseIn,
    d: D,
    idempotency_key: IdempotencyKey = None,
    principal: Principal = require(WRITE),
) -> ApplicationOut:
    await _exists(d, application_id)
    command = RefuseApplication(reason=body.reason, at=now())
    await d.applications.execute(application_id, command, ctx(principal, idempotency_key))
    return await _application_view(d, application_id)


@router.post("/applications/{application_id}/assess-fee", response_model=ApplicationOut)
async def assess_fee(
    application_id: AppId,
    body: AssessFeeIn,
    d: D,
    idempotency_key: IdempotencyKey = None,
    principal: Principal = require(WRITE),
) -> ApplicationOut:
    await handlers.assess_fee(
        d.applications,
        d.waivers,
        application_id,
        claimed_aid_case_id=body.waiver_aid_case_id,
        proceed_without_waiver=body.proceed_without_waiver,
        at=now(),
        ctx=ctx(principal, idempotency_key),
    )
    return await _application_view(d, application_id)


@router.post("/applications/{application_id}/issue", response_model=ApplicationOut)
async def issue_certificate(
    application_id: AppId,
    body: IssueIn,
    d: D,
    idempotency_key: IdempotencyKey = None,
    principal: Principal = require(WRITE),
) -> ApplicationOut:
    await d.issuer.issue(
        application_id,
        collected_in_person=body.collected_in_person,
        at=now(),
        ctx=ctx(principal, idempotency_key),
    )
    return await _application_view(d, application_id)


# -- court: document feedback and commissions -----------------------------------------------------------------
@router.post("/feedback", status_code=202, response_model=ApplicationOut)
async def court_feedback(
    body: FeedbackIn, d: D, idempotency_key: IdempotencyKey = None, principal: Principal = require(COURT)
) -> ApplicationOut:
    """The court says whether a notarial document used as evidence was adopted (采信)."""
    outcome = await handlers.record_feedback(
        d.applications,
        d.app_views,
        certificate_no=body.certificate_no,
        partner_reference=body.partner_reference,
        adopted=body.adopted,
        reason=body.reason,
        decided_at=body.decided_at,
        at=now(),
        ctx=ctx(principal, idempotency_key),
    )
    return await _application_view(d, outcome.stream_id)


@router.post("/commissions", status_code=201, response_model=CommissionOut)
async def receive_commission(
    body: CommissionIn, d: D, idempotency_key: IdempotencyKey = None, principal: Principal = require(COURT)
) -> CommissionOut:
    stream = commission_stream(body.partner_reference)
    command = AcceptCommission(**body.model_dump(), at=now())
    await d.commissions.execute(stream, command, ctx(principal, idempotency_key))
    return await _commission_view(d, stream)


@router.get("/commissions", response_model=list[CommissionOut])
async def list_commissions(
    d: D,
    status: Annotated[Literal["accepted", "performed", "reported"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    _: Principal = require(*READ),
) -> list[CommissionOut]:
    query: dict[str, Any] = {"kind": "commission"}
    if status:
        query["status"] = status
    return [commission_out(doc) for doc in await d.commission_views.find(query, sort="accepted_at", limit=limit)]


@router.get("/commissions/{commission_id}", response_model=CommissionOut)
async def get_commission(commission_id: AppId, d: D, _: Principal = require(*READ, COURT)) -> CommissionOut:
    return await _commission_view(d, commission_id)


@router.post("/commissions/{commission_id}/perform", response_model=CommissionOut)
async def perform_commission(
    commission_id: AppId,
    body: PerformIn,
    d: D,
    idempotency_key: IdempotencyKey = None,
    principal: Principal = require(WRITE),
) -> CommissionOut:
    await _commission_view(d, commission_id)
    command = PerformCommission(summary=body.summary, at=now())
    await d.commissions.execute(commission_id, command, ctx(principal, idempotency_key))
    return await _commission_view(d, commission_id)


@router.post("/commissions/{commission_id}/report", response_model=CommissionOut)
async def report_commission(
    commission_id: AppId, d: D, idempotency_key: IdempotencyKey = None, principal: Principal = require(WRITE)
) -> CommissionOut:
    """Report the performed commission back to the court (forwarded to its outbound topic by the router)."""
    await _commission_view(d, commission_id)
    await d.commissions.execute(commission_id, ReportCommission(at=now()), ctx(principal, idempotency_key))
    return await _commission_view(d, commission_id)


async def _commission_view(d: Deps, commission_id: str) -> CommissionOut:
    doc = await d.commission_views.get(commission_id)
    if doc is None or doc.get("kind") != "commission":
        raise NotFound(f"no court commission {commission_id}", field="commission_id")
    return commission_out(doc)
