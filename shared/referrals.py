"""Answering a referral a department cannot accept (转介退回): the one way every department refuses one.

A department's referral consumer runs its way in through `accept_or_refuse`. When the referral breaks one of the
department's rules (a `ValidationFailed` or `DomainError`: a region it does not serve, a missing dispute type), the
department records a `ReferralRefused` on a refusal stream of its own store (`refusal-…`, derived from the referral
event's id, so a redelivery finds it written): the outbox publishes it on the department's topic under the
referring case's correlation id, and the referring department folds it (intake: the request becomes "referral
refused" with the reason, on its worklist). Nothing is dead-lettered: the sender is told instead.

Refusal streams share the department's event store with its cases; `ServiceRuntime.read_model` leaves them out of
every case view (`is_refusal_stream`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime

from shared.commands import CommandBus, CommandContext
from shared.contracts.common import CaseId, Department, LongText, ReasonCode, ReferralRefused, RegionCode
from shared.decider import Decider
from shared.envelope import Envelope
from shared.errors import DomainError, InvalidTransition, ValidationFailed
from shared.events import Command, Event

REFUSAL_PREFIX = "refusal-"
#: the errors that refuse a referral; any other (a bug, a conflict, I/O) takes the consumer's usual path
REFUSING = (ValidationFailed, DomainError)


def refusal_stream(referral_event_id: str) -> str:
    return f"{REFUSAL_PREFIX}{hashlib.sha256(referral_event_id.encode()).hexdigest()[:24]}"


def is_refusal_stream(stream_id: str) -> bool:
    return stream_id.startswith(REFUSAL_PREFIX)


class RefuseReferral(Command):
    referral_case_id: CaseId
    referral_event_id: str
    referred_by: Department
    refused_by: Department
    reason_code: ReasonCode
    reason: LongText
    field: str | None = None
    region: RegionCode
    at: datetime


Refusal = ReferralRefused | None


def _decide(command: Command, state: Refusal) -> list[Event]:
    if not isinstance(command, RefuseReferral):
        raise InvalidTransition(type(command).__name__, "referral refusal")
    if state is not None:
        return []  # refused once: the referring case already knows
    return [ReferralRefused(refused_at=command.at, **command.model_dump(exclude={"at"}))]


def _evolve(state: Refusal, event: Event) -> Refusal:
    return event if isinstance(event, ReferralRefused) else state


refusal_decider: Decider[Refusal] = Decider("referral_refusal", lambda: None, _decide, _evolve)


def _referrer(env: Envelope) -> Department:
    """The referring department: `caseflow/<department>` is the source of every department's events."""
    return Department(env.source.removeprefix("caseflow/"))


class ReferralDesk:
    """Where a department takes referrals in: it accepts each one, or refuses it back to the referring case."""

    def __init__(self, department: Department, refusals: CommandBus[Refusal], clock: Callable[[], datetime]) -> None:
        self.department = department
        self.refusals = refusals
        self.clock = clock

    async def accept_or_refuse(
        self, env: Envelope, region: str, accept: Callable[[], Awaitable[object]]
    ) -> ReferralRefused | None:
        """Run the department's way in for the referral `env`; if a rule refuses it, answer with `ReferralRefused`
        (returned); a redelivered referral is refused once."""
        try:
            await accept()
            return None
        except REFUSING as exc:
            command = RefuseReferral(
                referral_case_id=env.subject,
                referral_event_id=env.id,
                referred_by=_referrer(env),
                refused_by=self.department,
                reason_code=exc.code,
                reason=exc.message[:5000],
                field=exc.field,
                region=region,
                at=self.clock(),
            )
            ctx = CommandContext.from_event(env, actor=f"dept:{self.department}", step="refused")
            outcome = await self.refusals.execute(refusal_stream(env.id), command, ctx)
            return outcome.state
