"""Legal aid's app: `uvicorn --factory services.legal_aid.main:create_app --port 8102`."""

from __future__ import annotations

from typing import Unpack

from fastapi import FastAPI

from services.legal_aid.bootstrap import bootstrap
from services.legal_aid.config import Settings
from services.legal_aid.routes import router
from shared.api import create_app as create_service_app
from shared.runtime import Adapters
from shared.settings import load_settings


def create_app(settings: Settings | None = None, **adapters: Unpack[Adapters]) -> FastAPI:
    settings = settings or load_settings(Settings)
    legal_aid = bootstrap(settings, **adapters)
    app = create_service_app(
        service="legal_aid",
        settings=settings.platform,
        lifespan=legal_aid.runtime.running,
        probes=legal_aid.runtime.probes(),
        clock=legal_aid.clock,
        description="Legal aid (法律援助): applications, notified defence, review, assignment, closing, subsidy.",
    )
    app.state.legal_aid, app.state.runtime = legal_aid, legal_aid.runtime
    app.include_router(router)
    return app
