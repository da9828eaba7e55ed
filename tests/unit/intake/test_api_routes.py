"""Intake API surface: every route declares its scope, every POST takes Idempotency-Key, OpenAPI builds."""

from fastapi.routing import APIRoute, iter_route_contexts

from services.intake.config import Settings
from services.intake.main import create_app
from tests.fakes import memory_adapters

OPS = {"/healthz", "/readyz", "/metrics"}


def _dependants(route: APIRoute) -> list:
    found, stack = [], [route.dependant]
    while stack:
        dep = stack.pop()
        found.append(dep)
        stack.extend(dep.dependencies)
    return found


def _scopes(route: APIRoute) -> set[str]:
    found: set[str] = set()
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        found.update(getattr(dep.call, "__caseflow_scopes__", ()))
        stack.extend(dep.dependencies)
    return found


def test_every_route_declares_its_scope_and_every_post_an_idempotency_key():
    app = create_app(Settings(), **memory_adapters())
    contexts = iter_route_contexts(app.routes)
    routes = [c.original_route for c in contexts if isinstance(c.original_route, APIRoute) and c.path not in OPS]
    assert len(routes) >= 20
    for route in routes:
        scopes = _scopes(route)
        assert scopes, f"{route.path} declares no scope"
        if "GET" in route.methods:
            assert scopes == {"intake:read"}, route.path
        if "POST" in route.methods:
            headers = {p.alias for d in _dependants(route) for p in d.header_params}
            assert "Idempotency-Key" in headers, route.path
    admin = {r.path for r in routes if _scopes(r) == {"intake:admin"}}
    assert admin == {
        "/persons/{person_ref}",
        "/advisors/{village_region}/assign",
        "/advisors/{village_region}/unassign",
    }


def test_openapi_lists_the_issue_endpoints():
    paths = create_app(Settings()).openapi()["paths"]
    expected = {
        "/requests",
        "/requests/{request_id}",
        "/requests/{request_id}/refer",
        "/requests/{request_id}/evaluate",
        "/calls",
        "/web/questions",
        "/advisors/{village_region}/services",
        "/persons/{person_ref}",
        "/complaints",
        "/requests/{request_id}/complaint/handle",
        "/requests/{request_id}/complaint/reply",
        "/requests/{request_id}/inspection",
        "/qc/{region}/{month}",
    }
    assert expected <= set(paths)
