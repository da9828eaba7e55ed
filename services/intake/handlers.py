"""Intake's use cases: open a request or a call, act on one, and turn the outcome into its view.

Routes call these with the wired service (`bootstrap.Intake`) and the `Call` (who, when, which key); nothing
here knows HTTP or the database.
"""

from __future__ import annotations

import uuid

from services.intake import domain, views
from services.intake.bootstrap import Intake
from services.intake.schemas import CallView, ReceiveBody, RequestView, VillageView
from shared.commands import Outcome
from shared.contracts.intake import Channel
from shared.deps import Call
from shared.errors import NotFound
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
        at=call.now,
    )
    return request_view(await act(svc, request_id, command, call, creates=True))


async def offer_call(svc: Intake, region: str, call: Call, line: Channel = Channel.HOTLINE_12348) -> CallView:
    call_id = f"call-{uuid.uuid4().hex}"
    command = domain.OfferCall(call_id=call_id, region=region, line=line, at=call.now)
    outcome = await act(svc, call_id, command, call, creates=True)
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
