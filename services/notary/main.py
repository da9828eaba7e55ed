"""Notary's app: `uvicorn --factory services.notary.main:create_app --port 8104`."""

from __future__ import annotations

from typing import Unpack

from fastapi import FastAPI

from services.notary.bootstrap import bootstrap
from services.notary.config import Settings
from services.notary.routes import router
from services.notary.waivers import Waivers
from shared.runtime import Adapters, department_app
from shared.settings import load_settings


def create_app(
    settings: Settings | None = None, *, waivers: Waivers | None = None, **adapters: Unpack[Adapters]
) -> FastAPI:
    settings = settings or load_settings(Settings)
    notary = bootstrap(settings, waivers=waivers, **adapters)
    return department_app(
        "notary",
        notary,
        router,
        description="公证: applications, fee waivers for aid recipients, certificates, court commissions",
    )
