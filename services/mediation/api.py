"""HTTP API of the mediation service: registration, partner referrals, the lifecycle, views and worklists.

Request bodies may carry `at` (when the act happened, e.g. a session recorded the next morning); it must carry
a timezone and may not lie in the future. Every POST honours `Idempotency-Key`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from services.mediation import committees as registry_domain
from services.mediation import domain
from services.mediation.handlers import CommitteeAdmin, MediationService, new_dispute_id
from services.mediation.reference import CommitteeRegistry
from services.mediation.views import WORKLISTS, flags, overdue_query, worklist_query
from shared.api import IdempotencyKey
from shared.auth import Principal, require
from shared.commands import CommandContext, Outcome
from shared.contracts.common import CaseId, LongText, Partner, PersonRef, RegionCode, ShortText
from shared.contracts.mediation import AckDecision, CommitteeKind, Fulfilment, Referrer, Source
from shared.contracts.mediation import Outcome as MediationOutcome
from shared.contracts.partners import DisputeReferred, ReferralKind
from shared.errors import NotFound, ValidationFailed
from shared.pii import PersonData

router = APIRouter(tags=["mediation"])
CLOCK_SKEW = timedelta(minutes=5)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- request models -----------------------------------------------------------------------------------------
class PartyIn(Body):
    """A party by pseudonymous reference, or by personal data kept in this service's vault."""

    person_ref: PersonRef | None = None
    person: PersonData | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> PartyIn:
        if (self.person_ref is None) == (self.person is None):
            raise ValueError("give exactly one of person_ref or person")
        return self


class RegisterIn(Body):
    source: Literal[Source.WALK_IN, Source.PETITION] = Source.WALK_IN
    dispute_type: ShortText
    region: RegionCode
    parties: list[PartyIn] = Field(min_length=1, max_length=50)
    claim: LongText
    complex: bool | None = None
    petition_reference: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    registered_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _petition_reference(self) -> RegisterIn:
        if self.source is Source.PETITION and not self.petition_reference:
            raise ValueError("a petition office referral (访调对接) needs petition_reference")
        return self


class ReferralIn(Body):
    """A partner's referral over HTTP (same fields as the `DisputeReferred` event)."""

    partner_reference: Annotated[str, Field(min_length=1, max_length=64)]
    kind: ReferralKind
    dispute_type: ShortText
    region: RegionCode
    parties: list[PersonRef] = Field(min_length=1, max_length=20)
    summary: LongText
    referred_at: AwareDatetime
    correlation_id: CaseId | None = None


class AssignIn(Body):
    committee_id: ShortText | None = None  # both omitted: the registry proposes a committee and mediator
    mediator_id: ShortText | None = None
    at: AwareDatetime | None = None


class SessionIn(Body):
    minutes: LongText
    next_session_on: date | None = None
    at: AwareDatetime | None = None


class ExtendIn(Body):
    days: int = Field(ge=1, le=180)
    reason: ShortText
    at: AwareDatetime | None = None


class AgreementIn(Body):
    terms: LongText
    at: AwareDatetime | None = None


class ReasonIn(Body):
    reason: ShortText
    at: AwareDatetime | None = None


class AtIn(Body):
    at: AwareDatetime | None = None


class RulingIn(Body):
    outcome: Literal[MediationOutcome.CONFIRMED, MediationOutcome.REJECTED]
    reason: ShortText | None = None
    decided_at: AwareDatetime
    partner_reference: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class FollowUpIn(Body):
    fulfilment: Fulfilment
    notes: LongText | None = None
    at: AwareDatetime | None = None


RegistryId = Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


class MediatorIn(Body):
    mediator_id: RegistryId
    display_name: ShortText
    specialisms: list[ShortText] = Field(default_factory=list, max_length=50)
    at: AwareDatetime | None = None


class CommitteeIn(Body):
    committee_id: RegistryId
    name: ShortText
    kind: CommitteeKind
    regions: list[RegionCode] = Field(min_length=1, max_length=50)
    dispute_types: list[ShortText] = Field(min_length=1, max_length=50)
    serves: Literal["court", "police", "procuratorate", "petition_office"] | None = None
    at: AwareDatetime | None = None


class DeactivateIn(Body):
    reason: ShortText
    at: AwareDatetime | None = None


