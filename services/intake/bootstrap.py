"""The one place the intake service is wired: runtime, command bus, read model, vault, clock, and the consumers it
subscribes (referral refusals from the departments; the 12345 hotline's and 110 dispatch's inbound topics)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Unpack

import shared.contracts  # noqa: F401  (registers every event type)
from services.intake import consumers, domain, views
from services.intake.config import Settings
from shared.commands import CommandBus
from shared.deps import Clock
from shared.partners import inbound_guard, partners_sending
from shared.pii import Vault
from shared.readmodel import Views
from shared.runtime import Adapters, ServiceRuntime


@dataclass(frozen=True)
class Intake:
    """What intake's routes and use cases work with."""

    runtime: ServiceRuntime
    bus: CommandBus[domain.IntakeState]
    cases: Views[domain.IntakeState]
    vault: Vault
    clock: Clock
    complaint_reply_days: int


def bootstrap(settings: Settings, **adapters: Unpack[Adapters]) -> Intake:
    runtime = ServiceRuntime("intake", settings.platform, **adapters)
    cases = runtime.read_model("intake", domain.decider, views.render, views.COLUMNS)
    bus = runtime.command_bus(domain.decider, cases)
    intake = Intake(runtime, bus, cases, runtime.vault, runtime.clock, settings.complaint_reply_days)
    topics = [runtime.topics.department(d) for d in consumers.REFERRED_TO]
    runtime.subscribe("departments", topics, consumers.department_handlers(intake))
    partner_handlers = consumers.partner_handlers(intake)
    hotlines = [runtime.topics.partner_inbound(p) for p in partners_sending(partner_handlers)]
    runtime.subscribe("partners", hotlines, partner_handlers, accept=inbound_guard)
    return intake
