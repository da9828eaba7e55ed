"""Incoming events → mediation commands: partner referrals and court rulings, intake referrals.

Each handler runs its command with `CommandContext.from_event`, so a redelivered message is a no-op. Rule
breaks (unknown dispute, a ruling from an organ that is not the court, a kind the organ may not refer) raise
`shared.errors` types and land on the dead-letter topic with the reason.
"""

from __future__ import annotations

from services.mediation import domain
from services.mediation.handlers import MediationService, partner_of_source, referral_dispute_id
from shared.commands import CommandContext
from shared.consumer import Handler
from shared.contracts.common import Department, Partner
from shared.contracts.intake import RequestReferred
from shared.contracts.mediation import Outcome, Referrer, Source
from shared.contracts.partners import DisputeReferred, JudicialConfirmationDecided
from shared.envelope import Envelope
from shared.errors import Forbidden, ValidationFailed
from shared.events import Event


class MediationConsumers:
    def __init__(self, service: MediationService) -> None:
        self.service = service

    async def on_dispute_referred(self, env: Envelope, payload: DisputeReferred) -> None:
        partner = partner_of_source(env.source)
        await self.service.register_partner_referral(partner, payload, CommandContext.from_event(env))

    async def on_confirmation_decided(self, env: Envelope, payload: JudicialConfirmationDecided) -> None:
        if partner_of_source(env.source) is not Partner.COURT:
            raise Forbidden(f"only the court rules on judicial confirmation, not {env.source}", field="source")
        command = domain.RecordConfirmation(
            at=payload.decided_at,
            outcome=Outcome(payload.outcome.value),
            reason=payload.reason,
            court_reference=payload.partner_reference,
        )
        await self.service.execute(payload.dispute_id, command, CommandContext.from_event(env))

    async def on_request_referred(self, env: Envelope, payload: RequestReferred) -> None:
        if payload.to_department is not Department.MEDIATION:
            return  # a referral to another department
        if not payload.dispute_type:
            raise ValidationFailed("a mediation referral needs a dispute type", field="dispute_type")
        if payload.person_ref is None:
            raise ValidationFailed("a mediation referral needs the person's reference", field="person_ref")
        dispute_id = referral_dispute_id("intake", env.subject)
        command = self.service.registration(
            dispute_id=dispute_id,
            at=self.service.clock(),
            source=Source.INTAKE,
            dispute_type=payload.dispute_type,
            region=payload.region,
            parties=[payload.person_ref],
            claim=payload.matter,
            referrer=Referrer.INTAKE,
            intake_case_id=env.subject,
        )
        await self.service.execute(dispute_id, command, CommandContext.from_event(env))

    def partner_handlers(self) -> dict[type[Event], Handler]:
        return {
            DisputeReferred: self.on_dispute_referred,  # type: ignore[dict-item]
            JudicialConfirmationDecided: self.on_confirmation_decided,  # type: ignore[dict-item]
        }

    def intake_handlers(self) -> dict[type[Event], Handler]:
        return {RequestReferred: self.on_request_referred}  # type: ignore[dict-item]