# -- response models ----------------------------------------------------------------------------------------
class Flags(BaseModel):
    time_limit: Literal["due", "met", "missed"] | None
    confirmation_window: Literal["due", "met", "missed"] | None
    follow_up: Literal["due", "met", "missed"] | None


class DisputeOut(BaseModel):
    dispute_id: str
    status: str
    source: str | None
    region: str
    dispute_type: str
    complex: bool
    parties: list[str]
    referrer: str | None
    partner_reference: str | None
    intake_case_id: str | None
    decline_reason: str | None
    registered_at: datetime | None
    time_limit_days: int
    due_by: datetime | None
    committee_id: str | None
    mediator_id: str | None
    sessions: int
    next_session_on: str | None
    outcome: str | None
    ended_at: datetime | None
    end_reason: str | None
    terms: str | None
    confirmation_deadline: datetime | None
    confirmation_requested_at: datetime | None
    confirmation_outcome: str | None
    window_lapsed: bool
    follow_up_due_by: datetime | None
    fulfilment: str | None
    archived_at: datetime | None
    flags: Flags
    history: list[str]
    version: int


class CommandOut(BaseModel):
    dispute_id: str
    status: str
    version: int
    duplicate: bool
    correlation_id: str
    events: list[str]


class AckOut(BaseModel):
    dispute_id: str
    decision: AckDecision
    reason: str | None
    correlation_id: str


class DisputeList(BaseModel):
    items: list[DisputeOut]
    count: int


class MediatorOut(BaseModel):
    id: str
    display_name: str
    specialisms: list[str]
    active: bool


class CommitteeOut(BaseModel):
    id: str
    name: str
    kind: str
    regions: list[str]
    dispute_types: list[str]
    mediators: list[MediatorOut]


class CommitteeList(BaseModel):
    version: str
    dispute_types: dict[str, str]
    items: list[CommitteeOut]


class RegistryOut(BaseModel):
    committee_id: str
    version: int
    duplicate: bool
    events: list[str]
    mediators: list[MediatorOut]


class SweepOut(BaseModel):
    lapsed: list[str]


# -- dependencies -------------------------------------------------------------------------------------------
def get_service(request: Request) -> MediationService:
    return request.app.state.service  # type: ignore[no-any-return]


ServiceDep = Annotated[MediationService, Depends(get_service)]


def get_admin(request: Request) -> CommitteeAdmin:
    return request.app.state.admin  # type: ignore[no-any-return]


