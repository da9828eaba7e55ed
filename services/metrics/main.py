"""Wiring of the metrics query API: a follower replica of the fold state behind FastAPI.

The follower starts from the MongoDB snapshot the faust writer (`services.metrics.stream`) keeps and follows the
source topics from the positions saved with it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from pymongo import AsyncMongoClient

from services.metrics import api
from services.metrics.config import Settings
from services.metrics.store import Snapshots
from services.metrics.worker import Clock, Folder, build_engine
from shared.api import create_app as create_service_app
from shared.settings import load_settings


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """`clock` answers "now" for queries (current calendar periods, windows, deadlines); real time by default."""
    settings = settings or load_settings(Settings)
    clock = clock or (lambda: datetime.now(UTC))
    engine = build_engine(settings)
    mongo: AsyncMongoClient = AsyncMongoClient(
        settings.platform.mongo_url, tz_aware=True, serverSelectionTimeoutMS=5000
    )
    db = mongo[f"{settings.platform.topic_prefix}_metrics"]
    folder = Folder(settings.platform, engine, Snapshots(db), max_batch=settings.max_batch, clock=clock)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        if settings.follow:
            await folder.start()
        try:
            yield
        finally:
            await folder.stop()
            await mongo.close()

    async def mongo_probe() -> None:
        await db.command("ping")

    app = create_service_app(
        service="metrics",
        settings=settings.platform,
        lifespan=lifespan,
        probes={"mongo": mongo_probe},
        description="Live indicators against city targets, case timelines and progress (指标与案件追踪)",
    )
    app.state.engine, app.state.folder, app.state.settings, app.state.clock = engine, folder, settings, clock
    app.include_router(api.router)
    return app
