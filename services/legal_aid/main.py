"""Legal aid's app: `uvicorn --factory services.legal_aid.main:create_app --port 8102`."""

from __future__ import annotations

from typing import Unpack

from fastapi import FastAPI

from services.legal_aid.bootstrap import bootstrap
from services.legal_aid.config import Settings
from services.legal_aid.routes import router
from shared.runtime import Adapters, department_app
from shared.settings import load_settings


def create_app(settings: Settings | None = None, **adapters: Unpack[Adapters]) -> FastAPI:
    settings = settings or load_settings(Settings)
    legal_aid = bootstrap(settings, **adapters)
    return department_app(
        "legal_aid",
        legal_aid,
        router,
        description="Legal aid (法律援助): applications, notified defence, review, assignment, closing, subsidy.",
    )
