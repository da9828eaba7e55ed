"""A department command over HTTP: sustained rate and p99 through the real service (one in-process app, real
FerretDB and Kafka) against a FastAPI endpoint that only validates the same body, measured in the same run.

Each department module (bench.intake, bench.legal_aid, bench.mediation, bench.notary) names its route, scope, body
model, body and app (`measure_post`); this module owns the rest, so every department row is measured alike.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import BaseModel
from pymongo import AsyncMongoClient

from bench.common import Report, Row, percentile
from shared.auth import issue_token
from shared.settings import PlatformSettings

CONCURRENCY = 8
SECONDS = 8.0  # per side: two sides plus start-up stay well under a minute
WARM_UP = 20  # indexes, connection pool, producer metadata


def isolated(settings: PlatformSettings) -> PlatformSettings:
    """Topics and databases of the command's own: earlier benchmarks leave backlogs on the shared prefix's partner
    topics, which the app's consumers would otherwise work through while its commands are being timed."""
    return settings.model_copy(update={"topic_prefix": f"{settings.topic_prefix}cmd"})


@dataclass
class Command:
    settings: PlatformSettings  # the app's: its database is dropped afterwards
    service: str  # names the service's database
    label: str
    app: FastAPI
    path: str
    model: type[BaseModel]  # the route's body model: the baseline validates with it and does nothing else
    body: dict[str, Any]
    headers: dict[str, str]
    status: int = 201


def baseline_app(path: str, model: type[BaseModel]) -> FastAPI:
    app = FastAPI()

    async def accept(body: BaseModel) -> dict[str, str]:
        return {"ok": "yes"}

    accept.__annotations__["body"] = model  # the route's own model, so the baseline validates the same body
    app.post(path, status_code=201)(accept)
    return app


async def sustained(
    client: httpx.AsyncClient, cmd: Command, headers: dict[str, str], status: int
) -> tuple[int, float, list[float]]:
    """(requests, seconds, latencies in ms) of CONCURRENCY clients posting for SECONDS."""
    latencies: list[float] = []
    deadline = time.perf_counter() + SECONDS

    async def worker() -> None:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            r = await client.post(cmd.path, json=cmd.body, headers=headers)
            latencies.append((time.perf_counter() - t0) * 1000)
            if r.status_code != status:  # a fast error page must not pass for throughput
                raise RuntimeError(f"POST {cmd.path} answered {r.status_code}: {r.text[:300]}")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return len(latencies), time.perf_counter() - start, latencies


async def measure(report: Report, cmd: Command) -> None:
    base = httpx.ASGITransport(app=baseline_app(cmd.path, cmd.model))
    async with httpx.AsyncClient(transport=base, base_url="http://baseline") as client:
        for _ in range(50):
            await client.post(cmd.path, json=cmd.body)
        b_n, b_s, b_lat = await sustained(client, cmd, {}, 201)
    try:
        async with cmd.app.router.lifespan_context(cmd.app):
            transport = httpx.ASGITransport(app=cmd.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://svc", timeout=30) as client:
                for _ in range(WARM_UP):
                    r = await client.post(cmd.path, json=cmd.body, headers=cmd.headers)
                    if r.status_code != cmd.status:
                        raise RuntimeError(f"POST {cmd.path} answered {r.status_code}: {r.text[:300]}")
                n, s, lat = await sustained(client, cmd, cmd.headers, cmd.status)
    finally:
        mongo: AsyncMongoClient = AsyncMongoClient(cmd.settings.mongo_url)
        await mongo.drop_database(f"{cmd.settings.topic_prefix}_{cmd.service}")
        await mongo.close()
    report.add(
        Row(
            f"{cmd.label} (in-process ASGI, {CONCURRENCY} concurrent, FerretDB + Kafka)",
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


async def measure_post(
    report: Report,
    settings: PlatformSettings,
    *,
    service: str,
    scope: str,
    path: str,
    model: type[BaseModel],
    body: dict[str, Any],
    app: Callable[[PlatformSettings], FastAPI],
) -> None:
    """`POST path` of `service`, built by `app` on topics and a database of its own (`isolated`), sent by the
    department's own principal (`dept:<service>`) holding `scope`."""
    own = isolated(settings)
    token = issue_token(settings, f"dept:{service}", [scope])
    command = Command(
        settings=own,
        service=service,
        label=f"{service.replace('_', ' ')} POST {path}",
        app=app(own),
        path=path,
        model=model,
        body=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    await measure(report, command)
