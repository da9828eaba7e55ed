"""The one place the mediation service is wired: runtime, the disputes' and the committee registry's buses and
read models (one store), the registry the assignments read, vault, clock, and the consumers it subscribes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Unpack

import shared.contracts  # noqa: F401  (registers every event type)
from services.mediation import committees, consumers, domain, views
from services.mediation.config import Settings
from services.mediation.reference import CommitteeRegistry
from shared.commands import CommandBus
from shared.deps import Clock
from shared.partners import inbound_guard, partners_sending
from shared.pii import Vault
from shared.readmodel import Views
from shared.runtime import Adapters, ServiceRuntime


@dataclass(frozen=True)
class Mediation:
    """What mediation's routes, consumers and use cases work with."""

    runtime: ServiceRuntime
    bus: CommandBus[domain.Dispute]
    cases: Views[domain.Dispute]
    committee_bus: CommandBus[committees.CommitteeState]
    committee_view: Views[committees.CommitteeState]
    registry: CommitteeRegistry  # the reference file, overlaid with the committee streams (roster.load_overlay)
    vault: Vault
    clock: Clock
    settings: Settings


def assemble(settings: Settings, **adapters: Unpack[Adapters]) -> Mediation:
    """The container without its consumer groups (a benchmark subscribes a timed one of its own)."""
    runtime = ServiceRuntime("mediation", settings.platform, **adapters)
    cases = runtime.read_model("disputes", domain.decider, views.render, views.COLUMNS, views.is_dispute)
    committee_view = runtime.read_model(
        "committees", committees.decider, views.render_committee, streams=committees.is_committee
    )
    return Mediation(
        runtime,
        runtime.command_bus(domain.decider, cases),
        cases,
        runtime.command_bus(committees.decider, committee_view),
        committee_view,
        CommitteeRegistry.from_file(settings.committees_file),
        runtime.vault,
        runtime.clock,
        settings,
    )


def bootstrap(settings: Settings, **adapters: Unpack[Adapters]) -> Mediation:
    mediation = assemble(settings, **adapters)
    runtime = mediation.runtime
    partner_handlers = consumers.partner_handlers(mediation)
    partner_topics = [runtime.topics.partner_inbound(p) for p in partners_sending(partner_handlers)]
    runtime.subscribe("partners", partner_topics, partner_handlers, accept=inbound_guard)
    runtime.subscribe("intake", [runtime.topics.department("intake")], consumers.intake_handlers(mediation))
    return mediation
