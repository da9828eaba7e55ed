"""Staff sign-in: pages need a console:read session; the sign-in form checks the token and sets the cookie."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from services.console.session import COOKIE
from shared.auth import issue_token, verify_token
from tests.unit.console.conftest import CITY, PLATFORM, make_console

PAGE = {"Accept": "text/html,application/xhtml+xml"}  # what a browser sends for a page


@pytest.fixture
async def anonymous(metrics_app, trace_file):
    app = make_console(metrics_app, trace_file)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console") as c:
        yield c


def ops_token(scopes: list[str] | None = None, ttl: timedelta = timedelta(hours=2)) -> str:
    return issue_token(PLATFORM, "user:ops", ["console:read"] if scopes is None else scopes, ttl=ttl)


async def sign_in(client: httpx.AsyncClient, token: str, next_url: str = "/worklists") -> httpx.Response:
    return await client.post("/login", data={"token": token, "next": next_url})


async def test_a_browser_without_a_session_is_sent_to_sign_in_and_an_api_client_gets_401(anonymous):
    r = await anonymous.get("/trace", params={"q": "la-7"}, headers=PAGE)
    assert r.status_code == 303
    target = urlsplit(r.headers["location"])
    assert target.path == "/login"
    query = parse_qs(target.query)
    assert query["next"] == ["/trace?q=la-7"] and "reason" not in query  # nothing was tried: nothing failed
    page = await anonymous.get(r.headers["location"])
    assert page.status_code == 200 and 'name="token"' in page.text and 'value="/trace?q=la-7"' in page.text
    assert 'role="alert"' not in page.text  # the sign-in page shows no error before anything was tried

    api = await anonymous.get("/scorecard/stream", params={"region": CITY})
    assert api.status_code == 401 and api.headers["content-type"].startswith("application/problem+json")
    assert api.headers["www-authenticate"].lower().startswith("bearer")


async def test_signing_in_sets_an_httponly_strict_cookie_for_the_tokens_lifetime_and_opens_the_pages(anonymous):
    r = await sign_in(anonymous, ops_token(ttl=timedelta(hours=2)))
    assert r.status_code == 303 and r.headers["location"] == "/worklists"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    max_age = int(cookie.split("Max-Age=")[1].split(";")[0])
    assert 7_000 < max_age <= 7_200  # as long as the token, not longer
    page = await anonymous.get("/scorecard", params={"region": CITY}, headers=PAGE)
    assert page.status_code == 200 and "指标" in page.text


@pytest.mark.parametrize(
    ("token", "status", "reason"),
    [
        (ops_token(scopes=["metrics:read", "intake:read"]), 403, "requires scope console:read"),
        (ops_token(ttl=timedelta(seconds=-30)), 401, "token expired"),
        ("not-a-token", 401, "invalid token"),
        ("", 401, "no token given"),
    ],
)
async def test_a_token_that_is_not_a_valid_console_token_is_refused_with_the_reason_and_no_cookie(
    anonymous, token, status, reason
):
    r = await sign_in(anonymous, token)
    assert r.status_code == status and reason in r.text
    assert "set-cookie" not in r.headers
    assert (await anonymous.get("/worklists", headers=PAGE)).status_code == 303


async def test_sign_in_only_returns_to_pages_of_the_console(anonymous):
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        r = await sign_in(anonymous, ops_token(), next_url=evil)
        assert r.status_code == 303 and r.headers["location"] == "/scorecard", evil


async def test_signing_out_forgets_the_session_and_an_expired_session_cookie_is_sent_back_to_sign_in(anonymous):
    await sign_in(anonymous, ops_token())
    assert (await anonymous.get("/worklists", headers=PAGE)).status_code == 200
    out = await anonymous.post("/logout")
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert (await anonymous.get("/worklists", headers=PAGE)).status_code == 303

    anonymous.cookies.set(COOKIE, ops_token(ttl=timedelta(seconds=-5)))
    r = await anonymous.get("/worklists", headers=PAGE)
    assert r.status_code == 303 and "token expired" in parse_qs(urlsplit(r.headers["location"]).query)["reason"][0]
    page = await anonymous.get(r.headers["location"])
    assert 'role="alert"' in page.text and "token expired" in page.text  # a session presented and refused says why


def test_the_session_lives_no_longer_than_its_token() -> None:
    token = ops_token(ttl=timedelta(minutes=10))
    expires = verify_token(PLATFORM, token).expires
    assert expires is not None and timedelta(minutes=9) < expires - datetime.now(UTC) <= timedelta(minutes=10)
