"""Intake's app: `uvicorn --factory services.intake.main:create_app --port 8101`."""

from __future__ import annotations

from typing import Unpack

from fastapi import FastAPI

from services.intake.bootstrap import bootstrap
from services.intake.config import Settings
from services.intake.routes import router
from shared.runtime import Adapters, department_app
from shared.settings import load_settings


def create_app(settings: Settings | None = None, **adapters: Unpack[Adapters]) -> FastAPI:
    settings = settings or load_settings(Settings)
    intake = bootstrap(settings, **adapters)
    return department_app(
        "intake",
        intake,
        router,
        description="One-stop front door (公共法律服务中心, 12348 hotline and web): requests, triage, referral.",
    )
