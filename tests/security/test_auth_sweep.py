"""Auth sweep: every route of every service refuses a missing, malformed, expired, under-scoped or other-partner
token with 401/403 problem+json. Routes come from each app (its OpenAPI document plus the hidden routes), so a new
route is swept the day it is added; only the routes listed in `routes.PUBLIC` may answer without a token.

No servers are needed: the bearer check runs before any handler touches Kafka or PostgreSQL.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from fastapi import FastAPI

from shared.auth import ALGORITHM, issue_token
from shared.settings import PlatformSettings
from shared.topics import PARTNERS
from tests.security.routes import (
    OPS_PUBLIC,
    PUBLIC,
    SERVICES,
    Operation,
    all_scopes,
    fill_path,
    iter_protected,
    operations,
)

SETTINGS = PlatformSettings()
EVERY_SCOPE = all_scopes()


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def _claims(**over: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": "dept:intake",
        "scope": " ".join(sorted(EVERY_SCOPE)),
        "iss": SETTINGS.auth_issuer,
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(claims: dict[str, object], secret: str | None = None, algorithm: str = ALGORITHM) -> str:
    with warnings.catch_warnings():  # PyJWT warns that the dev secret is short for HS512; that token is refused anyway
        warnings.simplefilter("ignore")
        return jwt.encode(claims, secret or SETTINGS.auth_secret.get_secret_value(), algorithm=algorithm)


def _tampered() -> str:
    """A genuine token for scope `x` whose payload was swapped for one granting everything (signature kept)."""
    header, _, signature = _signed(_claims(scope="x")).split(".")
    return f"{header}.{_signed(_claims()).split('.')[1]}.{signature}"


#: Each carries every scope of the platform, so only the defect named can be why it is refused.
MALFORMED: dict[str, dict[str, str]] = {
    "not a JWT": bearer("not-a-jwt"),
    "empty bearer": {"Authorization": "Bearer "},
    "wrong scheme": {"Authorization": f"Basic {_signed(_claims())}"},
    "token without scheme": {"Authorization": _signed(_claims())},
    "signed with another secret": bearer(_signed(_claims(), secret="another-secret-of-at-least-32-characters!")),
    "unsigned (alg none)": bearer(jwt.encode(_claims(), None, algorithm="none")),
    "HS512 instead of HS256": bearer(_signed(_claims(), algorithm="HS512")),
    "wrong issuer": bearer(_signed(_claims(iss="someone-else"))),
    "no expiry": bearer(_signed(_claims(exp=None))),
    "no subject": bearer(_signed(_claims(sub=None))),
    "tampered payload": bearer(_tampered()),
}


def expired(subject: str, scopes: list[str]) -> dict[str, str]:
    return bearer(issue_token(SETTINGS, subject, scopes, ttl=timedelta(seconds=-30)))


def subject_for(op: Operation, service: str) -> str:
    return "partner:court" if op.partner_only else f"dept:{service}"


def assert_problem(resp: httpx.Response, status: int, what: str) -> None:
    assert resp.status_code == status, f"{what}: expected {status}, got {resp.status_code} {resp.text[:300]}"
    ctype = resp.headers.get("content-type", "")
    assert ctype.startswith("application/problem+json"), f"{what}: content-type {ctype!r}"
    body = resp.json()
    assert body["status"] == status and body["title"] and body["detail"], f"{what}: {body}"
    if status == 401:
        assert resp.headers.get("www-authenticate", "").lower().startswith("bearer"), what


@pytest.fixture(scope="module", params=sorted(SERVICES))
def service(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_every_route_not_listed_public_refuses_bad_tokens(service: str) -> None:
    await sweep(service, SERVICES[service](SETTINGS))


async def sweep(service: str, app: FastAPI) -> None:
    assert len(operations(app)) > len(OPS_PUBLIC), f"{service}: only ops routes found, the enumeration is broken"
    ops = list(iter_protected(app, PUBLIC[service]))
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{service}") as client:
        for op in ops:
            name = f"{service} {op.method} {op.path}"
            assert op.scopes, f"{name} declares no require(...) scope and is not in the allowed-public set"
            url = fill_path(op.path)

            async def call(headers: dict[str, str], url: str = url, op: Operation = op) -> httpx.Response:
                return await client.request(op.method, url, headers=headers)

            assert_problem(await call({}), 401, f"{name} without a token")
            for defect, headers in MALFORMED.items():
                assert_problem(await call(headers), 401, f"{name} with a malformed token ({defect})")
            subject = subject_for(op, service)
            assert_problem(await call(expired(subject, list(op.scopes))), 401, f"{name} with an expired token")
            # every other scope of the platform, but none of this route's
            wrong = sorted(EVERY_SCOPE - set(op.scopes))
            assert_problem(await call(bearer(issue_token(SETTINGS, subject, wrong))), 403, f"{name} wrong scope")
            if op.has_body:
                # control: the right token with a broken body gets past auth to validation, so the refusals above
                # are about the token's defect and nothing else
                right = bearer(issue_token(SETTINGS, subject, list(op.scopes)))
                headers = {**right, "Content-Type": "application/json"}
                resp = await client.request(op.method, url, headers=headers, content=b"{")
                assert resp.status_code == 422, f"{name} control with the right token: {resp.status_code} {resp.text}"


def _gateway_body(partner: str) -> dict[str, object]:
    return {"type": "caseflow.partner.dispute_referred", "partner_reference": f"ref-{partner}-1", "data": {}}


async def test_gateway_partner_routes_refuse_another_partners_token() -> None:
    app = SERVICES["gateway"](SETTINGS)
    ops = [op for op in operations(app) if op.path.startswith("/partners/{partner}/")]
    assert {(op.method, op.path) for op in ops} >= {
        ("GET", "/partners/{partner}/events"),
        ("POST", "/partners/{partner}/events"),
    }
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        for op in ops:
            for owner in PARTNERS:
                url = fill_path(op.path, {"partner": owner})
                body = _gateway_body(owner) if op.method == "POST" else None
                for other in (p for p in PARTNERS if p != owner):
                    for scopes in ([f"partner:{other}"], [f"partner:{p}" for p in PARTNERS]):
                        # another partner's token, even one that (wrongly) holds every partner scope
                        headers = bearer(issue_token(SETTINGS, f"partner:{other}", scopes))
                        resp = await client.request(op.method, url, headers=headers, json=body)
                        assert_problem(resp, 403, f"{op.method} {url} as partner:{other} with {scopes}")
                # a department principal holding the partner's scope is not that partner either
                headers = bearer(issue_token(SETTINGS, "dept:mediation", [f"partner:{owner}"]))
                resp = await client.request(op.method, url, headers=headers, json=body)
                assert_problem(resp, 403, f"{op.method} {url} as dept:mediation")


def test_the_allowed_public_set_names_only_routes_that_exist() -> None:
    """A stale entry would hide nothing today but would let a future route of that name go unswept."""
    for service, build in SERVICES.items():
        served = {(op.method, op.path) for op in operations(build(SETTINGS))}
        stale = PUBLIC[service] - served
        assert not stale, f"{service}: allowed-public entries with no route: {sorted(stale)}"


async def test_the_sweep_fails_on_an_unprotected_route() -> None:
    """Control: a route added without `require(...)` (and not listed public) makes the sweep fail."""
    app = SERVICES["notary"](SETTINGS)

    @app.get("/backdoor")
    async def backdoor() -> dict[str, str]:
        return {"open": "yes"}

    assert Operation("GET", "/backdoor", (), True, False) in operations(app)
    with pytest.raises(AssertionError, match="GET /backdoor declares no require"):
        await sweep("notary", app)
