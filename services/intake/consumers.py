"""Incoming events → intake's use cases: a referral refused by the department it went to (`ReferralRefused`,
shared/referrals.py) brings the request back as "referral refused" with the reason; the 12345 hotline's and 110
dispatch's transfers in and their answers to transfers out (热线联动).

Each handler runs with `CommandContext.from_event`, so a redelivered message is a no-op; a transfer re-sent
under the same ticket lands on the same request. Rule breaks (a refusal for a request intake did not refer there,
an answer for a request that was not transferred to that hotline, a ticket that differs from the accepted one)
raise `shared.errors` types and land on the dead-letter topic with the reason; a hotline is also told
(`partner_event_rejected`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.intake import domain, handlers
from shared.commands import CommandContext
from shared.consumer import Handler
from shared.contracts.common import HOTLINES, Department, Partner, ReferralRefused
from shared.contracts.partners import CallTransferred, TransferAccepted, TransferHandled
from shared.envelope import Envelope
from shared.errors import Forbidden
from shared.events import Event

if TYPE_CHECKING:  # bootstrap.py subscribes these
    from services.intake.bootstrap import Intake

#: the departments that take intake's referrals through a referral desk: their topics carry the refusals
REFERRED_TO = (Department.LEGAL_AID, Department.MEDIATION)


def department_handlers(svc: Intake) -> dict[type[Event], Handler]:
    async def on_refusal(env: Envelope, payload: Event) -> None:
        assert isinstance(payload, ReferralRefused)
        if payload.referred_by is not Department.INTAKE:
            return  # another department's referral
        command = domain.NoteReferralRefusal(
            refused_by=payload.refused_by,
            reason_code=payload.reason_code,
            reason=payload.reason,
            field=payload.field,
            refusal_event_id=env.id,
            at=payload.refused_at,
        )
        await svc.bus.execute(payload.referral_case_id, command, CommandContext.from_event(env))

    return {ReferralRefused: on_refusal}


def hotline_of_source(source: str) -> Partner:
    """An event's `partner/<name>` source → the hotline that sent it (the inbound guard has matched it to the topic)."""
    kind, _, name = source.partition("/")
    hotline = next((h for h in HOTLINES if kind == "partner" and h.value == name), None)
    if hotline is None:
        raise Forbidden(f"only 12345 and 110 transfer calls to and from 12348, not {source}", field="source")
    return hotline


def partner_handlers(svc: Intake) -> dict[type[Event], Handler]:
    async def call_transferred(env: Envelope, payload: CallTransferred) -> None:
        await handlers.receive_transfer(svc, hotline_of_source(env.source), payload, CommandContext.from_event(env))

    async def transfer_answered(env: Envelope, payload: TransferAccepted | TransferHandled) -> None:
        hotline = hotline_of_source(env.source)
        await handlers.record_transfer_answer(svc, hotline, payload, CommandContext.from_event(env))

    return {
        CallTransferred: call_transferred,  # type: ignore[dict-item]
        TransferAccepted: transfer_answered,  # type: ignore[dict-item]
        TransferHandled: transfer_answered,  # type: ignore[dict-item]
    }
