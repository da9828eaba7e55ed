"""Bad-input campaign: schemathesis generates valid and invalid requests for every operation of every service's
OpenAPI document and sends them in-process (ASGI) to the app running on the real Kafka and PostgreSQL, with a valid
token so the requests reach the handlers. No response may be a 5xx (or an unhandled exception), and every 4xx must
be RFC 9457 problem+json.

Hypothesis drives generation in a worker thread; each request is sent on the test's event loop, where the app's
PostgreSQL pool and Kafka clients live. Failures are collected (not raised inside Hypothesis, so nothing is shrunk) and
reported together: route, request, response or traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import traceback
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from shared.auth import issue_token
from shared.settings import PlatformSettings
from shared.topics import PARTNERS
from tests.integration.helpers import drop_schemas
from tests.security.routes import SERVICES, Operation, operations

pytestmark = [
    pytest.mark.integration,
    # schemathesis' own strategies use `random` internally; Hypothesis warns about it on every operation
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]

EXAMPLES = 5  # per operation and mode: the whole campaign stays within a few minutes on two busy cores
#: Server-sent event streams never end, so an in-process request to one does not return: not fuzzed here (the auth
#: sweep still checks their tokens).
STREAMS = {("metrics", "GET", "/regions/{region}/stream"), ("console", "GET", "/scorecard/stream")}
#: The console's pages answer browsers: their "not found" is a rendered HTML page, not problem+json.
HTML_PAGES = "console"
#: operations that take a credential in their body and answer 401 when it is refused (the console's sign-in form):
#: there a 401 is the answer to the generated body, not to the campaign's bearer token
CREDENTIAL_FORMS = {"console POST /login"}
UPSTREAMS = ("metrics", "intake", "legal_aid", "mediation", "notary")


def _token(platform: PlatformSettings, subject: str, scopes: set[str]) -> str:
    return f"Bearer {issue_token(platform, subject, sorted(scopes))}"


@contextlib.asynccontextmanager
async def serving(service: str, platform: PlatformSettings) -> AsyncIterator[FastAPI]:
    """The service with its lifespan on the test servers; the console reads in-process department apps."""
    if service == "console":
        from services.console.config import Settings
        from services.console.main import create_app

        # the console only reads: its upstreams answer from PostgreSQL without their consumers and relays running
        upstream = {name: SERVICES[name](platform) for name in UPSTREAMS}
        for up in upstream.values():
            runtime = getattr(up.state, "runtime", None)
            if runtime is not None:
                await runtime.db.open(*runtime.migrations)
                for view in runtime.read_models:
                    await view.ensure()
        transports = {name: httpx.ASGITransport(app) for name, app in upstream.items()}
        app = create_app(Settings(platform=platform, timeout=5), transports=transports)
    else:
        upstream, app = {}, SERVICES[service](platform)
    try:
        async with app.router.lifespan_context(app):
            yield app
    finally:
        for up in upstream.values():
            runtime = getattr(up.state, "runtime", None)
            if runtime is not None:
                await runtime.db.close()
        await drop_schemas(platform, service, *UPSTREAMS, "router", "gateway")


def _request_kwargs(raw: dict[str, Any]) -> dict[str, Any]:
    """schemathesis' requests-style keyword arguments → httpx's."""
    out = {k: raw[k] for k in ("method", "url", "headers", "params", "cookies", "json", "files") if k in raw}
    if "data" in raw:
        data = raw["data"]
        out["content" if isinstance(data, bytes | str) else "data"] = data
    return out


def _problem_error(status: int, resp: httpx.Response, html_ok: bool) -> str | None:
    ctype = resp.headers.get("content-type", "")
    if html_ok and ctype.startswith("text/html"):
        return None
    if not ctype.startswith("application/problem+json"):
        return f"{status} with content-type {ctype!r}"
    try:
        body = resp.json()
    except ValueError:
        return f"{status} problem+json that is not JSON"
    if body.get("status") != status or not body.get("title"):
        return f"{status} problem body without matching status/title: {body}"
    return None


@dataclass
class Tally:
    """What the campaign saw: statuses, requests and 401s per operation."""

    statuses: Counter[int] = field(default_factory=Counter)
    sent: Counter[str] = field(default_factory=Counter)  # requests per operation
    unauthorized: Counter[str] = field(default_factory=Counter)  # 401s per operation

    def record(self, where: str, resp: httpx.Response, html_ok: bool) -> str | None:
        """Count the response; what is wrong with it (a 5xx, a 4xx that is not problem+json), or None."""
        operation = where.rsplit(" [", 1)[0]
        self.statuses[resp.status_code] += 1
        if resp.status_code == 401:
            self.unauthorized[operation] += 1
        self.sent[operation] += 1
        if resp.status_code >= 500:
            return f"{resp.status_code}: {resp.text[:400]}"
        if resp.status_code >= 400:
            return _problem_error(resp.status_code, resp, html_ok)
        return None


async def _send(client: httpx.AsyncClient, kwargs: dict[str, Any]) -> httpx.Response | str:
    try:
        request = client.build_request(**kwargs)
    except (ValueError, TypeError, UnicodeError, httpx.InvalidURL):
        return "unsendable"  # not representable over HTTP (e.g. a non-latin-1 header): not the app's fault
    try:
        return await client.send(request)
    except Exception:
        return traceback.format_exc(limit=-8)


def _credentials(
    platform: PlatformSettings, service: str, op: Operation, operation: Any, service_scopes: set[str]
) -> tuple[str, dict[str, str]]:
    """The Authorization header for the operation, and the path parameters it must be sent with."""
    fixed_path: dict[str, str] = {}
    if op.partner_only or service == "gateway":
        partner = "court"
        if "partner" in {p.name for p in operation.path_parameters}:
            fixed_path["partner"] = partner
        return _token(platform, f"partner:{partner}", {f"partner:{p}" for p in PARTNERS}), fixed_path
    return _token(platform, f"dept:{service}", service_scopes), fixed_path


async def test_schemathesis_campaign_no_5xx_and_problem_json(service: str, platform: PlatformSettings) -> None:
    loop = asyncio.get_running_loop()
    failures: list[str] = []
    tally = Tally()
    async with serving(service, platform) as app:
        ops = {(o.method, o.path): o for o in operations(app)}
        service_scopes = {s for o in ops.values() for s in o.scopes}
        schema = schemathesis.openapi.from_dict(app.openapi())
        transport = httpx.ASGITransport(app)  # app exceptions propagate: they are failures, with their traceback
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{service}", timeout=30) as client:

            def probe(where: str, strategy: Any) -> list[str]:
                """Run the strategy's examples; the failures found (a few per operation are enough to act on)."""
                seen: list[str] = []

                @hypothesis_settings(
                    max_examples=EXAMPLES,
                    deadline=None,
                    database=None,
                    derandomize=True,  # the same inputs every run: a failure here is reproducible
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=strategy)
                def one(case: Any) -> None:
                    try:
                        kwargs = _request_kwargs(case.as_transport_kwargs(base_url=f"http://{service}"))
                    except Exception:
                        return  # schemathesis could not serialise this case
                    resp = asyncio.run_coroutine_threadsafe(_send(client, kwargs), loop).result(timeout=120)
                    if resp == "unsendable":
                        return
                    req = f"{kwargs.get('method')} {kwargs.get('url')} params={kwargs.get('params')} " + (
                        f"body={json.dumps(kwargs.get('json'), ensure_ascii=False)[:400]}"
                    )
                    if isinstance(resp, str):
                        seen.append(f"{where}: unhandled exception for {req}\n{resp}")
                        return
                    problem = tally.record(where, resp, service == HTML_PAGES)
                    if problem:
                        seen.append(f"{where}: {problem}\n  request: {req}")

                try:
                    one()
                except Unsatisfiable:
                    pass  # e.g. no way to make a parameterless GET invalid: the other mode covers it
                return seen

            def campaign() -> None:
                for result in schema.get_all_operations():
                    operation = result.ok()
                    method, path = operation.method.upper(), operation.path
                    if (service, method, path) in STREAMS:
                        continue
                    auth, fixed_path = _credentials(platform, service, ops[(method, path)], operation, service_scopes)
                    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                        strategy = operation.as_strategy(
                            mode,
                            headers={"Authorization": auth},
                            path_parameters=fixed_path if mode is GenerationMode.POSITIVE and fixed_path else None,
                        )
                        failures.extend(probe(f"{service} {method} {path} [{mode.value}]", strategy)[:3])

            await asyncio.to_thread(campaign)

    statuses, unauthorized = tally.statuses, tally.unauthorized
    print(f"{service}: statuses {dict(sorted(statuses.items()))}")
    assert not failures, f"{len(failures)} failing requests:\n\n" + "\n\n".join(failures)
    documented = {f"{service} {o.method} {o.path}" for o in ops.values() if o.in_schema}
    unreached = documented - {f"{s} {m} {p}" for s, m, p in STREAMS} - set(tally.sent)
    assert not unreached, f"operations that received no request: {sorted(unreached)}"
    # the token was good: requests reached the handlers (not only validation and auth refusals)
    assert sum(n for s, n in statuses.items() if 200 <= s < 300) > 0, dict(statuses)
    assert not set(unauthorized) - CREDENTIAL_FORMS, (dict(unauthorized), dict(statuses))


@pytest.fixture(params=sorted(SERVICES))
def service(request: pytest.FixtureRequest) -> str:
    return str(request.param)
