"""Every service app, every route it serves and the scopes each route demands (read from `shared.auth.require`).

Shared by the auth sweep (no servers needed: auth is decided before any handler touches Kafka or PostgreSQL) and the
bad-input campaign (which runs the same apps against the real test servers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from services.console.config import Settings as ConsoleSettings
from services.console.main import create_app as console_app
from services.gateway.config import Settings as GatewaySettings
from services.gateway.main import create_app as gateway_app
from services.intake.config import Settings as IntakeSettings
from services.intake.main import create_app as intake_app
from services.legal_aid.config import Settings as LegalAidSettings
from services.legal_aid.main import create_app as legal_aid_app
from services.mediation.config import Settings as MediationSettings
from services.mediation.main import create_app as mediation_app
from services.metrics.config import Settings as MetricsSettings
from services.metrics.main import create_app as metrics_app
from services.notary.config import Settings as NotarySettings
from services.notary.main import create_app as notary_app
from shared.settings import PlatformSettings

SERVICES: dict[str, Callable[[PlatformSettings], FastAPI]] = {
    "intake": lambda p: intake_app(IntakeSettings(platform=p)),
    "legal_aid": lambda p: legal_aid_app(LegalAidSettings(platform=p)),
    "mediation": lambda p: mediation_app(MediationSettings(platform=p, sweep_interval_seconds=0)),
    "notary": lambda p: notary_app(NotarySettings(platform=p)),
    "metrics": lambda p: metrics_app(MetricsSettings(platform=p)),
    "gateway": lambda p: gateway_app(GatewaySettings(platform=p, pull_wait_seconds=0.5)),
    "console": lambda p: console_app(ConsoleSettings(platform=p, timeout=2)),
}

#: Routes any caller may reach without a token. Anything else must answer 401 without one, so a new route that
#: forgets `require(...)` fails the sweep until it is either protected or listed here with a reason.
OPS_PUBLIC = {
    ("GET", "/healthz"),  # liveness probe (kubelet, no token)
    ("GET", "/readyz"),  # readiness probe
    ("GET", "/metrics"),  # Prometheus scrape of process metrics (no case data)
    ("GET", "/openapi.json"),  # the contract is public
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
}
#: The console's sign-in and sign-out (its pages need a `console:read` session: services/console/session.py) and
#: its CSS/JS assets, which hold no data.
CONSOLE_PUBLIC = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/static"),  # the mount of CSS/JS assets
}
PUBLIC: dict[str, set[tuple[str, str]]] = {name: set(OPS_PUBLIC) for name in SERVICES}
PUBLIC["console"] |= CONSOLE_PUBLIC


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    scopes: tuple[str, ...]  # empty: the route declares no `require(...)`
    in_schema: bool
    has_body: bool = False

    @property
    def partner_only(self) -> bool:
        return bool(self.scopes) and all(s.startswith("partner:") for s in self.scopes)


def _scopes(dependant: Any) -> tuple[str, ...]:
    found: list[str] = []
    for dep in getattr(dependant, "dependencies", ()):
        found.extend(getattr(dep.call, "__caseflow_scopes__", ()))
        found.extend(_scopes(dep))
    return tuple(dict.fromkeys(found))


def operations(app: FastAPI) -> list[Operation]:
    """Every (method, path) the app serves: the OpenAPI document's operations plus the hidden routes and mounts."""
    documented = {
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    out: dict[tuple[str, str], Operation] = {}
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        scopes = _scopes(route.dependant) if isinstance(route, APIRoute) else ()
        has_body = isinstance(route, APIRoute) and route.body_field is not None
        for method in sorted(ctx.methods or {"GET"}):
            if method == "HEAD":
                continue
            key = (method, ctx.path)
            out[key] = Operation(method, ctx.path, scopes, key in documented, has_body)
    missing = documented - set(out)
    assert not missing, f"OpenAPI operations without a route: {missing}"
    return sorted(out.values(), key=lambda o: (o.path, o.method))


def all_scopes() -> set[str]:
    scopes: set[str] = set()
    for build in SERVICES.values():
        for op in operations(build(PlatformSettings())):
            scopes.update(op.scopes)
    return scopes


def fill_path(path: str, values: dict[str, str] | None = None) -> str:
    """A concrete URL for a path template; any value does for auth checks (they run before path validation)."""
    values = values or {}
    out = path
    while "{" in out:
        start, end = out.index("{"), out.index("}")
        name = out[start + 1 : end].split(":")[0]
        out = out[:start] + values.get(name, f"x-{name}") + out[end + 1 :]
    return out


def iter_protected(app: FastAPI, public: set[tuple[str, str]]) -> Iterator[Operation]:
    for op in operations(app):
        if (op.method, op.path) not in public:
            yield op
