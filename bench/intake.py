"""Intake: sustained `POST /requests` rate and p99 through the real service (one in-process app, real FerretDB
and Kafka) against a FastAPI endpoint that only validates the same body, measured in the same run.

Standalone: `python -m bench.intake` (platform settings from `CASEFLOW_*`, a fresh topic prefix).
"""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from bench.common import Report, Row, percentile
from services.intake.api import ReceiveBody
from services.intake.config import Settings
from services.intake.main import create_app
from shared.auth import issue_token
from shared.settings import PlatformSettings

CONCURRENCY = 8
SECONDS = 8.0  # per side: two sides plus start-up stay well under a minute
BODY = {
    "channel": "walk_in",
    "level": "county",
    "region": "431002000000",
    "kind": "help",
    "topic": "labour",
    "person": {"name": "张三", "id_number": "431002198506121230", "phone": "13800138000"},
}


def baseline_app() -> FastAPI:
    """The floor: FastAPI parsing and validating the same body (PersonData check digit included), no I/O."""
    app = FastAPI()

    @app.post("/requests", status_code=201)
    async def receive(body: ReceiveBody) -> dict[str, str]:
        return {"channel": body.channel.value}

    return app


async def sustained(client: httpx.AsyncClient, headers: dict[str, str]) -> tuple[int, float, list[float]]:
    """(requests, seconds, latencies in ms) of CONCURRENCY clients posting for SECONDS."""
    latencies: list[float] = []
    deadline = time.perf_counter() + SECONDS

    async def worker() -> None:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            r = await client.post("/requests", json=BODY, headers=headers)
            latencies.append((time.perf_counter() - t0) * 1000)
            if r.status_code != 201:
                raise RuntimeError(f"POST /requests answered {r.status_code}: {r.text[:300]}")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return len(latencies), time.perf_counter() - start, latencies


async def run(settings: PlatformSettings, report: Report) -> None:
    auth = {"Authorization": f"Bearer {issue_token(settings, 'dept:intake', ['intake:write'])}"}
    base_transport = httpx.ASGITransport(app=baseline_app())
    async with httpx.AsyncClient(transport=base_transport, base_url="http://baseline") as client:
        for _ in range(50):
            await client.post("/requests", json=BODY)
        b_n, b_s, b_lat = await sustained(client, {})

    app = create_app(Settings(platform=settings))
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://intake", timeout=30) as client:
                for _ in range(20):  # warm: indexes, connection pool, producer metadata
                    await client.post("/requests", json=BODY, headers=auth)
                n, s, lat = await sustained(client, auth)
    finally:
        mongo: AsyncMongoClient = AsyncMongoClient(settings.mongo_url)
        await mongo.drop_database(f"{settings.topic_prefix}_intake")
        await mongo.close()

    report.add(
        Row(
            f"intake POST /requests (in-process ASGI, {CONCURRENCY} concurrent, FerretDB + vault)",
            n / s,
            "req/s",
            b_n / b_s,
            "FastAPI validate-only endpoint",
            extra={
                "p50 ms": percentile(lat, 50),
                "p99 ms": percentile(lat, 99),
                "baseline p99 ms": percentile(b_lat, 99),
                "p99 ratio": percentile(lat, 99) / percentile(b_lat, 99),
            },
        )
    )


def main() -> None:
    settings = PlatformSettings(topic_prefix=f"bench{uuid.uuid4().hex[:8]}", partitions=3)
    asyncio.run(run(settings, Report()))


if __name__ == "__main__":
    main()
