"""The one place the notary service is wired: runtime, the three command buses, the two read models, the
fee-waiver registry, the certificate issuer, reference data, vault, clock and the consumers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Unpack

import shared.contracts  # noqa: F401  (registers every event type the consumers decode)
from services.notary import consumers, domain, views
from services.notary.config import Settings
from services.notary.handlers import CertificateIssuer
from services.notary.reference import load_catalogue
from services.notary.waivers import PostgresWaivers, Waivers
from shared.commands import CommandBus
from shared.deps import Clock
from shared.partners import inbound_guard
from shared.pii import Vault
from shared.readmodel import Views
from shared.runtime import Adapters, ServiceRuntime

MIGRATIONS = Path(__file__).parent / "sql"


@dataclass(frozen=True)
class Notary:
    """What notary's routes, use cases and consumers work with."""

    runtime: ServiceRuntime
    applications: CommandBus[domain.Application]
    commissions: CommandBus[domain.Commission]
    registers: CommandBus[domain.Register]  # the register stream itself is the record: no read model
    application_views: Views[domain.Application]
    commission_views: Views[domain.Commission]
    waivers: Waivers
    issuer: CertificateIssuer
    catalogue: domain.MatterCatalogue
    vault: Vault
    clock: Clock


def bootstrap(settings: Settings, *, waivers: Waivers | None = None, **adapters: Unpack[Adapters]) -> Notary:
    """`waivers`: the fee-waiver registry (PostgreSQL's `fee_waivers` unless a test passes its own)."""
    runtime = ServiceRuntime("notary", settings.platform, migrations=(MIGRATIONS,), **adapters)
    application_views = runtime.read_model(
        "applications", domain.application, views.render_application, views.APPLICATION_COLUMNS, views.is_application
    )
    commission_views = runtime.read_model(
        "commissions", domain.commission, views.render_commission, views.COMMISSION_COLUMNS, views.is_commission
    )
    applications = runtime.command_bus(domain.application, application_views)
    registers = runtime.command_bus(domain.register)
    notary = Notary(
        runtime=runtime,
        applications=applications,
        commissions=runtime.command_bus(domain.commission, commission_views),
        registers=registers,
        application_views=application_views,
        commission_views=commission_views,
        waivers=waivers if waivers is not None else PostgresWaivers(runtime.db),
        issuer=CertificateIssuer(applications, registers),
        catalogue=load_catalogue(settings.matters_file),
        vault=runtime.vault,
        clock=runtime.clock,
    )
    runtime.subscribe("legal_aid", [runtime.topics.department("legal_aid")], consumers.legal_aid_handlers(notary))
    court = [runtime.topics.partner_inbound("court")]
    runtime.subscribe("court", court, consumers.court_handlers(notary), accept=inbound_guard)
    return notary
