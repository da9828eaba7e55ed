"""Gateway wiring (the only place adapters meet the routes): `uvicorn --factory services.gateway.main:create_app
--port 8106`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

import shared.contracts  # noqa: F401  (registers every event type)
from services.gateway import api
from services.gateway.config import Settings
from services.gateway.handlers import Gateway, PostgresKeyStore, Unavailable, kafka_publisher
from shared import kafka
from shared.api import create_app as create_service_app
from shared.db import Database
from shared.envelope import Envelope
from shared.events import registry
from shared.logs import setup_logging
from shared.settings import load_settings
from shared.topics import Topics

MIGRATIONS = Path(__file__).parent / "sql"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings(Settings)
    platform = settings.platform
    db = Database.for_service(platform, "gateway", max_size=platform.database_pool_size)
    producers: list[AIOKafkaProducer] = []  # created in the lifespan, so building the app touches no broker

    async def publish(topic: str, env: Envelope) -> None:
        if not producers:
            raise Unavailable("the gateway is not connected to the broker")
        await kafka_publisher(producers[0])(topic, env)

    gateway = Gateway(Topics(platform.topic_prefix), registry, PostgresKeyStore(db), publish)

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        setup_logging(platform.log_level, "gateway")
        await db.open(MIGRATIONS)
        await kafka.ensure_topics(platform)
        producer = kafka.producer(platform)
        await producer.start()
        producers.append(producer)
        try:
            yield
        finally:
            producers.clear()
            await producer.stop()
            await db.close()

    async def kafka_probe() -> None:
        if not producers:
            raise RuntimeError("producer not started")
        await producers[0].client.fetch_all_metadata()

    app = create_service_app(
        service="gateway",
        settings=platform,
        lifespan=lifespan,
        probes={"postgres": db.ping, "kafka": kafka_probe},
        description="Partner HTTP gateway: the event contracts over REST for organs without Kafka",
    )
    app.state.settings, app.state.gateway = settings, gateway
    app.include_router(api.router)
    return app
