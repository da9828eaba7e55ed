"""Legal aid service wiring: the only place adapters meet the domain (`uvicorn --factory
services.legal_aid.main:create_app`, port 8102)."""

from __future__ import annotations

from fastapi import FastAPI

import shared.contracts  # noqa: F401  (registers every event type)
from services.legal_aid import api, consumers, domain, views
from services.legal_aid.config import Settings
from services.legal_aid.handlers import LegalAid
from services.legal_aid.reference import load_profiles, load_providers
from shared.api import create_app as create_service_app
from shared.partners import inbound_guard
from shared.pii import PersonVault
from shared.runtime import ServiceRuntime
from shared.settings import load_settings
from shared.topics import PARTNERS


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings(Settings)
    runtime = ServiceRuntime("legal_aid", settings.platform)
    cases = runtime.read_model("cases", domain.decider, views.render, views.COLUMNS)
    bus = runtime.command_bus(domain.decider, cases)
    svc = LegalAid(bus, cases, load_profiles(settings.profiles_file), load_providers(settings.providers_file))
    runtime.subscribe(
        "partners",
        [runtime.topics.partner_inbound(p) for p in PARTNERS],
        consumers.partner_handlers(svc),
        accept=inbound_guard,
    )
    runtime.subscribe("intake", [runtime.topics.department("intake")], consumers.intake_handlers(svc))
    app = create_service_app(
        service="legal_aid", settings=settings.platform, lifespan=runtime.running, probes=runtime.probes()
    )
    app.state.runtime, app.state.bus, app.state.cases = runtime, bus, cases
    app.state.legal_aid = svc
    app.state.vault = PersonVault(runtime.db, settings.platform.pii_pepper.get_secret_value())
    app.include_router(api.router)
    return app
