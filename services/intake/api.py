"""Intake HTTP API: requests (walk-in, hotline, web, transfers), hotline calls, village advisors, persons.

Request body → command → `bus.execute` → the case's read view. Scopes: `intake:write` for commands,
`intake:read` for queries, `intake:admin` for erasure and the advisor registry. Every POST honours
`Idempotency-Key`. Responses carry the pseudonymous `person_ref` only; `GET /requests/{id}/person` is the one
person view (this service owns the data).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.intake import domain, views
from shared.api import IdempotencyKey
from shared.auth import Principal, require
from shared.commands import CommandBus, CommandContext, Outcome
from shared.contracts.common import Department, LongText, PersonRef, RegionCode
from shared.contracts.intake import AdvisorServiceKind, Channel, ExternalRef, Level, RequestKind, TopicCode
from shared.errors import DomainError, NotFound
from shared.events import Command
from shared.pii import PersonData, PersonVault
from shared.readmodel import ReadModel

router = APIRouter(tags=["intake"])
_CREATES = (domain.ReceiveRequest, domain.OfferCall)  # their stream id is minted per POST, so a replay differs

RequestId = Annotated[str, Path(pattern=r"^rq-[0-9a-f]{32}$", description="intake case id")]
CallId = Annotated[str, Path(pattern=r"^call-[0-9a-f]{32}$")]
VillageRegion = Annotated[str, Path(pattern=r"^\d{12}$", description="12-digit village/community code")]
PersonRefPath = Annotated[str, Path(pattern=r"^p-[0-9a-f]{16,64}$")]

Writer = Annotated[Principal, require("intake:write")]
Reader = Annotated[Principal, require("intake:read")]
Admin = Annotated[Principal, require("intake:admin")]


# -- dependencies (wired in main.py) -------------------------------------------------------------------------
def _bus(request: Request) -> CommandBus[domain.IntakeState]:
    return request.app.state.bus  # type: ignore[no-any-return]


def _cases(request: Request) -> ReadModel[domain.IntakeState]:
    return request.app.state.cases  # type: ignore[no-any-return]


def _vault(request: Request) -> PersonVault:
    return request.app.state.vault  # type: ignore[no-any-return]


def _clock(request: Request) -> Callable[[], datetime]:
    return getattr(request.app.state, "clock", lambda: datetime.now(UTC))


BusDep = Annotated[CommandBus[domain.IntakeState], Depends(_bus)]
CasesDep = Annotated[ReadModel[domain.IntakeState], Depends(_cases)]
VaultDep = Annotated[PersonVault, Depends(_vault)]
ClockDep = Annotated[Callable[[], datetime], Depends(_clock)]


# -- request / response models -------------------------------------------------------------------------------
class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReceiveBody(Body):
    channel: Channel
    level: Level | None = Field(default=None, description="walk_in only: city | county | town | village")
    region: RegionCode
    kind: RequestKind = RequestKind.CONSULTATION
    topic: TopicCode = Field(description="matter category code, e.g. labour, marriage_family")
    person: PersonData | None = None
    call_id: str | None = Field(default=None, pattern=r"^call-[0-9a-f]{32}$")
    external_reference: ExternalRef | None = None


class WebQuestionBody(Body):
    region: RegionCode
    kind: RequestKind = RequestKind.CONSULTATION
    topic: TopicCode
    person: PersonData | None = None


class AnswerBody(Body):
    on_the_spot: bool = True


class ReferBody(Body):
    to_department: Department
    matter: LongText
    dispute_type: str | None = Field(default=None, min_length=1, max_length=64)
    notary_matter: str | None = Field(default=None, min_length=1, max_length=64)


class EscalateBody(Body):
    to_level: Level
    to_region: RegionCode


class WorkOrderBody(Body):
    deadline_hours: int = Field(default=domain.DEFAULT_WORK_ORDER_HOURS, ge=1, le=24 * 30)


class EvaluateBody(Body):
    satisfaction: int = Field(ge=1, le=5)


class CallBody(Body):
    region: RegionCode


class AssignBody(Body):
    advisor_id: ExternalRef


class ServiceLogBody(Body):
    advisor_id: ExternalRef
    hours: float = Field(gt=0, le=24)
    kind: AdvisorServiceKind
    served_on: date


class RequestView(BaseModel):
    request_id: str
    version: int
    status: str
    channel: Channel
    level: Level | None
    region: str
    kind: RequestKind
    topic: str
    received_at: datetime
    person_ref: PersonRef | None
    call_id: str | None
    external_reference: str | None
    referred_to: Department | None
    escalated_to_level: Level | None
    escalated_to_region: str | None
    work_order_due_at: datetime | None
    work_order_completed_at: datetime | None
    work_order_on_time: bool | None
    work_order_open: bool
    reply_minutes: int | None
    qc_drawn: bool
    closed_at: datetime | None
    outcome: str | None
    satisfaction: int | None
    correlation_id: str | None = None


class CallView(BaseModel):
    call_id: str
    version: int
    status: str
    region: str
    offered_at: datetime
    wait_seconds: int | None


class VillageView(BaseModel):
    village_region: str
    version: int
    advisor_id: str | None
    hours: float
    services: int


class PersonView(BaseModel):
    person_ref: str
    name: str
    id_number: str
    phone: str


class RequestList(BaseModel):
    items: list[RequestView]
    count: int


class VillageList(BaseModel):
    items: list[VillageView]
    count: int


# -- helpers -------------------------------------------------------------------------------------------------
def _ctx(principal: Principal, key: str | None, now: datetime) -> CommandContext:
    return CommandContext(actor=principal.actor, idempotency_key=key, time=now)


def _view(outcome: Outcome[domain.IntakeState]) -> dict[str, Any]:
    doc = views.render(outcome.stream_id, outcome.state, outcome.version)
    return {**doc, "correlation_id": outcome.correlation_id or None}


def _request_view(outcome: Outcome[domain.IntakeState], response: Response) -> RequestView:
    if not isinstance(outcome.state, domain.Request):
        raise NotFound("no such request", field="id")
    if outcome.duplicate:
        response.headers["Idempotent-Replay"] = "true"
    return RequestView.model_validate(_view(outcome))


async def _run(
    bus: BusDep, stream_id: str, command: Command, principal: Principal, key: str | None, now: datetime
) -> Outcome[domain.IntakeState]:
    outcome = await bus.execute(stream_id, command, _ctx(principal, key, now))
    # keys are unique across the store: a key reused on another case must not answer with that case
    if outcome.duplicate and outcome.stream_id != stream_id and not isinstance(command, _CREATES):
        raise DomainError("Idempotency-Key was already used for another case", field="Idempotency-Key")
    return outcome


async def _create_request(
    body: ReceiveBody, principal: Principal, key: str | None, bus: BusDep, vault: VaultDep, now: datetime
) -> Outcome[domain.IntakeState]:
    # the vault write comes after schema validation (a bad ID number never reaches it); re-registering the
    # same person on a retry is harmless (same ref, same key)
    person_ref = await vault.register(body.person) if body.person is not None else None
    request_id = f"rq-{uuid.uuid4().hex}"
    command = domain.ReceiveRequest(
        request_id=request_id,
        channel=body.channel,
        level=body.level,
        region=body.region,
        kind=body.kind,
        topic=body.topic,
        person_ref=person_ref,
        call_id=body.call_id,
        external_reference=body.external_reference,
        at=now,
    )
    return await _run(bus, request_id, command, principal, key, now)


# -- requests ------------------------------------------------------------------------------------------------
@router.post("/requests", status_code=201, response_model=RequestView, summary="Receive a request on any channel")
async def receive_request(
    body: ReceiveBody,
    principal: Writer,
    bus: BusDep,
    vault: VaultDep,
    clock: ClockDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> RequestView:
    outcome = await _create_request(body, principal, idempotency_key, bus, vault, clock())
    return _request_view(outcome, response)


@router.post("/web/questions", status_code=201, response_model=RequestView, summary="Post a 12348 web question")
async def post_web_question(
    body: WebQuestionBody,
    principal: Writer,
    bus: BusDep,
    vault: VaultDep,
    clock: ClockDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> RequestView:
    full = ReceiveBody(channel=Channel.WEB_12348, **body.model_dump(exclude={"person"}), person=body.person)
    outcome = await _create_request(full, principal, idempotency_key, bus, vault, clock())
    return _request_view(outcome, response)


async def _request_command(
    request_id: str,
    command_for: Callable[[datetime], Command],
    principal: Principal,
    key: str | None,
    bus: BusDep,
    clock: Callable[[], datetime],
    response: Response,
) -> RequestView:
    now = clock()
    outcome = await _run(bus, request_id, command_for(now), principal, key, now)
    return _request_view(outcome, response)


@router.post("/requests/{request_id}/answer", response_model=RequestView, summary="Answer on the spot (当场办结)")
async def answer_request(
    request_id: RequestId,
    principal: Writer,
    bus: BusDep,
    clock: ClockDep,
    response: Response,
    body: AnswerBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> RequestView:
    b = body or AnswerBody()
    return await _request_command(
        request_id,
        lambda at: domain.AnswerRequest(on_the_spot=b.on_the_spot, at=at),
        principal,
        idempotency_key,
        bus,
        clock,
        response,
    )


@router.post("/requests/{request_id}/refer", response_model=RequestView, summary="Refer to legal aid/mediation/notary")
async def refer_request(
    request_id: RequestId,
    body: ReferBody,
    principal: Writer,
    bus: BusDep,
    clock: ClockDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> RequestView:
    return await _request_command(
        request_id,
        lambda at: domain.ReferRequest(**body.model_dump(), at=at),
        principal,
        idempotency_key,
        bus,
        clock,
        response,
    )


@router.post("/requests/{request_id}/escalate", response_model=RequestView, summary="Hotline/web → walk-in")
async def escalate_request(
    request_id: RequestId,
    body: EscalateBody,
    principal: Writer,
    bus: BusDep,
    clock: ClockDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> RequestView:
    return await _request_command(
        request_id,
        lambda at: domain.EscalateRequest(**body.model_dump(), at=at),
        principal,
        idempotency_key,
        bus,
        clock,
        response,
    )


@router.post("/requests/{request_id}/work-order", response_model=RequestView, summary="Open a work order (工单)")
async def open_work_order(
    request_id: RequestId,
    principal: Writer,
    bus: BusDep,
    clock: ClockDep,
    response: Response,
    body: WorkOrderBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> RequestView:
    b = body or WorkOrderBody()
    return await _request_command(
        request_id,
        lambda at: domain.OpenWorkOrder(deadline_hours=b.deadline_hours, at=at),
        principal,
        idempotency_key,
        bus,
        clock,
        response,
    )


@router.post("/requests/{request_id}/work-order/complete", response_model=RequestView, summary="Complete work order")
async def complete_work_order(
    request_id: RequestId,
    principal: Writer,
    bus: BusDep,
    clock: ClockDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> RequestView:
    return await _request_command(
        request_id, lambda at: domain.CompleteWorkOrder(at=at), principal, idempotency_key, bus, clock, response
    )


@router.post("/requests/{request_id}/reply", response_model=RequestView, summary="Publish the reply to a web question")
async def publish_web_reply(
    request_id: RequestId,
    principal: Writer,
    bus: BusDep,
    clock: ClockDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> RequestView:
    return await _request_command(
        request_id, lambda at: domain.PublishWebReply(at=at), principal, idempotency_key, bus, clock, response
    )


@router.post("/requests/{request_id}/close", response_model=RequestView, summary="Close the request")
async def close_request(
    request_id: RequestId,
    principal: Writer,
    bus: BusDep,
    clock: ClockDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> RequestView:
    return await _request_command(
        request_id, lambda at: domain.CloseRequest(at=at), principal, idempotency_key, bus, clock, response
    )


@router.post("/requests/{request_id}/evaluate", response_model=RequestView, summary="Satisfaction 1–5 (随单评价)")
async def evaluate_request(
    request_id: RequestId,
    body: EvaluateBody,
    principal: Writer,
    bus: BusDep,
    clock: ClockDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> RequestView:
    return await _request_command(
        request_id,
        lambda at: domain.EvaluateRequest(satisfaction=body.satisfaction, at=at),
        principal,
        idempotency_key,
        bus,
        clock,
        response,
    )


@router.get("/requests/{request_id}", response_model=RequestView, summary="One request")
async def get_request(request_id: RequestId, _: Reader, cases: CasesDep) -> RequestView:
    doc = await cases.get(request_id)
    if doc is None or doc.get("record") != "request":
        raise NotFound(f"no request {request_id}", field="request_id")
    return RequestView.model_validate(doc)


@router.get("/requests", response_model=RequestList, summary="Find requests")
async def list_requests(
    _: Reader,
    cases: CasesDep,
    clock: ClockDep,
    channel: Channel | None = None,
    region: Annotated[str | None, Query(pattern=r"^\d{2,12}$", description="code or prefix (e.g. 4310)")] = None,
    status: domain.Status | None = None,
    overdue: bool | None = Query(default=None, description="open work orders past their deadline"),
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    skip: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> RequestList:
    query: dict[str, Any] = {"record": "request"}
    if channel is not None:
        query["channel"] = channel.value
    if region is not None:
        query["region"] = region if len(region) == 12 else {"$prefix": region}
    if status is not None:
        query["status"] = status.value
    if overdue is True:
        query["work_order_open"] = True
        query["work_order_due_at"] = {"$lt": clock()}
    elif overdue is False:
        query["$or"] = [{"work_order_open": False}, {"work_order_due_at": {"$gte": clock()}}]
    docs = await cases.find(query, sort="received_at", descending=True, limit=limit, skip=skip)
    items = [RequestView.model_validate(d) for d in docs]
    return RequestList(items=items, count=len(items))


@router.get("/requests/{request_id}/person", response_model=PersonView, summary="The citizen's data (owner view)")
async def get_request_person(request_id: RequestId, _: Reader, cases: CasesDep, vault: VaultDep) -> PersonView:
    doc = await cases.get(request_id)
    if doc is None or doc.get("record") != "request":
        raise NotFound(f"no request {request_id}", field="request_id")
    ref = doc.get("person_ref")
    if not ref:
        raise NotFound("the request names no person", field="person_ref")
    return PersonView(person_ref=ref, **await vault.get(ref))


@router.delete("/persons/{person_ref}", status_code=204, summary="Erase a person (PIPL deletion; crypto-shredding)")
async def erase_person(person_ref: PersonRefPath, _: Admin, vault: VaultDep) -> Response:
    if not await vault.erase(person_ref):
        raise NotFound(f"no person {person_ref} (or already erased)", field="person_ref")
    return Response(status_code=204)


# -- hotline calls -------------------------------------------------------------------------------------------
def _call_view(outcome: Outcome[domain.IntakeState], response: Response) -> CallView:
    if not isinstance(outcome.state, domain.Call):  # a replayed key of another record (e.g. a request)
        raise DomainError("Idempotency-Key was already used for another case", field="Idempotency-Key")
    if outcome.duplicate:
        response.headers["Idempotent-Replay"] = "true"
    return CallView.model_validate(_view(outcome))


@router.post("/calls", status_code=201, response_model=CallView, summary="A 12348 call was offered")
async def offer_call(
    body: CallBody,
    principal: Writer,
    bus: BusDep,
    clock: ClockDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CallView:
    now, call_id = clock(), f"call-{uuid.uuid4().hex}"
    outcome = await _run(
        bus, call_id, domain.OfferCall(call_id=call_id, region=body.region, at=now), principal, idempotency_key, now
    )
    return _call_view(outcome, response)


@router.post("/calls/{call_id}/answer", response_model=CallView, summary="The call was answered")
async def answer_call(
    call_id: CallId,
    principal: Writer,
    bus: BusDep,
    clock: ClockDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CallView:
    now = clock()
    outcome = await _run(bus, call_id, domain.AnswerCall(at=now), principal, idempotency_key, now)
    return _call_view(outcome, response)


@router.post("/calls/{call_id}/abandon", response_model=CallView, summary="The caller hung up before an answer")
async def abandon_call(
    call_id: CallId,
    principal: Writer,
    bus: BusDep,
    clock: ClockDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CallView:
    now = clock()
    outcome = await _run(bus, call_id, domain.AbandonCall(at=now), principal, idempotency_key, now)
    return _call_view(outcome, response)


@router.get("/calls/{call_id}", response_model=CallView, summary="One call")
async def get_call(call_id: CallId, _: Reader, cases: CasesDep) -> CallView:
    doc = await cases.get(call_id)
    if doc is None or doc.get("record") != "call":
        raise NotFound(f"no call {call_id}", field="call_id")
    return CallView.model_validate(doc)


# -- village legal advisors (村居法律顾问) ---------------------------------------------------------------------
def _village_stream(village_region: str) -> str:
    return f"adv-{village_region}"


async def _village_command(
    village_region: str, command: Command, principal: Principal, key: str | None, bus: BusDep, now: datetime
) -> VillageView:
    outcome = await _run(bus, _village_stream(village_region), command, principal, key, now)
    if not isinstance(outcome.state, domain.Village):
        raise NotFound(f"no advisor registry entry for {village_region}", field="village_region")
    return VillageView.model_validate(_view(outcome))


@router.post("/advisors/{village_region}/assign", response_model=VillageView, summary="Assign the village's advisor")
async def assign_advisor(
    village_region: VillageRegion,
    body: AssignBody,
    principal: Admin,
    bus: BusDep,
    clock: ClockDep,
    idempotency_key: IdempotencyKey = None,
) -> VillageView:
    now = clock()
    command = domain.AssignAdvisor(village_region=village_region, advisor_id=body.advisor_id, at=now)
    return await _village_command(village_region, command, principal, idempotency_key, bus, now)


@router.post("/advisors/{village_region}/unassign", response_model=VillageView, summary="Remove the advisor")
async def unassign_advisor(
    village_region: VillageRegion,
    principal: Admin,
    bus: BusDep,
    clock: ClockDep,
    idempotency_key: IdempotencyKey = None,
) -> VillageView:
    now = clock()
    command = domain.UnassignAdvisor(village_region=village_region, at=now)
    return await _village_command(village_region, command, principal, idempotency_key, bus, now)


@router.post("/advisors/{village_region}/services", response_model=VillageView, summary="Log advisor service hours")
async def log_advisor_service(
    village_region: VillageRegion,
    body: ServiceLogBody,
    principal: Writer,
    bus: BusDep,
    clock: ClockDep,
    idempotency_key: IdempotencyKey = None,
) -> VillageView:
    now = clock()
    command = domain.LogAdvisorService(village_region=village_region, **body.model_dump(), at=now)
    return await _village_command(village_region, command, principal, idempotency_key, bus, now)


@router.get("/advisors/{village_region}", response_model=VillageView, summary="A village's advisor and hours")
async def get_village(village_region: VillageRegion, _: Reader, cases: CasesDep) -> VillageView:
    doc = await cases.get(_village_stream(village_region))
    if doc is None or doc.get("record") != "village":
        raise NotFound(f"no advisor registry entry for {village_region}", field="village_region")
    return VillageView.model_validate(doc)


@router.get("/advisors", response_model=VillageList, summary="Villages and their advisors")
async def list_villages(
    _: Reader,
    cases: CasesDep,
    region: Annotated[str | None, Query(pattern=r"^\d{2,12}$", description="code prefix")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    skip: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> VillageList:
    query: dict[str, Any] = {"record": "village"}
    if region is not None:
        query["region"] = {"$prefix": region}
    docs = await cases.find(query, sort="_id", limit=limit, skip=skip)
    items = [VillageView.model_validate(d) for d in docs]
    return VillageList(items=items, count=len(items))
