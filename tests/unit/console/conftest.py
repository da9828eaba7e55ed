"""A console wired to an in-process metrics app (seeded engine, no Kafka) and to fake department transports."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from services.console.config import Settings as ConsoleSettings
from services.console.main import create_app as create_console
from services.metrics.config import Settings as MetricsSettings
from services.metrics.main import create_app as create_metrics
from shared.auth import issue_token
from shared.settings import PlatformSettings
from tests.unit.metrics.helpers import CHENZHOU_VILLAGE, TODAY_NOON, applied, assigned, env, notified

NOW = TODAY_NOON  # the metrics app's clock, pinned: its calendar day holds every seeded event
CITY = "431000000000"
PLATFORM = PlatformSettings(topic_prefix="unitconsole")
DeptHandler = Callable[[httpx.Request], httpx.Response]
#: a signed-in operator (the console's pages need a console:read token: services/console/session.py)
STAFF = {"Authorization": f"Bearer {issue_token(PLATFORM, 'user:ops', ['console:read'])}"}


def seed(engine) -> None:  # type: ignore[no-untyped-def]
    """Two criminal-aid cases (one assigned) and one citizen request that intake referred to legal aid."""
    engine.apply(notified("la-1", at=NOW - timedelta(hours=3)), NOW)
    engine.apply(assigned("la-1", NOW - timedelta(hours=2)), NOW)
    engine.apply(notified("la-2", at=NOW - timedelta(hours=3)), NOW)
    t = NOW - timedelta(hours=5)
    engine.apply(
        env("caseflow.intake.request_received", "in-7", t, corr="corr-7", request_id="in-7", channel="walk_in",
            region=CHENZHOU_VILLAGE, kind="help", topic="labour", received_at=t),
        NOW,
    )  # fmt: skip
    engine.apply(
        env("caseflow.intake.request_referred", "in-7", t + timedelta(minutes=20), corr="corr-7",
            to_department="legal_aid", matter="wage arrears", region=CHENZHOU_VILLAGE),
        NOW,
    )  # fmt: skip
    engine.apply(applied("la-7", at=t + timedelta(hours=1), corr="corr-7"), NOW)


@pytest.fixture
def metrics_app():
    app = create_metrics(MetricsSettings(follow=False, platform=PLATFORM), clock=lambda: NOW)
    seed(app.state.engine)
    return app


@pytest.fixture
def trace_file(tmp_path: Path) -> Path:
    return tmp_path / "traces.jsonl"


def make_console(metrics_app, trace_file: Path, departments: dict[str, DeptHandler] | None = None, **settings: object):  # type: ignore[no-untyped-def]
    transports: dict[str, httpx.AsyncBaseTransport] = {"metrics": httpx.ASGITransport(app=metrics_app)}
    for name, handler in (departments or {}).items():
        transports[name] = httpx.MockTransport(handler)
    # departments without a transport point at a closed port: they are "down"
    down = {f"{d}_url": "http://127.0.0.1:9" for d in ("intake", "legal_aid", "mediation", "notary")}
    config = ConsoleSettings(platform=PLATFORM, traces_file=str(trace_file), timeout=2, **down, **settings)  # type: ignore[arg-type]
    return create_console(config, transports)


@pytest.fixture
async def console(metrics_app, trace_file):
    app = make_console(metrics_app, trace_file)
    async with staff_client(app) as c:
        yield c


def staff_client(app, base_url: str = "http://console") -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url, headers=STAFF)


def write_spans(path: Path, spans: list[dict]) -> None:
    path.write_text("".join(json.dumps(s) + "\n" for s in spans))
