"""Wiring of the notary service (the only place adapters meet the domain). Port 8104:
`uvicorn --factory services.notary.main:create_app --port 8104`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

import shared.contracts  # noqa: F401  (registers every event type the consumers decode)
from services.notary import api, domain, views
from services.notary.config import Settings, load_calendar, load_catalogue
from services.notary.consumers import NotaryConsumers
from services.notary.handlers import CertificateIssuer, WaiverRegistry
from shared.api import create_app as create_service_app
from shared.contracts.legal_aid import NotaryFeeWaiverGranted
from shared.contracts.partners import NotarialDocumentFeedback, NotaryCommissioned
from shared.partners import inbound_guard
from shared.pii import PersonVault
from shared.runtime import ServiceRuntime
from shared.settings import load_settings

MIGRATIONS = Path(__file__).parent / "sql"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings(Settings)
    catalogue = load_catalogue(settings.matters_file)
    calendar = load_calendar(settings.holidays_file)
    runtime = ServiceRuntime("notary", settings.platform, migrations=(MIGRATIONS,))

    applications = runtime.read_model(
        "applications",
        domain.application,
        views.render_application,
        views.APPLICATION_COLUMNS,
        streams=views.is_application,
    )
    commissions = runtime.read_model(
        "commissions", domain.commission, views.render_commission, views.COMMISSION_COLUMNS, views.is_commission
    )
    applications_bus = runtime.command_bus(domain.application, applications)
    commissions_bus = runtime.command_bus(domain.commission, commissions)
    registers_bus = runtime.command_bus(domain.register)  # the register stream itself is the record
    waivers = WaiverRegistry(runtime.db)
    vault = PersonVault(runtime.db, settings.platform.pii_pepper.get_secret_value())

    consumers = NotaryConsumers(
        applications=applications_bus,
        application_views=applications,
        commissions=commissions_bus,
        waivers=waivers,
        catalogue=catalogue,
    )
    handlers: dict[Any, Any] = {NotaryFeeWaiverGranted: consumers.on_fee_waiver}
    runtime.subscribe("legal_aid", [runtime.topics.department("legal_aid")], handlers)
    court: dict[Any, Any] = {
        NotaryCommissioned: consumers.on_commissioned,
        NotarialDocumentFeedback: consumers.on_document_feedback,
    }
    runtime.subscribe("court", [runtime.topics.partner_inbound("court")], court, accept=inbound_guard)

    app = create_service_app(
        service="notary",
        settings=settings.platform,
        lifespan=runtime.running,
        probes=runtime.probes(),
        description="公证: applications, fee waivers for aid recipients, certificates, court commissions",
    )
    s = app.state
    s.runtime, s.catalogue, s.calendar, s.waivers, s.vault = runtime, catalogue, calendar, waivers, vault
    s.applications, s.commissions = applications, commissions
    s.applications_bus, s.commissions_bus, s.registers_bus = applications_bus, commissions_bus, registers_bus
    s.issuer = CertificateIssuer(applications_bus, registers_bus)
    app.include_router(api.router)
    return app
