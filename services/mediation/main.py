"""Mediation's app: `uvicorn --factory services.mediation.main:create_app --port 8103`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Unpack

from fastapi import FastAPI

from services.mediation import handlers, roster
from services.mediation.bootstrap import Mediation, bootstrap
from services.mediation.config import Settings
from services.mediation.routes import router
from shared.runtime import Adapters, department_app
from shared.settings import load_settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, **adapters: Unpack[Adapters]) -> FastAPI:
    settings = settings or load_settings(Settings)
    mediation = bootstrap(settings, **adapters)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async with mediation.runtime.running(app):
            await roster.load_overlay(mediation)
            sweep = asyncio.create_task(_sweep_forever(mediation))
            try:
                yield
            finally:
                sweep.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await sweep

    description = "People's mediation (人民调解) with police, court, procuratorate and petition linkage"
    return department_app("mediation", mediation, router, description=description, lifespan=lifespan)


async def _sweep_forever(mediation: Mediation) -> None:
    """Record lapsed confirmation windows now and then, so the events (and metrics) show them."""
    interval = mediation.settings.sweep_interval_seconds
    if interval <= 0:
        return
    while True:
        await asyncio.sleep(interval)
        try:
            lapsed = await handlers.sweep_lapsed_windows(mediation, mediation.clock())
            if lapsed:
                log.info("confirmation windows lapsed: %s", lapsed)
        except Exception:  # a sweep failure must not take the service down; the next round retries
            log.exception("lapsed-window sweep failed")