AdminDep = Annotated[CommitteeAdmin, Depends(get_admin)]
RegistryPath = Annotated[str, Path(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
DisputeId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
RegionQuery = Annotated[str | None, Query(pattern=r"^\d{12}$", description="12-digit region code")]
TextQuery = Annotated[str | None, Query(min_length=1, max_length=100)]


def _at(service: MediationService | CommitteeAdmin, at: datetime | None) -> datetime:
    now = service.clock()
    if at is None:
        return now
    if at > now + CLOCK_SKEW:
        raise ValidationFailed("the act cannot be recorded in the future", field="at")
    return at


def _ctx(
    principal: Principal, action: str, dispute_id: str, key: str | None, correlation: str | None = None
) -> CommandContext:
    # keys are scoped to the route and dispute, so one key reused elsewhere never returns another outcome
    return CommandContext(
        actor=principal.actor,
        correlation_id=correlation,
        idempotency_key=f"{action}:{dispute_id}:{key}" if key else None,
    )


def _out(outcome: Outcome[domain.Dispute]) -> CommandOut:
    return CommandOut(
        dispute_id=outcome.stream_id,
        status=outcome.state.status.value,
        version=outcome.version,
        duplicate=outcome.duplicate,
        correlation_id=outcome.correlation_id,
        events=[e.type for e in outcome.events],
    )


def _view(doc: dict[str, Any], now: datetime) -> DisputeOut:
    fields = {k: doc.get(k) for k in DisputeOut.model_fields if k != "flags"}
    return DisputeOut(**fields, flags=Flags(**flags(doc, now)))


# -- registration and referrals -----------------------------------------------------------------------------
@router.post("/disputes", status_code=201, response_model=CommandOut)
async def register(
    body: RegisterIn,
    service: ServiceDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
    principal: Principal = require("mediation:write"),
) -> CommandOut:
    """Walk-in registration (当事人申请) or a petition office referral (访调对接)."""
    vault = request.app.state.vault
    parties = [p.person_ref or await vault.register(p.person) for p in body.parties]
    dispute_id = new_dispute_id()
    command = service.registration(
        dispute_id=dispute_id,
        at=_at(service, body.registered_at),
        source=body.source,
        dispute_type=body.dispute_type,
        region=body.region,
        parties=parties,
        claim=body.claim,
        complex=body.complex,
        referrer=Referrer.PETITION_OFFICE if body.source is Source.PETITION else None,
        partner_reference=body.petition_reference,
    )
    ctx = replace(_ctx(principal, "register", principal.subject, idempotency_key), creates=True)
    return _out(await service.execute(dispute_id, command, ctx))


@router.post("/referrals", status_code=201, response_model=AckOut)
async def refer(
    body: ReferralIn,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
    principal: Principal = require("partner:court", "partner:police", "partner:procuratorate"),
) -> AckOut:
    """A partner organ's referral over HTTP; answered with the same acknowledgement its outbound topic gets."""
    try:
        partner = Partner(principal.partner or "")
    except ValueError:
        raise ValidationFailed(f"unknown referring organ {principal.subject!r}", field="authorization") from None
    referral = DisputeReferred(**body.model_dump(exclude={"correlation_id"}))
    ctx = CommandContext(
        actor=principal.actor,
        correlation_id=body.correlation_id,
        idempotency_key=f"referral:{partner.value}:{idempotency_key}" if idempotency_key else None,
        creates=True,
    )
    outcome = await service.register_partner_referral(partner, referral, ctx)
    state = outcome.state
    return AckOut(
        dispute_id=outcome.stream_id,
        decision=AckDecision.DECLINED if state.status is domain.Status.DECLINED else AckDecision.ACCEPTED,
        reason=state.decline_reason,
        correlation_id=outcome.correlation_id,
    )


# -- lifecycle ----------------------------------------------------------------------------------------------
@router.post("/disputes/{dispute_id}/assign", response_model=CommandOut)
async def assign(
    dispute_id: DisputeId,
    body: AssignIn,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
    principal: Principal = require("mediation:write"),
) -> CommandOut:
    ctx = _ctx(principal, "assign", dispute_id, idempotency_key)
    return _out(await service.assign(dispute_id, body.committee_id, body.mediator_id, _at(service, body.at), ctx))


async def _run(
    service: MediationService, principal: Principal, action: str, dispute_id: str, key: str | None, cmd: Any
) -> CommandOut:
    return _out(await service.execute(dispute_id, cmd, _ctx(principal, action, dispute_id, key)))


@router.post("/disputes/{dispute_id}/sessions", response_model=CommandOut)
async def hold_session(
    dispute_id: DisputeId,
    body: SessionIn,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
    principal: Principal = require("mediation:write"),
) -> CommandOut:
    cmd = domain.HoldSession(at=_at(service, body.at), minutes=body.minutes, next_session_on=body.next_session_on)
    return await _run(service, principal, "session", dispute_id, idempotency_key, cmd)


@router.post("/disputes/{dispute_id}/extend", response_model=CommandOut)
async def extend(
    dispute_id: DisputeId,
    body: ExtendIn,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
    principal: Principal = require("mediation:write"),
) -> CommandOut:
    cmd = domain.ExtendTimeLimit(at=_at(service, body.at), days=body.days, reason=body.reason)
    return await _run(service, principal, "extend", dispute_id, idempotency_key, cmd)


@router.post("/disputes/{dispute_id}/agreement", response_model=CommandOut)
async def sign_agreement(
    dispute_id: DisputeId,
    body: AgreementIn,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
    principal: Principal = require("mediation:write"),
) -> CommandOut:
    cmd = domain.SignAgreement(
        at=_at(service, body.at), terms=body.terms, follow_up_days=service.settings.follow_up_days
    )
    return await _run(service, principal, "agreement", dispute_id, idempotency_key, cmd)


@router.post("/disputes/{dispute_id}/fail", response_model=CommandOut)
async def fail(
    dispute_id: DisputeId,
    body: ReasonIn,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
    principal: Principal = require("mediation:write"),
) -> CommandOut:
    cmd = domain.FailMediation(at=_at(service, body.at), reason=body.reason)
    return await _run(service, principal, "fail", dispute_id, idempotency_key, cmd)


@router.post("/disputes/{dispute_id}/withdraw", response_model=CommandOut)
async def withdraw(
    dispute_id: DisputeId,
    body: ReasonIn,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
    principal: Principal = require("mediation:write"),
) -> CommandOut:
    cmd = domain.Withdraw(at=_at(service, body.at), reason=body.reason)
    return await _run(service, principal, "withdraw", dispute_id, idempotency_key, cmd)


@router.post("/disputes/{dispute_id}/request-confirmation", response_model=CommandOut)
async def request_confirmation(
    dispute_id: DisputeId,
    body: AtIn,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
    principal: Principal = require("mediation:write"),
) -> CommandOut:
    cmd = domain.RequestConfirmation(at=_at(service, body.at))
    return await _run(service, principal, "confirm", dispute_id, idempotency_key, cmd)


@router.post("/disputes/{dispute_id}/confirmation-ruling", response_model=CommandOut)
async def confirmation_ruling(
    dispute_id: DisputeId,
    body: RulingIn,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
    principal: Principal = require("partner:court"),
) -> CommandOut:
    """The court's ruling over HTTP (the same as `JudicialConfirmationDecided` on its inbound topic)."""
    cmd = domain.RecordConfirmation(
        at=body.decided_at, outcome=body.outcome, reason=body.reason, court_reference=body.partner_reference
    )
    return await _run(service, principal, "ruling", dispute_id, idempotency_key, cmd)


@router.post("/disputes/{dispute_id}/follow-up", response_model=CommandOut)
async def follow_up(
    dispute_id: DisputeId,
    body: FollowUpIn,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
    principal: Principal = require("mediation:write"),
) -> CommandOut:
    cmd = domain.RecordFollowUp(at=_at(service, body.at), fulfilment=body.fulfilment, notes=body.notes)
    return await _run(service, principal, "follow-up", dispute_id, idempotency_key, cmd)


@router.post("/disputes/{dispute_id}/archive", response_model=CommandOut)
async def archive(
    dispute_id: DisputeId,
    body: AtIn,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
    principal: Principal = require("mediation:write"),
) -> CommandOut:
    cmd = domain.Archive(at=_at(service, body.at))
    return await _run(service, principal, "archive", dispute_id, idempotency_key, cmd)


@router.post("/deadlines/sweep", response_model=SweepOut)
async def sweep(
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,  # the sweep is idempotent per dispute by construction
    principal: Principal = require("mediation:write"),
) -> SweepOut:
    """Record the lapse of every confirmation window that closed unused (also run periodically)."""
    return SweepOut(lapsed=await service.sweep_lapsed_windows(principal.actor))


# -- views --------------------------------------------------------------------------------------------------
@router.get("/disputes/{dispute_id}", response_model=DisputeOut)
async def get_dispute(
    dispute_id: DisputeId, service: ServiceDep, principal: Principal = require("mediation:read")
) -> DisputeOut:
    doc = await service.cases.get(dispute_id)
    if doc is None:
        raise NotFound(f"no dispute {dispute_id}", field="dispute_id")
    return _view(doc, service.clock())


@router.get("/disputes", response_model=DisputeList)
async def list_disputes(
    service: ServiceDep,
    source: Source | None = None,
    status: domain.Status | None = None,
    region: RegionQuery = None,
    committee: TextQuery = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    skip: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    principal: Principal = require("mediation:read"),
) -> DisputeList:
    now = service.clock()
    query: dict[str, Any] = {}
    if source is not None:
        query["source"] = source.value
    if status is not None:
        query["status"] = status.value
    if region is not None:
        query["regions"] = region
    if committee is not None:
        query["committee_id"] = committee
    if overdue is True:
        query.update(overdue_query(now))
    elif overdue is False:
        query["$nor"] = overdue_query(now)["$or"]
    docs = await service.cases.find(query, sort="registered_at", limit=limit, skip=skip)
    return DisputeList(items=[_view(d, now) for d in docs], count=len(docs))


@router.get("/worklists/{name}", response_model=DisputeList)
async def worklist(
    name: Literal["awaiting-assignment", "sessions-due", "confirmation-closing", "follow-ups-due"],
    service: ServiceDep,
    within_days: Annotated[int | None, Query(ge=0, le=90)] = None,
    committee: TextQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    principal: Principal = require("mediation:read"),
) -> DisputeList:
    """待指派 · 待调解 · 司法确认期限将届 · 待回访."""
    assert name in WORKLISTS
    now = service.clock()
    horizon = within_days if within_days is not None else service.settings.closing_within_days
    query, sort = worklist_query(name, now, horizon)
    if committee is not None:
        query["committee_id"] = committee
    docs = await service.cases.find(query, sort=sort, limit=limit)
    return DisputeList(items=[_view(d, now) for d in docs], count=len(docs))


@router.get("/committees", response_model=CommitteeList)
async def committees(
    request: Request,
    region: RegionQuery = None,
    dispute_type: TextQuery = None,
    principal: Principal = require("mediation:read"),
) -> CommitteeList:
    registry: CommitteeRegistry = request.app.state.committees
    if region is not None:
        found = registry.covering(region, dispute_type)
    else:
        found = [c for c in registry.committees.values() if dispute_type is None or dispute_type in c.dispute_types]
    items = [
        CommitteeOut(
            id=c.id,
            name=c.name,
            kind=c.kind.value,
            regions=list(c.regions),
            dispute_types=list(c.dispute_types),
            mediators=[
                MediatorOut(id=m.id, display_name=m.display_name, specialisms=list(m.specialisms), active=m.active)
                for m in registry.mediators_of(c.id, active_only=False)
            ],
        )
        for c in found
    ]
    return CommitteeList(version=registry.version, dispute_types=registry.dispute_types, items=items)


# -- registry changes (名册管理) -----------------------------------------------------------------------------
def _registry_out(outcome: Outcome[registry_domain.CommitteeState]) -> RegistryOut:
    s = outcome.state
    return RegistryOut(
        committee_id=s.committee_id,
        version=outcome.version,
        duplicate=outcome.duplicate,
        events=[e.type for e in outcome.events],
        mediators=[
            MediatorOut(id=m.mediator_id, display_name=m.display_name, specialisms=list(m.specialisms), active=m.active)
            for m in s.mediators
        ],
    )


def _registry_ctx(principal: Principal, action: str, key: str | None) -> CommandContext:
    return CommandContext(actor=principal.actor, idempotency_key=f"registry:{action}:{key}" if key else None)


@router.post("/committees", status_code=201, response_model=RegistryOut)
async def register_committee(
    body: CommitteeIn,
    admin: AdminDep,
    idempotency_key: IdempotencyKey = None,
    principal: Principal = require("mediation:admin"),
) -> RegistryOut:
    if body.committee_id in admin.registry.committees:
        existing = admin.registry.committees[body.committee_id]
        if (existing.name, existing.regions) != (body.name, tuple(body.regions)):
            raise ValidationFailed(f"committee id {body.committee_id} is taken", field="committee_id")
    command = registry_domain.RegisterCommittee(
        at=_at(admin, body.at),
        committee_id=body.committee_id,
        name=body.name,
        kind=body.kind,
        regions=body.regions,
        dispute_types=body.dispute_types,
        serves=body.serves,
        known_types=list(admin.registry.dispute_types),
    )
    return _registry_out(await admin.register(command, _registry_ctx(principal, body.committee_id, idempotency_key)))


@router.post("/committees/{committee_id}/mediators", status_code=201, response_model=RegistryOut)
async def add_mediator(
    committee_id: RegistryPath,
    body: MediatorIn,
    admin: AdminDep,
    idempotency_key: IdempotencyKey = None,
    principal: Principal = require("mediation:admin"),
) -> RegistryOut:
    mediator = registry_domain.MediatorIn(
        mediator_id=body.mediator_id, display_name=body.display_name, specialisms=body.specialisms
    )
    ctx = _registry_ctx(principal, f"{committee_id}:add", idempotency_key)
    return _registry_out(await admin.add_mediator(committee_id, mediator, _at(admin, body.at), ctx))


@router.post("/committees/{committee_id}/mediators/{mediator_id}/deactivate", response_model=RegistryOut)
async def deactivate_mediator(
    committee_id: RegistryPath,
    mediator_id: RegistryPath,
    body: DeactivateIn,
    admin: AdminDep,
    idempotency_key: IdempotencyKey = None,
    principal: Principal = require("mediation:admin"),
) -> RegistryOut:
    ctx = _registry_ctx(principal, f"{committee_id}:{mediator_id}:off", idempotency_key)
    outcome = await admin.deactivate(committee_id, mediator_id, body.reason, _at(admin, body.at), ctx)
    return _registry_out(outcome)
