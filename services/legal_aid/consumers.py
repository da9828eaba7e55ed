"""Events that open legal aid cases: partner notices (通知辩护 / 法律帮助, forwarded detainee applications) and
intake referrals. Each handler turns the event into a command with `CommandContext.from_event`, so the event id
is the idempotency key and the case keeps the sender's correlation id. A partner event that breaks a rule → dead
letter with the reason; an intake referral legal aid cannot take → `ReferralRefused` back to intake.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.legal_aid import handlers
from shared.commands import CommandContext
from shared.consumer import Handler
from shared.contracts.common import Department, Partner
from shared.contracts.intake import RequestReferred
from shared.contracts.partners import DetaineeApplicationForwarded, NotifiedDefenceRequested
from shared.envelope import Envelope
from shared.errors import ValidationFailed
from shared.events import Event

if TYPE_CHECKING:  # bootstrap subscribes these handlers
    from services.legal_aid.bootstrap import LegalAid


def _organ(env: Envelope) -> Partner:
    # inbound_guard has checked that source == partner/<topic's partner>; the source names the organ
    kind, _, name = env.source.partition("/")
    try:
        return Partner(name)
    except ValueError:
        raise ValidationFailed(f"unknown notifying organ {env.source!r}", field="source") from None


def partner_handlers(la: LegalAid) -> dict[type[Event], Handler]:
    async def on_notice(env: Envelope, payload: Event) -> None:
        assert isinstance(payload, NotifiedDefenceRequested)
        await handlers.notified_defence(la, _organ(env), payload, CommandContext.from_event(env))

    async def on_detainee(env: Envelope, payload: Event) -> None:
        assert isinstance(payload, DetaineeApplicationForwarded)
        await handlers.detainee_application(la, _organ(env), payload, CommandContext.from_event(env))

    return {NotifiedDefenceRequested: on_notice, DetaineeApplicationForwarded: on_detainee}


def intake_handlers(la: LegalAid) -> dict[type[Event], Handler]:
    desk = la.runtime.referral_desk()  # a referral legal aid cannot take (a region no city profile serves) goes back

    async def on_referral(env: Envelope, payload: Event) -> None:
        assert isinstance(payload, RequestReferred)
        if payload.to_department is not Department.LEGAL_AID:
            return  # a referral to another department
        ctx = CommandContext.from_event(env)
        await desk.accept_or_refuse(
            env, payload.region, lambda: handlers.referral(la, env.id, env.subject, payload, env.time, ctx)
        )

    return {RequestReferred: on_referral}
