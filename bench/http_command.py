"""A department command over HTTP: sustained rate and p99 through the real service (one in-process app, real
PostgreSQL and Kafka) against a FastAPI endpoint that only validates the same body, measured in the same run,
with the service's store empty and preloaded (bench.preload: the preloaded schema is lent to the service under
its own schema name, `<topic prefix>_<service>`, for the length of the measurement).

Each department module (bench.intake, bench.legal_aid, bench.mediation, bench.notary) names its route, scope, body
model, body and app (`measure_post`); this module owns the rest, so every department row is measured alike.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

from bench import preload
from bench.common import Report, Row, percentile
from shared.auth import issue_token
from shared.db import Database, schema_for
from shared.pii import check_digit
from shared.readmodel import ReadModel
from shared.runtime import ServiceRuntime
from shared.settings import PlatformSettings

CONCURRENCY = 8
SECONDS = 8.0  # per side: two sides plus start-up stay well under a minute
WARM_UP = 20  # indexes, connection pool, producer metadata
GOAL = "p99 ≤ 30 ms and ≥ 0.3, preloaded"


def isolated(settings: PlatformSettings, suffix: str = "cmd") -> PlatformSettings:
    """Topics and a schema of the command's own: earlier benchmarks leave backlogs on the shared prefix's partner
    topics, which the app's consumers would otherwise work through while its commands are being timed."""
    return settings.model_copy(update={"topic_prefix": f"{settings.topic_prefix}{suffix}"})


@dataclass
class Command:
    settings: PlatformSettings  # the app's: its schema is dropped (or given back to the preload) afterwards
    service: str  # names the service's schema
    label: str
    app: Callable[[PlatformSettings], FastAPI]
    path: str
    model: type[BaseModel]  # the route's body model: the baseline validates with it and does nothing else
    body: Callable[[int], dict[str, Any]]  # the i-th request's body
    headers: dict[str, str]
    status: int = 201


def citizen(i: int, region: str = "431002") -> str:
    """The i-th of 20M distinct valid resident ID numbers (GB 11643): concurrent requests come from different
    people, as at a service centre's counters. (One person posted over and over makes every request upsert the
    same vault rows, which serialises them on row locks: that measures a hot row, not the command.)"""
    born = date(1950, 1, 1) + timedelta(days=i % 20_000)
    first17 = f"{region}{born:%Y%m%d}{i // 20_000 % 1000:03d}"
    return first17 + check_digit(first17)


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
    sent = itertools.count(1000)

    async def worker() -> None:
        while time.perf_counter() < deadline:
            body = cmd.body(next(sent))
            t0 = time.perf_counter()
            r = await client.post(cmd.path, json=body, headers=headers)
            latencies.append((time.perf_counter() - t0) * 1000)
            if r.status_code != status:  # a fast error page must not pass for throughput
                raise RuntimeError(f"POST {cmd.path} answered {r.status_code}: {r.text[:300]}")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return len(latencies), time.perf_counter() - start, latencies


async def baseline(cmd: Command) -> tuple[int, float, list[float]]:
    base = httpx.ASGITransport(app=baseline_app(cmd.path, cmd.model))
    async with httpx.AsyncClient(transport=base, base_url="http://baseline") as client:
        for i in range(50):
            await client.post(cmd.path, json=cmd.body(i))
        return await sustained(client, cmd, {}, 201)


async def service(cmd: Command, own: PlatformSettings) -> tuple[int, float, list[float]]:
    app = cmd.app(own)
    async with app.router.lifespan_context(app):
        logging.getLogger("httpx").setLevel(logging.WARNING)  # a log line per request is not the command's cost
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc", timeout=30) as client:
            for i in range(WARM_UP):
                r = await client.post(cmd.path, json=cmd.body(i), headers=cmd.headers)
                if r.status_code != cmd.status:
                    raise RuntimeError(f"POST {cmd.path} answered {r.status_code}: {r.text[:300]}")
            return await sustained(client, cmd, cmd.headers, cmd.status)


def runtime_of(app: FastAPI) -> ServiceRuntime:
    """The service's runtime, wherever its wiring keeps it on `app.state` (directly or on a wiring object)."""
    for value in vars(app.state).get("_state", {}).values():
        for candidate in (value, getattr(value, "runtime", None)):
            if isinstance(candidate, ServiceRuntime):
                return candidate
    raise LookupError("no ServiceRuntime on app.state")


async def views_ready(app: FastAPI) -> None:
    """Create the service's view tables before it starts: a view table that starts empty is replayed from every
    event in the store, which on a preloaded store means reading 10M events of other cases."""
    runtime = runtime_of(app)
    db = Database(runtime.db.url, runtime.db.schema)
    await db.open(*runtime.migrations)
    try:
        for rm in runtime.read_models:
            assert isinstance(rm, ReadModel), rm
            await ReadModel(db, rm.name, rm.decider, rm.render, columns=rm.columns).ensure()
    finally:
        await db.close()


async def measure(report: Report, cmd: Command, pre: preload.Preload) -> None:
    b_n, b_s, b_lat = await baseline(cmd)
    empty = isolated(cmd.settings, "cmd")
    try:
        n, s, lat = await service(cmd, empty)
    finally:
        await Database.for_service(empty, cmd.service).drop()
    full = isolated(cmd.settings, "cmdp")
    async with preload.borrowed(cmd.settings, schema_for(full, cmd.service), pre):
        await views_ready(cmd.app(full))
        pn, ps, plat = await service(cmd, full)
    b99 = percentile(b_lat, 99)
    for variant, (count, seconds, latencies) in (
        ("empty store", (n, s, lat)),
        (f"preloaded {pre.label}", (pn, ps, plat)),
    ):
        report.add(
            Row(
                f"{cmd.label} (in-process ASGI, {CONCURRENCY} concurrent) [{variant}]",
                count / seconds,
                "req/s",
                b_n / b_s,
                "FastAPI validate-only endpoint",
                GOAL,
                extra={
                    "p50 ms": percentile(latencies, 50),
                    "p99 ms": percentile(latencies, 99),
                    "baseline p99 ms": b99,
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
    body: Callable[[int], dict[str, Any]],
    app: Callable[[PlatformSettings], FastAPI],
) -> None:
    """`POST path` of `service`, built by `app` on topics and a schema of its own (`isolated`), sent by the
    department's own principal (`dept:<service>`) holding `scope`; with the store empty, then preloaded."""
    pre = await preload.ensure(settings)
    token = issue_token(settings, f"dept:{service}", [scope])
    command = Command(
        settings=settings,
        service=service,
        label=f"{service.replace('_', ' ')} POST {path}",
        app=app,
        path=path,
        model=model,
        body=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    await measure(report, command, pre)
