"""Intake's use cases: open a request or a call, act on one, and turn the outcome into its view.

Routes call these with the wired service (`bootstrap.Intake`) and the `Call` (who, when, which key); nothing
here knows HTTP or the database.
"""

from __future__ import annotations

import uuid

from services.intake import domain, views
from services.intake.bootstrap import Intake
from services.intake.schemas import CallView, ReceiveBody, RequestView, VillageView
from shared.commands import CommandContext, Outcome
from shared.deps import Call
from shared.errors import CaseflowError, NotFound
from shared.events import Command

IntakeOutcome = Outcome[domain.IntakeState]


def village_stream(village_region: str) -> str:
    return f"adv-{village_region}"


async def act(svc: Intake, stream_id: str, command: Command, call: Call, *, creates: bool = False) -> IntakeOutcome:
    """Execute one command on one stream; a replayed key is marked on the answer."""
    return call.answered(await svc.bus.execute(stream_id, command, call.context(creates=creates)))


async def receive_request(svc: Intake, body: ReceiveBody, call: Call) -> RequestView:
    # the vault write comes after schema validation (a bad ID number never reaches it); registering the same
    # person again on a retry is harmless (same ref)
    person_ref = await svc.vault.register(body.person) if body.person is not None else None
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
        complaint_reply_days=svc.complaint_reply_days,
        at=call.now,
    )
    return request_view(await act(svc, request_id, command, call, creates=True))


async def publish_web_reply(svc: Intake, request_id: str, call: Call) -> RequestView:
    """Publish a web reply, drawn for inspection when its region's month is under the 3% quota (seed 000).

    The month's counter counts the reply first, under the key `qc:<request id>@<counter>` (a retry replays the count
    and its verdict), then the reply is published with the verdict, so a drawn reply and its draw event commit
    together. A reply that cannot be published is never counted; a count whose publication then failed only draws
    more."""
    state, _ = await svc.bus.load(request_id)
    try:
        domain.decide(domain.PublishWebReply(at=call.now), state)
    except CaseflowError:  # a replayed key answers its earlier outcome, anything else the same refusal
        return request_view(await act(svc, request_id, domain.PublishWebReply(at=call.now), call))
    assert isinstance(state, domain.Request)
    count = domain.CountWebReply(region=state.region, request_id=request_id, at=call.now)
    stream = domain.qc_stream(state.region, call.now)
    context = CommandContext(actor=call.actor, idempotency_key=f"qc:{request_id}@{stream}", time=call.now)
    month = (await svc.bus.execute(stream, count, context)).state
    draw = month.draw_of(request_id) if isinstance(month, domain.QcMonth) else None
    return request_view(await act(svc, request_id, domain.PublishWebReply(qc_draw=draw, at=call.now), call))


async def offer_call(svc: Intake, region: str, call: Call) -> CallView:
    call_id = f"call-{uuid.uuid4().hex}"
    outcome = await act(svc, call_id, domain.OfferCall(call_id=call_id, region=region, at=call.now), call, creates=True)
    return call_view(outcome)


def _doc(outcome: IntakeOutcome) -> dict[str, object]:
    doc = views.render(outcome.stream_id, outcome.state, outcome.version)
    return {**doc, "correlation_id": outcome.correlation_id or None}


def request_view(outcome: IntakeOutcome) -> RequestView:
    if not isinstance(outcome.state, domain.Request):
        raise NotFound("no such request", field="request_id")
    return RequestView.model_validate(_doc(outcome))


def call_view(outcome: IntakeOutcome) -> CallView:
    if not isinstance(outcome.state, domain.Call):
        raise NotFound("no such call", field="call_id")
    return CallView.model_validate(_doc(outcome))


def village_view(outcome: IntakeOutcome, village_region: str) -> VillageView:
    if not isinstance(outcome.state, domain.Village):
        raise NotFound(f"no advisor registry entry for {village_region}", field="village_region")
    return VillageView.model_validate(_doc(outcome))


async def stored(svc: Intake, stream_id: str, record: str, field: str) -> dict[str, object]:
    """A stored view of one kind of record (`request`, `call`, `village`), or 404 naming the field."""
    doc = await svc.cases.get(stream_id)
    if doc is None or doc.get("record") != record:
        raise NotFound(f"no {record} {stream_id}", field=field)
    return doc
