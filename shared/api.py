"""The HTTP service base: app factory with lifespan, problem+json errors, request ids, health and metrics.

Errors follow RFC 9457: `application/problem+json` with `type`, `title`, `status`, `detail`, and for invalid
input an `errors` list naming each field and the reason.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from psycopg import OperationalError
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared import clock as scenario
from shared.errors import CaseflowError
from shared.settings import PlatformSettings
from shared.telemetry import instrument_app, setup_telemetry

PROBLEM = "application/problem+json"
REQUESTS = Histogram("caseflow_http_request_seconds", "HTTP request latency", ["service", "method", "status"])
ERRORS = Counter("caseflow_http_errors_total", "HTTP error responses", ["service", "status"])

Probe = Callable[[], Awaitable[None]]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Retrying a POST with the same key never acts twice",
    ),
]


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": f"https://caseflow.example/problems/{title}", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def create_app(
    *,
    service: str,
    settings: PlatformSettings,
    lifespan: Callable[[FastAPI], Any] | None = None,
    probes: dict[str, Probe] | None = None,
    version: str = "0.1.0",
    description: str = "",
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
        setup_telemetry(service, settings)  # every HTTP service's spans go where CASEFLOW_OTEL_EXPORTER says
        if lifespan is None:
            yield
        else:
            async with lifespan(app):
                yield

    app = FastAPI(title=f"caseflow {service}", version=version, description=description, lifespan=_lifespan)
    app.state.platform_settings = settings
    app.state.probes = dict(probes or {})
    app.state.service = service
    app.state.clock = clock or scenario.now  # the time commands count at (shared.deps.clock_of)

    @app.middleware("http")
    async def request_id(request: Request, call_next):  # type: ignore[no-untyped-def]
        rid = request.headers.get("x-request-id") or str(uuid.uuid4())
        with REQUESTS.labels(service, request.method, "-").time():
            response = await call_next(request)
        response.headers["x-request-id"] = rid
        if response.status_code >= 400:
            ERRORS.labels(service, str(response.status_code)).inc()
        return response

    @app.exception_handler(CaseflowError)
    async def _domain(_: Request, exc: CaseflowError) -> JSONResponse:
        errors = [{"field": exc.field, "reason": exc.message}] if exc.field else None
        headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
        resp = problem(exc.http_status, exc.code, exc.message, errors=errors)
        if headers:
            resp.headers.update(headers)
        return resp

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    async def _database_down(_: Request, exc: Exception) -> JSONResponse:
        resp = problem(503, "unavailable", f"the database is unavailable ({type(exc).__name__}); retry shortly")
        resp.headers["Retry-After"] = "5"
        return resp

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": "body", "reason": f"{e['msg']} (at character {e['loc'][-1]})"}
            if e.get("type") == "json_invalid"
            else {"field": ".".join(str(p) for p in e["loc"] if p != "body") or "body", "reason": e["msg"]}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5])
        return problem(422, "validation_failed", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, "http_error", str(exc.detail))

    @app.get("/healthz", tags=["ops"], include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get("/readyz", tags=["ops"], include_in_schema=False)
    async def readyz() -> JSONResponse:
        results: dict[str, str] = {}
        for name, probe in app.state.probes.items():
            try:
                await probe()
                results[name] = "ok"
            except Exception as exc:  # a readiness probe reports, never raises
                results[name] = f"down: {type(exc).__name__}: {exc}"
        ok = all(v == "ok" for v in results.values())
        return JSONResponse({"ready": ok, "checks": results}, status_code=200 if ok else 503)

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest().decode(), media_type=CONTENT_TYPE_LATEST)

    instrument_app(app)
    return app
