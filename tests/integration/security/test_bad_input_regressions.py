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


async def test_intake_huge_skip_and_one_key_on_two_routes_and_two_cases(platform: PlatformSettings) -> None:
    async with serving("intake", platform) as app:
        headers = token(platform, "dept:intake", ["intake:read", "intake:write"])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://i", headers=headers) as c:
            for path in ("/requests", "/advisors"):
                body = assert_problem(await c.get(path, params={"skip": HUGE}), 422)
                assert body["errors"][0]["field"] == "query.skip"
            walk_in = {"channel": "walk_in", "level": "county", "region": "431002000000", "topic": "labour"}
            key = {"Idempotency-Key": "same-key-0001"}
            request = await c.post("/requests", json=walk_in, headers=key)
            assert request.status_code == 201
            # keys are scoped to the route: the same key on /calls offers a call, never replays (or renders) the
            # request
            offered = await c.post("/calls", json={"region": "431002000000"}, headers=key)
            assert offered.status_code == 201 and offered.json()["call_id"].startswith("call-")
            assert "Idempotent-Replay" not in offered.headers
            # and on /requests/{id}/… for another request, the key of one act is refused
            other = (await c.post("/requests", json=walk_in)).json()["request_id"]
            first = request.json()["request_id"]
            answer = {"Idempotency-Key": "answer-key-0001"}
            assert (await c.post(f"/requests/{first}/answer", headers=answer)).status_code == 200
            body = assert_problem(await c.post(f"/requests/{other}/answer", headers=answer), 409)
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
