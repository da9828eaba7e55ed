"""Intake's use cases: open a request or a call, act on one, take the 12345 / 110 hotlines' transfers and
answers, and turn the outcome into its view.

Routes call these with the wired service (`bootstrap.Intake`) and the `Call` (who, when, which key); consumers
with a context made from the incoming event. Nothing here knows HTTP or the database.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from services.intake import domain, views
from services.intake.schemas import CallView, ReceiveBody, RequestView, VillageView
from shared.commands import CommandContext, Outcome
from shared.contracts.common import Partner
from shared.contracts.intake import Channel
from shared.contracts.partners import CallTransferred, TransferAccepted, TransferHandled
from shared.deps import Call
from shared.errors import CaseflowError, NotFound
from shared.events import Command

if TYPE_CHECKING:  # bootstrap subscribes the consumers, which call these
    from services.intake.bootstrap import Intake

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
    request_id = new_request_id(body.channel, body.external_reference)
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
def new_request_id(channel: Channel, external_reference: str | None) -> str:
    """A transfer in with the hotline's ticket has one request per ticket, the same whether staff type it in or
    the hotline sends it as an event; any other request gets a fresh id."""
    hotline = domain.SENDING_HOTLINE.get(channel)
    if hotline is not None and external_reference:
        return domain.transfer_request_id(hotline, external_reference)
    return f"rq-{uuid.uuid4().hex}"


async def receive_transfer(
    svc: Intake, hotline: Partner, transfer: CallTransferred, ctx: CommandContext
) -> IntakeOutcome:
    """12345 / 110 → 12348: the hotline's transfer becomes the same request staff would open for it, with a work
    order due within the hotline's time limit."""
    channel = domain.TRANSFER_CHANNELS[hotline]
    request = domain.ReceiveRequest(
        request_id=new_request_id(channel, transfer.partner_reference),
        channel=channel,
        region=transfer.region,
        kind=transfer.kind,
        topic=transfer.topic,
        person_ref=transfer.person_ref,
        external_reference=transfer.partner_reference,
        at=svc.clock(),
    )
    hours = transfer.deadline_hours or domain.DEFAULT_WORK_ORDER_HOURS
    return await svc.bus.execute(request.request_id, domain.ReceiveTransfer(request=request, deadline_hours=hours), ctx)


async def record_transfer_answer(
    svc: Intake, hotline: Partner, answer: TransferAccepted | TransferHandled, ctx: CommandContext
) -> IntakeOutcome:
    """The other hotline's ticket (accepted) or result (handled) for a request 12348 transferred to it."""
    command: Command
    if isinstance(answer, TransferAccepted):
        command = domain.RecordTransferTicket(to=hotline, ticket=answer.partner_reference, at=answer.accepted_at)
    else:
        command = domain.RecordTransferOutcome(
            to=hotline, ticket=answer.partner_reference, outcome=answer.outcome, at=answer.handled_at
        )
    return await svc.bus.execute(answer.request_id, command, ctx)


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
