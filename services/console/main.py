"""Wiring of the operations console: settings → upstream clients → pages, static assets and the live relay."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from services.console import api, session
from services.console.clients import Upstream
from services.console.config import Settings
from shared.api import create_app as create_service_app
from shared.settings import load_settings

STATIC = Path(__file__).parent / "static"


def create_app(
    settings: Settings | None = None, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None
) -> FastAPI:
    """`transports` routes a service (by name) to an in-process app in tests; production uses the URLs."""
    settings = settings or load_settings(Settings)
    upstream = Upstream(settings, transports)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await upstream.aclose()

    async def metrics_probe() -> None:
        await upstream.get("metrics", "/indicators")

    app = create_service_app(
        service="console",
        settings=settings.platform,
        lifespan=lifespan,
        probes={"metrics": metrics_probe},
        description="Operations console: scorecard, case trace, worklists (运营监控台)",
    )
    app.state.settings, app.state.upstream = settings, upstream
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(session.router)
    app.include_router(api.router)

    @app.exception_handler(session.SignInRequired)
    async def _sign_in(_: Any, exc: session.SignInRequired) -> RedirectResponse:
        return session.sign_in_redirect(exc)

    return app
