"""Incoming events → intake's use cases: the 12345 hotline's and 110 dispatch's transfers in and their answers to
transfers out (热线联动).

Each handler runs with `CommandContext.from_event`, so a redelivered message is a no-op; a transfer re-sent
under the same ticket lands on the same request. Rule breaks (an answer for a request that was not transferred
to that hotline, a ticket that differs from the accepted one) raise `shared.errors` types and land on the
dead-letter topic with the reason, and the hotline is told (`partner_event_rejected`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.intake import handlers
from shared.commands import CommandContext
from shared.consumer import Handler
from shared.contracts.common import HOTLINES, Partner
from shared.contracts.partners import CallTransferred, TransferAccepted, TransferHandled
from shared.envelope import Envelope
from shared.errors import Forbidden
from shared.events import Event

if TYPE_CHECKING:  # bootstrap.py subscribes these
    from services.intake.bootstrap import Intake


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
