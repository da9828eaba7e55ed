"""Wiring of the mediation service: the only place adapters meet the domain.

Run with `uvicorn --factory services.mediation.main:create_app --port 8103`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

import shared.contracts  # noqa: F401  (registers every event type)
from services.mediation import api, committees, domain, views
from services.mediation.config import Settings
from services.mediation.consumers import MediationConsumers
from services.mediation.handlers import Clock, CommitteeAdmin, MediationService, render_committee, utcnow
from services.mediation.reference import CommitteeRegistry
from shared.api import create_app as create_service_app
from shared.partners import inbound_guard
from shared.pii import PersonVault
from shared.runtime import ServiceRuntime
from shared.settings import load_settings
from shared.topics import PARTNERS

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, clock: Clock = utcnow) -> FastAPI:
    settings = settings or load_settings(Settings)
    runtime = ServiceRuntime("mediation", settings.platform)
    cases = runtime.read_model("disputes", domain.decider, views.render, views.COLUMNS, views.is_dispute)
    bus = runtime.command_bus(domain.decider, cases)
    registry = CommitteeRegistry.from_file(settings.committees_file)
    service = MediationService(bus, cases, registry, settings, clock)
    committee_view = runtime.read_model(
        "committees", committees.decider, render_committee, streams=committees.is_committee
    )
    admin = CommitteeAdmin(runtime.command_bus(committees.decider, committee_view), committee_view, registry, clock)
    consumers = MediationConsumers(service)
    runtime.subscribe(
        "partners",
        [runtime.topics.partner_inbound(p) for p in PARTNERS],
        consumers.partner_handlers(),
        accept=inbound_guard,
    )
    runtime.subscribe("intake", [runtime.topics.department("intake")], consumers.intake_handlers())

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async with runtime.running(app):
            await admin.load_overlay()
            sweep = asyncio.create_task(_sweep_forever(service, settings.sweep_interval_seconds))
            try:
                yield
            finally:
                sweep.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await sweep

    app = create_service_app(
        service="mediation",
        settings=settings.platform,
        lifespan=lifespan,
        probes=runtime.probes(),
        description="People's mediation (人民调解) with police, court, procuratorate and petition linkage",
    )
    app.state.runtime, app.state.bus, app.state.cases = runtime, bus, cases
    app.state.service, app.state.committees, app.state.admin = service, registry, admin
    app.state.vault = PersonVault(runtime.db, settings.platform.pii_pepper.get_secret_value())
    app.include_router(api.router)
    return app


async def _sweep_forever(service: MediationService, interval: float) -> None:
    """Record lapsed confirmation windows now and then, so the events (and metrics) show them."""
    if interval <= 0:
        return
    while True:
        await asyncio.sleep(interval)
        try:
            lapsed = await service.sweep_lapsed_windows()
            if lapsed:
                log.info("confirmation windows lapsed: %s", lapsed)
        except Exception:  # a sweep failure must not take the service down; the next round retries
            log.exception("lapsed-window sweep failed")
