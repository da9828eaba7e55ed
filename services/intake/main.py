"""Intake's app: `uvicorn --factory services.intake.main:create_app --port 8101`."""

from __future__ import annotations

from typing import Unpack

from fastapi import FastAPI

from services.intake.bootstrap import bootstrap
from services.intake.config import Settings
from services.intake.routes import router
from shared.api import create_app as create_service_app
from shared.runtime import Adapters
from shared.settings import load_settings


def create_app(settings: Settings | None = None, **adapters: Unpack[Adapters]) -> FastAPI:
    settings = settings or load_settings(Settings)
    intake = bootstrap(settings, **adapters)
    app = create_service_app(
        service="intake",
        settings=settings.platform,
        lifespan=intake.runtime.running,
        probes=intake.runtime.probes(),
        clock=intake.clock,
        description="One-stop front door (公共法律服务中心, 12348 hotline and web): requests, triage, referral.",
    )
    app.state.intake, app.state.runtime = intake, intake.runtime
    app.include_router(router)
    return app
