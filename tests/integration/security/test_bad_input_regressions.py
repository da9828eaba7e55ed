"""The 5xx the schemathesis campaign found, pinned as plain tests (each answered 500 before its fix)."""

from __future__ import annotations

import httpx
import pytest

from services.console.config import Settings as ConsoleSettings
from services.console.main import create_app as console_app
from shared.settings import PlatformSettings
from tests.conftest import token
from tests.integration.security.test_bad_input_campaign import serving
from tests.security.routes import SERVICES

pytestmark = pytest.mark.integration
HUGE = str(2**70)  # past 8-byte integers


def assert_problem(resp: httpx.Response, status: int) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    return resp.json()


async def test_intake_huge_skip_and_a_request_key_replayed_on_calls(platform: PlatformSettings) -> None:
    async with serving("intake", platform) as app:
        headers = token(platform, "dept:intake", ["intake:read", "intake:write"])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://i", headers=headers) as c:
            for path in ("/requests", "/advisors"):
                body = assert_problem(await c.get(path, params={"skip": HUGE}), 422)
                assert body["errors"][0]["field"] == "query.skip"
            walk_in = {"channel": "walk_in", "level": "county", "region": "431002000000", "topic": "labour"}
            key = {"Idempotency-Key": "same-key-0001"}
            assert (await c.post("/requests", json=walk_in, headers=key)).status_code == 201
            # the key already created a request: a call offered with it must not replay (or render) that request
            body = assert_problem(await c.post("/calls", json={"region": "431002000000"}, headers=key), 409)
            assert body["errors"][0]["field"] == "Idempotency-Key"


async def test_mediation_huge_skip(platform: PlatformSettings) -> None:
    async with serving("mediation", platform) as app:
        headers = token(platform, "dept:mediation", ["mediation:read"])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://m", headers=headers) as c:
            assert_problem(await c.get("/disputes", params={"skip": HUGE}), 422)


async def test_console_trace_search_stays_one_path_segment_upstream(platform: PlatformSettings) -> None:
    seen: list[bytes] = []
    metrics = SERVICES["metrics"](platform)

    async def recording(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "http":
            seen.append(scope["raw_path"])
        await metrics(scope, receive, send)

    app = console_app(ConsoleSettings(platform=platform), transports={"metrics": httpx.ASGITransport(recording)})
    staff = token(platform, "user:ops", ["console:read"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://console", headers=staff) as c:
        for q in ("a\x01b", "..", "x?y", "x#y", "a.b%2F"):
            seen.clear()
            resp = await c.get("/trace", params={"q": q})
            assert resp.status_code == 404, (q, resp.status_code, resp.text[:200])  # not found, not a 500
            [path] = seen
            assert path.startswith(b"/cases/") and path.endswith(b"/timeline") and path.count(b"/") == 3, (q, path)
