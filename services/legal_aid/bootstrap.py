"""The one place legal aid is wired: runtime, command bus, case views, vault, clock, reference data, consumers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Unpack

import shared.contracts  # noqa: F401  (registers every event type the consumers may meet)
from services.legal_aid import consumers, domain, views
from services.legal_aid.config import Settings
from services.legal_aid.reference import Profiles, Providers, load_profiles, load_providers
from shared.commands import CommandBus
from shared.deps import Clock
from shared.partners import inbound_guard, partners_sending
from shared.pii import Vault
from shared.readmodel import Views
from shared.runtime import Adapters, ServiceRuntime


@dataclass(frozen=True)
class LegalAid:
    """What legal aid's routes, consumers and use cases work with."""

    runtime: ServiceRuntime
    bus: CommandBus[domain.AidCase]
    cases: Views[domain.AidCase]
    vault: Vault
    clock: Clock
    profiles: Profiles  # city profiles: the economic threshold of each served city
    providers: Providers  # the provider registry


def assemble(settings: Settings, **adapters: Unpack[Adapters]) -> LegalAid:
    """The container without its consumer groups (a benchmark subscribes a timed one of its own)."""
    runtime = ServiceRuntime("legal_aid", settings.platform, **adapters)
    cases = runtime.read_model("cases", domain.decider, views.render, views.COLUMNS)
    bus = runtime.command_bus(domain.decider, cases)
    profiles, providers = load_profiles(settings.profiles_file), load_providers(settings.providers_file)
    return LegalAid(runtime, bus, cases, runtime.vault, runtime.clock, profiles, providers)


def bootstrap(settings: Settings, **adapters: Unpack[Adapters]) -> LegalAid:
    legal_aid = assemble(settings, **adapters)
    runtime = legal_aid.runtime
    partner_handlers = consumers.partner_handlers(legal_aid)
    partner_topics = [runtime.topics.partner_inbound(p) for p in partners_sending(partner_handlers)]
    runtime.subscribe("partners", partner_topics, partner_handlers, accept=inbound_guard)
    runtime.subscribe("intake", [runtime.topics.department("intake")], consumers.intake_handlers(legal_aid))
    return legal_aid
