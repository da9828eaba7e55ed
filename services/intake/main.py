"""Intake service wiring: runtime, command bus, read model, person vault, HTTP app (the only wiring place).

Run: `uvicorn --factory services.intake.main:create_app --port 8101`.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.intake import api, domain, views
from services.intake.config import Settings
from shared.api import create_app as create_service_app
from shared.pii import PersonVault
from shared.runtime import ServiceRuntime
from shared.settings import load_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings(Settings)
    runtime = ServiceRuntime("intake", settings.platform)
    cases = runtime.read_model("intake", domain.decider, views.render, views.COLUMNS)
    bus = runtime.command_bus(domain.decider, cases)
    app = create_service_app(
        service="intake",
        settings=settings.platform,
        lifespan=runtime.running,
        probes=runtime.probes(),
        description="One-stop front door (公共法律服务中心, 12348 hotline and web): requests, triage, referral.",
    )
    app.state.runtime, app.state.bus, app.state.cases = runtime, bus, cases
    app.state.vault = PersonVault(runtime.db, settings.platform.pii_pepper.get_secret_value())
    app.include_router(api.router)
    return app
