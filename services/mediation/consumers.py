"""Incoming events → mediation's use cases: partner referrals and court rulings, intake referrals.

Each handler runs with `CommandContext.from_event`, so a redelivered message is a no-op. A partner event that
breaks a rule (unknown dispute, a ruling from an organ that is not the court, a second ruling, a kind the organ may
not refer) raises a `shared.errors` type and lands on the dead-letter topic with the reason, and the partner is
told; an intake referral mediation cannot take is answered with `ReferralRefused` (shared/referrals.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.mediation import handlers
from shared.commands import CommandContext
from shared.consumer import Handler
from shared.contracts.common import Department, Partner
from shared.contracts.intake import RequestReferred
from shared.contracts.partners import DisputeReferred, JudicialConfirmationDecided
from shared.envelope import Envelope
from shared.errors import Forbidden
from shared.events import Event

if TYPE_CHECKING:  # bootstrap.py subscribes these
    from services.mediation.bootstrap import Mediation


def partner_handlers(m: Mediation) -> dict[type[Event], Handler]:
    async def dispute_referred(env: Envelope, payload: DisputeReferred) -> None:
        partner = handlers.partner_of_source(env.source)
        await handlers.register_referral(m, partner, payload, m.clock(), CommandContext.from_event(env))

    async def confirmation_decided(env: Envelope, payload: JudicialConfirmationDecided) -> None:
        if handlers.partner_of_source(env.source) is not Partner.COURT:
            raise Forbidden(f"only the court rules on judicial confirmation, not {env.source}", field="source")
        await handlers.record_ruling(m, payload.dispute_id, payload, CommandContext.from_event(env))

    return {
        DisputeReferred: dispute_referred,  # type: ignore[dict-item]
        JudicialConfirmationDecided: confirmation_decided,  # type: ignore[dict-item]
    }


def intake_handlers(m: Mediation) -> dict[type[Event], Handler]:
    desk = m.runtime.referral_desk()  # a referral mediation cannot take (no dispute type, no party) goes back

    async def request_referred(env: Envelope, payload: RequestReferred) -> None:
        if payload.to_department is not Department.MEDIATION:
            return  # a referral to another department
        ctx = CommandContext.from_event(env)
        await desk.accept_or_refuse(
            env, payload.region, lambda: handlers.register_intake_referral(m, env.subject, payload, m.clock(), ctx)
        )

    return {RequestReferred: request_referred}  # type: ignore[dict-item]
