"""Events from other departments and from courts → notary commands.

- legal aid's `NotaryFeeWaiverGranted` (flow 7) → the waiver registry (a waiver for a matter the catalogue does
  not know is dead-lettered with the reason);
- the court's `NotaryCommissioned` (flow 8) → a commission accepted (acknowledged back to the court);
- the court's `NotarialDocumentFeedback` → feedback recorded on the application holding that certificate
  (an unknown certificate is dead-lettered with the reason).
The incoming event id is the idempotency key, so a redelivery never acts twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.notary import handlers
from services.notary.domain import AcceptCommission, Application, Commission, MatterCatalogue, commission_stream
from services.notary.handlers import WaiverRegistry
from shared.commands import CommandBus, CommandContext
from shared.contracts.legal_aid import NotaryFeeWaiverGranted
from shared.contracts.partners import NotarialDocumentFeedback, NotaryCommissioned
from shared.envelope import Envelope
from shared.errors import ValidationFailed
from shared.readmodel import ReadModel


class NotaryConsumers:
    def __init__(
        self,
        *,
        applications: CommandBus[Application],
        application_views: ReadModel[Application],
        commissions: CommandBus[Commission],
        waivers: WaiverRegistry,
        catalogue: MatterCatalogue,
    ) -> None:
        self.applications = applications
        self.application_views = application_views
        self.commissions = commissions
        self.waivers = waivers
        self.catalogue = catalogue

    async def on_fee_waiver(self, env: Envelope, payload: NotaryFeeWaiverGranted) -> None:
        if payload.notary_matter not in self.catalogue:
            raise ValidationFailed(
                f"fee waiver names unknown notary matter {payload.notary_matter!r}", field="notary_matter"
            )
        if not 0 < payload.waiver <= 1:
            raise ValidationFailed(f"waiver share must be in (0, 1], got {payload.waiver}", field="waiver")
        await self.waivers.record(payload, env.id)

    async def on_commissioned(self, env: Envelope, payload: NotaryCommissioned) -> None:
        command = AcceptCommission(
            partner_reference=payload.partner_reference,
            kind=payload.kind,
            region=payload.region,
            details=payload.details,
            due_by=payload.due_by,
            commissioned_at=payload.commissioned_at,
            at=datetime.now(UTC),
        )
        await self.commissions.execute(
            commission_stream(payload.partner_reference), command, CommandContext.from_event(env)
        )

    async def on_document_feedback(self, env: Envelope, payload: NotarialDocumentFeedback) -> None:
        await handlers.record_feedback(
            self.applications,
            self.application_views,
            certificate_no=payload.certificate_no,
            partner_reference=payload.partner_reference,
            adopted=payload.adopted,
            reason=payload.reason,
            decided_at=payload.decided_at,
            at=datetime.now(UTC),
            ctx=CommandContext.from_event(env),
        )
