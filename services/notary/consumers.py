"""Events from other departments and from courts → notary commands.

- legal aid's `NotaryFeeWaiverGranted` (flow 7) → the waiver registry (a waiver for a matter the catalogue does
  not know is dead-lettered with the reason);
- the court's `NotaryCommissioned` (flow 8) → a commission accepted (acknowledged back to the court);
- the court's `NotarialDocumentFeedback` → feedback recorded on the application holding that certificate
  (an unknown certificate is dead-lettered with the reason).
The incoming event id is the idempotency key, so a redelivery never acts twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.notary import handlers
from shared.commands import CommandContext
from shared.consumer import Handler
from shared.contracts.legal_aid import NotaryFeeWaiverGranted
from shared.contracts.partners import NotarialDocumentFeedback, NotaryCommissioned
from shared.envelope import Envelope
from shared.errors import ValidationFailed
from shared.events import Event

if TYPE_CHECKING:  # bootstrap subscribes these handlers
    from services.notary.bootstrap import Notary


def legal_aid_handlers(notary: Notary) -> dict[type[Event], Handler]:
    async def on_fee_waiver(env: Envelope, payload: Event) -> None:
        assert isinstance(payload, NotaryFeeWaiverGranted)
        if payload.notary_matter not in notary.catalogue:
            raise ValidationFailed(
                f"fee waiver names unknown notary matter {payload.notary_matter!r}", field="notary_matter"
            )
        if not 0 < payload.waiver <= 1:
            raise ValidationFailed(f"waiver share must be in (0, 1], got {payload.waiver}", field="waiver")
        await notary.waivers.record(payload, env.id)

    return {NotaryFeeWaiverGranted: on_fee_waiver}


def court_handlers(notary: Notary) -> dict[type[Event], Handler]:
    async def on_commissioned(env: Envelope, payload: Event) -> None:
        assert isinstance(payload, NotaryCommissioned)
        await handlers.accept_commission(notary, payload, at=notary.clock(), ctx=CommandContext.from_event(env))

    async def on_document_feedback(env: Envelope, payload: Event) -> None:
        assert isinstance(payload, NotarialDocumentFeedback)
        await handlers.record_feedback(notary, payload, at=notary.clock(), ctx=CommandContext.from_event(env))

    return {NotaryCommissioned: on_commissioned, NotarialDocumentFeedback: on_document_feedback}
