"""Wiring of the metrics query API: a follower replica of the fold state (`follower.py`) behind FastAPI.

Ready once the follower has caught up with the source topics."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from services.metrics import api
from services.metrics.config import Settings
from services.metrics.engine import Clock, build_engine
from services.metrics.follower import Folder, follower_store
from shared import clock as scenario
from shared.api import create_app as create_service_app
from shared.settings import load_settings


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """`clock` answers "now" for queries (current calendar periods, windows, deadlines); platform time by default."""
    settings = settings or load_settings(Settings)
    clock = clock or scenario.now
    engine = build_engine(settings, settled=follower_store(settings) if settings.follow else None)
    folder = Folder(settings.platform, engine, max_batch=settings.max_batch, clock=clock)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        if settings.follow:
            await folder.start()
        try:
            yield
        finally:
            await folder.stop()

    async def follower_probe() -> None:
        if settings.follow and not folder.ready.is_set():
            raise RuntimeError("still catching up with the source topics")

    app = create_service_app(
        service="metrics",
        settings=settings.platform,
        lifespan=lifespan,
        probes={"follower": follower_probe},
        description="Live indicators against city targets, case timelines and progress (指标与案件追踪)",
    )
    app.state.engine, app.state.folder, app.state.settings, app.state.clock = engine, folder, settings, clock
    app.include_router(api.router)
    return app
