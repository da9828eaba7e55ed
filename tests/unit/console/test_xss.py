"""Every page the console serves renders hostile upstream data inert: a case field, an indicator name, a department's
answer or a recorded span holding markup comes out as text, never as an element or an attribute.

The pages are read off the app's routes, so a page added without a story here fails `test_every_page_has_a_story`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts

from services.console.config import Settings as ConsoleSettings
from services.console.main import create_app
from tests.unit.console.conftest import CITY, NOW, PLATFORM, staff_client, write_spans

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
PAYLOADS = [SCRIPT, BREAKOUT]
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
#: the console's own script, the only <script> element a page may hold
OWN_SCRIPTS = {"/static/console.js"}
#: routes that answer with something other than a page (redirects, the event stream, probes)
NOT_PAGES = {
    ("GET", "/"),
    ("GET", "/scorecard/stream"),
    ("POST", "/logout"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
}


# -- hostile upstreams: every string field the services answer with holds the payload --------------------------
def card(p: str) -> dict[str, Any]:
    return {"indicator": p, "name_zh": p, "name_en": p, "unit": p, "value": 50.0, "target": {"op": p, "value": 100},
            "status": p, "numerator": 1, "denominator": 2, "period": p, "reason": p}  # fmt: skip


def timeline(p: str) -> dict[str, Any]:
    at = NOW.isoformat()
    step = {"at": at, "department": p, "event_type": p, "actor": p, "subject": p}
    return {
        "correlation_id": p, "region": p, "channel": p, "case_ids": [p, p], "partner_references": [p],
        "hours_in_department": {p: 1.5},
        "steps": [step | {"trace_id": TRACE}, step | {"trace_id": p}, step],
        "deadlines": [{"name_zh": p, "name_en": p, "case_id": p, "start": p, "due": at, "done_at": p, "status": p}],
    }  # fmt: skip


def metrics(p: str) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        path, params = request.url.path, request.url.params
        if path.endswith("/timeline"):
            if "missing" in path:
                return httpx.Response(404, json={"detail": p})
            if "broken" in path:
                return httpx.Response(500, json={"detail": p})
            return httpx.Response(200, json=timeline(p))
        if path.endswith("/scorecard"):
            if params.get("period") == "month":  # the scorecard story "metrics refuses the request"
                return httpx.Response(400, json={"detail": p, "errors": [{"field": p}]})
            return httpx.Response(200, json=[card(p), card(p + "2") | {"value": None}])
        if path == "/scorecards":
            city = {"profile": p, "name_zh": p, "name_en": p, "seed": p, "region": p}
            return httpx.Response(
                200,
                json=[
                    city | {"cards": [card(p) | {"target_from": p, "annualised": True, "extra": {"annualised": 1.0}}]}
                ],
            )
        if path.endswith("/advisor-villages"):
            village = {"village": p, "hours": 1.0, "advisor_id": p, "advisor_kind": p, "status": "under_target"}
            return httpx.Response(
                200,
                json={
                    "period": p,
                    "required_hours": 4.0,
                    "required_hours_so_far": 2.0,
                    "source": p,
                    "under_target": [p],
                    "villages": [village],
                },
            )
        if path.endswith("/series"):
            points = [{"period": p, "value": v, "target": {"op": p, "value": 2}} for v in (1, None, 3)]
            return httpx.Response(200, json=points)
        if path.startswith("/indicators/throughput"):
            return httpx.Response(200, json=card(p) | {"extra": {"opened": 3, "closed": 2, "backlog": 1}})
        if path.startswith("/indicators"):
            return httpx.Response(200, json=card(p) if path != "/indicators" else [])
        return httpx.Response(404, json={"detail": p})

    return answer


def departments(p: str, refuse: bool = False) -> dict[str, Callable[[httpx.Request], httpx.Response]]:
    def reply(body: Any) -> Callable[[httpx.Request], httpx.Response]:
        return lambda _: httpx.Response(404, json={"detail": p}) if refuse else httpx.Response(200, json=body)

    common = {"status": p, "region": p}
    intake = common | {"request_id": p, "kind": p, "topic": p, "work_order_due_at": p, "work_order_open": True}
    legal_aid = common | {"id": p, "kind": p, "matter_type": p, "deadlines": [{"due_at": p, "status": "pending"}]}
    mediation = common | {"dispute_id": p, "dispute_type": p, "due_by": p, "confirmation_deadline": p}
    notary = common | {"application_id": p, "matter_name": p, "due_on": p, "working_days_left": 1}
    return {
        "intake": reply({"items": [intake]}),
        "legal_aid": reply([legal_aid]),
        "mediation": reply({"items": [mediation]}),
        "notary": reply({"items": [notary]}),
    }


def hostile_console(p: str, trace_file: Path, *, refuse: bool = False):  # type: ignore[no-untyped-def]
    write_spans(trace_file, [
        {"trace_id": TRACE, "span_id": "00f067aa0ba902b7", "parent_id": None, "name": p, "service": p,
         "start": 1_000_000, "end": 9_000_000, "attributes": {"caseflow.case_id": p}},
    ])  # fmt: skip
    handlers = {"metrics": metrics(p), **departments(p, refuse)}
    transports = {name: httpx.MockTransport(h) for name, h in handlers.items()}
    return create_app(ConsoleSettings(platform=PLATFORM, traces_file=str(trace_file), timeout=2), transports)


# -- the stories: one or more requests per page, each saying whether the payload is shown -------------------------
@dataclass(frozen=True)
class Story:
    name: str
    method: str
    path: str
    url: str
    params: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] | None = None
    shows_payload: bool = True
    refuse: bool = False
    signed_in: bool = True
    typed: str | None = None


def stories(p: str) -> list[Story]:
    # a search box takes no whitespace or slash: the payload typed there is the part that breaks out of an attribute
    typed = p.replace(" ", "").replace("/", "")
    return [
        Story("scorecard", "GET", "/scorecard", "/scorecard", {"region": CITY, "period": "day"}),
        Story("scorecard, metrics refuses", "GET", "/scorecard", "/scorecard", {"region": CITY, "period": "month"}),
        Story("scorecard, villages", "GET", "/scorecard", "/scorecard", {"region": CITY, "period": "year"}),
        Story("reference cities", "GET", "/cities", "/cities"),
        Story("case trace", "GET", "/trace", "/trace", {"q": typed}, typed=typed),
        Story("case trace, empty search", "GET", "/trace", "/trace", shows_payload=False),
        Story("case trace, unknown case", "GET", "/trace", "/trace", {"q": "missing-1"}),
        Story("case trace, metrics down", "GET", "/trace", "/trace", {"q": "broken-1"}, shows_payload=False),
        Story("trace spans", "GET", "/traces/{trace_id}", f"/traces/{TRACE}"),
        Story("trace spans, none recorded", "GET", "/traces/{trace_id}", "/traces/" + "0" * 32, shows_payload=False),
        Story("worklists", "GET", "/worklists", "/worklists"),
        Story("worklists, departments refuse", "GET", "/worklists", "/worklists", refuse=True),
        Story("sign-in", "GET", "/login", "/login", {"next": "/" + p, "reason": p}, signed_in=False),
        Story("sign-in refused", "POST", "/login", "/login", form={"token": p, "next": "/" + p}, signed_in=False),
    ]


def html_routes() -> set[tuple[str, str]]:
    """(method, path) of every route of the console, checked to be either a page or a known non-page."""
    app = create_app(ConsoleSettings(platform=PLATFORM))
    pages: set[tuple[str, str]] = set()
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if not isinstance(route, APIRoute):
            continue  # the OpenAPI docs and the static mount
        response = getattr(route.response_class, "value", route.response_class)
        for method in ctx.methods or ():
            key = (method, ctx.path)
            if method == "HEAD" or key in NOT_PAGES:
                continue
            assert issubclass(response, HTMLResponse), f"{key} is neither a page nor listed in NOT_PAGES"
            pages.add(key)
    return pages


def test_every_page_has_a_story() -> None:
    told = {(s.method, s.path) for s in stories(SCRIPT)}
    assert html_routes() == told


# -- what "inert" means -----------------------------------------------------------------------------------------
class Elements(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer would read them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_inert(html: str, payload: str, *, shown: bool) -> None:
    assert payload not in html, "the payload reached the page unescaped"
    parser = Elements()
    parser.feed(html)
    parser.close()
    scripts = [attrs.get("src") for tag, attrs in parser.tags if tag == "script"]
    assert scripts and set(scripts) <= OWN_SCRIPTS, f"a <script> that is not the console's own: {scripts}"
    assert not [t for t, _ in parser.tags if t == "img"], "an <img> element was injected"
    handlers = [(t, a) for t, attrs in parser.tags for a in attrs if a.startswith("on")]
    assert not handlers, f"an event-handler attribute was injected: {handlers}"
    assert all(len(attrs) == len(set(attrs)) for _, attrs in parser.tags)
    if shown:  # as text, or as the value of an attribute, once the browser has decoded the escapes
        values = [v or "" for _, attrs in parser.tags for v in attrs.values()]
        assert any(payload in t for t in ["".join(parser.text), *values]), "the field should be shown, as text"


@pytest.mark.parametrize("payload", PAYLOADS, ids=["script", "attribute-breakout"])
@pytest.mark.parametrize("story", stories(SCRIPT), ids=lambda s: s.name)
async def test_hostile_upstream_data_renders_inert(story: Story, payload: str, tmp_path: Path) -> None:
    told = {s.name: s for s in stories(payload)}[story.name]
    app = hostile_console(payload, tmp_path / "traces.jsonl", refuse=told.refuse)
    client = staff_client(app)
    if not told.signed_in:
        client.headers.pop("Authorization")
    async with client:
        if told.form is not None:
            r = await client.post(told.url, data=told.form)
        else:
            r = await client.get(told.url, params=told.params)
    assert r.headers["content-type"].startswith("text/html"), (r.status_code, r.text[:300])
    assert_inert(r.text, payload, shown=told.shows_payload)
    if told.typed:  # a search shows what was typed: the payload less its spaces and slashes
        assert_inert(r.text, told.typed, shown=True)
