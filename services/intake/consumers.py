"""Events from other departments → intake's use cases: a referral refused by the department it went to
(`ReferralRefused`, shared/referrals.py) brings the request back as "referral refused" with the reason.

The incoming event id is the idempotency key (`CommandContext.from_event`), so a redelivery never acts twice; a
refusal for a request intake did not refer there breaks a rule and goes to the dead-letter topic with the reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.intake import domain
from shared.commands import CommandContext
from shared.consumer import Handler
from shared.contracts.common import Department, ReferralRefused
from shared.envelope import Envelope
from shared.events import Event

if TYPE_CHECKING:  # bootstrap subscribes these handlers
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
