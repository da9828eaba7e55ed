"""The console's pages over an in-process metrics app: scorecard with charts, case trace with swimlanes and trace
links, span view, worklists with departments down or answering, and input validation."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from services.console.clients import Upstream
from services.console.config import Settings as ConsoleSettings
from services.console.traces import trace_ids_for_steps
from shared.auth import verify_token
from tests.unit.console.conftest import CITY, NOW, PLATFORM, make_console, staff_client, write_spans
from tests.unit.metrics.helpers import CHENZHOU_VILLAGE, env

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_scorecard_lists_every_indicator_with_target_status_and_counts(console):
    r = await console.get("/scorecard", params={"region": CITY, "period": "last-24h"})
    assert r.status_code == 200
    rows = re.findall(r'<tr class="card status-(\w+)[^"]*" data-key="([a-z0-9_]+)\|([^"]+)"', r.text)
    assert len(rows) == 23
    coverage = re.search(r'data-key="criminal_aid_coverage\|last-24h".*?</tr>', r.text, re.S)
    assert coverage is not None
    row = coverage.group(0)
    assert 'class="value">50</td>' in row and '<span class="num">1</span> / <span class="den">2</span>' in row
    assert "刑事法律援助覆盖率" in row and "criminal legal aid coverage" in row and "未达标 not met" in row
    assert ">= 100" in row or "&gt;= 100" in row
    assert 'data-stream="/scorecard/stream?region=431000000000&amp;period=last-24h"' in r.text


async def test_scorecard_charts_series_bars_and_drilldown_links(console):
    r = await console.get("/scorecard", params={"region": CITY, "period": "day", "indicator": "criminal_aid_coverage"})
    assert r.status_code == 200
    assert '<svg class="chart line"' in r.text and "target 100" in r.text
    assert '<svg class="chart bars"' in r.text and "法律援助 Legal aid" in r.text
    drill = re.search(r'<table id="drilldown">.*?</table>', r.text, re.S)
    assert drill is not None
    # the city's counties are links one level down; Beihu (where the cases are) shows the value 50
    assert 'href="/scorecard?region=431002000000&amp;period=day"' in drill.group(0)
    beihu = re.search(r'data-region="431002000000">.*?</tr>', drill.group(0), re.S)
    assert beihu is not None and 'class="value">50</td>' in beihu.group(0)


async def test_scorecard_says_unavailable_when_metrics_is_down(trace_file):
    settings = ConsoleSettings(platform=PLATFORM, metrics_url="http://127.0.0.1:9", timeout=1)
    from services.console.main import create_app

    app = create_app(settings)
    async with staff_client(app) as c:
        r = await c.get("/scorecard")
    assert r.status_code == 200 and "unavailable" in r.text and "ConnectError" in r.text


async def test_trace_shows_a_lane_per_department_deadlines_and_trace_links(metrics_app, trace_file):
    write_spans(trace_file, [
        {"trace_id": TRACE, "span_id": "00f067aa0ba902b7", "parent_id": None, "name": "POST /requests",
         "service": "caseflow-intake", "start": 1_000_000, "end": 9_000_000, "attributes": {}},
        {"trace_id": TRACE, "span_id": "00f067aa0ba902b8", "parent_id": "00f067aa0ba902b7",
         "name": "publish caseflow.intake.request_received", "service": "caseflow-intake", "start": 2_000_000,
         "end": 3_000_000, "attributes": {"caseflow.case_id": "in-7"}},
    ])  # fmt: skip
    app = make_console(metrics_app, trace_file)
    async with staff_client(app) as c:
        r = await c.get("/trace", params={"q": "la-7"})  # a department case id finds the whole correlation
        assert r.status_code == 200
        lanes = re.findall(r'<div class="lane" data-department="(\w+)"', r.text)
        assert lanes == ["intake", "legal_aid"]
        assert "corr-7" in r.text and "综合受理 Intake" in r.text and "法律援助 Legal aid" in r.text
        assert f'href="/traces/{TRACE}"' in r.text  # the intake step links to the span that published it
        assert 'class="deadline status-pending"' in r.text
        spans = await c.get(f"/traces/{TRACE}")
        assert spans.status_code == 200 and spans.text.count('<tr class="span">') == 2
        assert "publish caseflow.intake.request_received" in spans.text
        missing = await c.get("/traces/" + "0" * 32)
        assert missing.status_code == 404 and "no spans recorded" in missing.text
        assert "zipkin" not in r.text.lower()  # no Zipkin configured: nothing of it shown


async def test_trace_steps_link_to_their_traces_in_zipkin_when_it_is_configured(metrics_app, trace_file):
    write_spans(trace_file, [
        {"trace_id": TRACE, "span_id": "00f067aa0ba902b8", "parent_id": None,
         "name": "publish caseflow.intake.request_received", "service": "caseflow-intake", "start": 2_000_000,
         "end": 3_000_000, "attributes": {"caseflow.case_id": "in-7"}},
    ])  # fmt: skip
    app = make_console(metrics_app, trace_file, zipkin_url="http://127.0.0.1:19411/")
    async with staff_client(app) as c:
        r = await c.get("/trace", params={"q": "la-7"})
    assert r.status_code == 200
    steps = re.findall(r'<tr class="step".*?</tr>', r.text, flags=re.S)
    links = [re.findall(r'href="http://127\.0\.0\.1:19411/zipkin/traces/([0-9a-f]{32})"', s) for s in steps]
    assert links == [[TRACE], [], []]  # the intake step opens its trace in Zipkin; the others have none recorded
    assert 'href="/traces/' not in r.text  # the viewer replaces the console's own span view


async def test_trace_by_partner_reference_shows_deadline_met(console):
    r = await console.get("/trace", params={"q": "ref-la-1"})
    assert r.status_code == 200
    assert 'class="deadline status-met"' in r.text and "达标 met" in r.text
    assert 'data-department="legal_aid"' in r.text


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/scorecard", {"region": "4310"}, 422, "query.region"),
        ("/scorecard", {"period": "week"}, 422, "query.period"),
        ("/trace", {"q": "a b"}, 422, "query.q"),
        ("/traces/xyz", {}, 422, "path.trace_id"),
        ("/worklists", {"days": "0"}, 422, "query.days"),
    ],
)
async def test_invalid_input_is_a_problem_naming_the_field(console, path, params, status, field):
    r = await console.get(path, params=params)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == field


async def test_unknown_case_is_404_with_the_reason(console):
    r = await console.get("/trace", params={"q": "nope-1"})
    assert r.status_code == 404 and "no case known by" in r.text


async def test_worklists_show_unavailable_departments_and_items_of_the_others(metrics_app, trace_file):
    seen: list[httpx.Request] = []
    due = (NOW - timedelta(days=1)).isoformat()
    soon = (NOW + timedelta(days=1)).isoformat()

    def legal_aid(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        case = {"id": "la-9", "status": "applied", "kind": "application", "matter_type": "labour", "region": CITY,
                "deadlines": [{"name": "review", "due_at": due if request.url.params["overdue"] == "true" else soon,
                               "status": "pending"}]}  # fmt: skip
        return httpx.Response(200, json=[case | {"id": "la-9" if request.url.params["overdue"] == "true" else "la-8"}])

    def mediation(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"title": "down"})

    app = make_console(metrics_app, trace_file, {"legal_aid": legal_aid, "mediation": mediation})
    async with staff_client(app) as c:
        r = await c.get("/worklists")
    assert r.status_code == 200
    sections = dict(re.findall(r'<section class="worklist" data-department="(\w+)">(.*?)</section>', r.text, re.S))
    assert "unavailable (ConnectError)" in sections["intake"] and "unavailable (HTTP 503)" in sections["mediation"]
    assert '<tr class="item overdue">' in sections["legal_aid"] and "la-9" in sections["legal_aid"]
    assert '<tr class="item due_soon">' in sections["legal_aid"] and "la-8" in sections["legal_aid"]
    # the console asked with its own read-only token and the due-soon horizon
    principal = verify_token(PLATFORM, seen[0].headers["Authorization"].split()[1])
    assert principal.subject == "dept:console" and "legal_aid:read" in principal.scopes
    assert not any(s.endswith(":write") for s in principal.scopes)
    assert {r.url.params["overdue"] for r in seen} == {"true", "false"}
    assert any("due_before" in r.url.params for r in seen)


async def test_metrics_stream_is_parsed_into_events():
    body = 'event: indicator\r\ndata: {"indicator": "x", "period": "year:2026"}\r\n\r\nevent: ping\r\ndata: {}\r\n\r\n'
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})
    )
    up = Upstream(ConsoleSettings(platform=PLATFORM), {"metrics": transport})
    got = [e async for e in up.stream("metrics", "/regions/431000000000/stream")]
    await up.aclose()
    assert got == [("indicator", '{"indicator": "x", "period": "year:2026"}'), ("ping", "{}")]


def test_steps_without_a_recorded_span_have_no_trace_id(tmp_path):
    steps = [
        {"subject": "a", "event_type": "caseflow.intake.request_received"},
        {
            "subject": "a",
            "event_type": "caseflow.intake.request_closed",
            "traceparent": f"00-{TRACE}-00f067aa0ba902b7-01",
        },
    ]
    assert trace_ids_for_steps(tmp_path / "missing.jsonl", steps) == {1: TRACE}


async def test_scorecard_shows_the_selected_indicator_per_department(metrics_app, trace_file):
    """Seed 004 (随单评价 of every service): 群众满意率 shows overall and for each department."""
    for kind, case, score in (("legal_aid.case_evaluated", "la-1", 5), ("mediation.dispute_evaluated", "md-1", 2),
                              ("mediation.dispute_evaluated", "md-2", 4)):  # fmt: skip
        metrics_app.state.engine.apply(
            env(f"caseflow.{kind}", case, NOW - timedelta(hours=1), region=CHENZHOU_VILLAGE, satisfaction=score,
                evaluated_at=NOW - timedelta(hours=1)),
            NOW,
        )  # fmt: skip
    async with staff_client(make_console(metrics_app, trace_file)) as c:
        r = await c.get("/scorecard", params={"region": CITY, "period": "day", "indicator": "satisfaction"})
    table = re.search(r'<table id="by-department">.*?</table>', r.text, re.S)
    assert table is not None
    rows = dict(re.findall(r'<tr data-department="(\w+)">(.*?)</tr>', table.group(0), re.S))
    assert list(rows) == ["intake", "legal_aid", "mediation", "notary"]
    assert 'class="value">100</td>' in rows["legal_aid"] and 'class="value">50</td>' in rows["mediation"]
    assert '<span class="num">1</span> / <span class="den">2</span>' in rows["mediation"]
    overall = re.search(r'data-key="satisfaction\|[^"]+".*?</tr>', r.text, re.S)
    assert overall is not None and '<span class="num">2</span> / <span class="den">3</span>' in overall.group(0)


async def test_the_intake_worklist_has_work_orders_and_complaints_past_or_near_their_deadline(metrics_app, trace_file):
    """Seeds 001, 003 (投诉受理、处理和反馈): an open complaint's reply deadline is listed like a work order's."""
    late, soon, far = ((NOW + timedelta(days=d)).isoformat() for d in (-1, 1, 30))

    def intake(request: httpx.Request) -> httpx.Response:
        base = {"status": "received", "region": CITY, "topic": "service_quality"}
        overdue = request.url.params["overdue"] == "true"
        if request.url.path == "/complaints":
            rows = [{"request_id": "rq-late", "complaint_reply_due_at": late}] if overdue else [
                {"request_id": "rq-soon", "complaint_reply_due_at": soon},
                {"request_id": "rq-far", "complaint_reply_due_at": far}]  # fmt: skip
            return httpx.Response(200, json={"items": [base | {"kind": "complaint"} | r for r in rows]})
        return httpx.Response(200, json={"items": []})

    async with staff_client(make_console(metrics_app, trace_file, {"intake": intake})) as c:
        r = await c.get("/worklists", params={"days": 3})
    section = dict(re.findall(r'<section class="worklist" data-department="(\w+)">(.*?)</section>', r.text, re.S))
    rows = re.findall(r'<tr class="item (\w+)">(.*?)</tr>', section["intake"], re.S)
    assert [(state, "rq-late" in row, "rq-soon" in row) for state, row in rows] == [
        ("overdue", True, False), ("due_soon", False, True),
    ]  # fmt: skip
    assert "rq-far" not in section["intake"] and "complaint · service_quality" in section["intake"]


async def test_cities_page_shows_every_indicator_target_and_status_of_the_five_reference_cities(console):
    """Seeds 000–004: one column per reference city, one row per indicator, each cell with value, target (the
    city's seed or the national default) and status."""
    r = await console.get("/cities", params={"period": "year"})
    assert r.status_code == 200
    heads = re.findall(r'<th data-profile="(\d{6})">', r.text)
    assert heads == ["431000", "420700", "440200", "500114", "340300"]
    rows = re.findall(r'<tr data-indicator="([a-z0-9_]+)">(.*?)</tr>', r.text, re.S)
    assert len(rows) == 23
    lawyers = dict(rows)["aid_by_lawyers"]
    assert "&gt;= 80" in lawyers and "城市 city 440200" in lawyers and "全国默认 national default" in lawyers


async def test_scorecard_lists_the_villages_under_their_advisor_hours(console):
    """Seed 000 (每月…4小时的现场法律服务): the scorecard of a month lists each village under its requirement."""
    r = await console.get("/scorecard", params={"region": "431002100000", "period": "month"})
    assert r.status_code == 200
    table = re.search(r'<table id="villages-under-target">.*?</table>', r.text, re.S)
    assert table is not None and len(re.findall(r"<tr data-village=", table.group(0))) == 14
    assert "要求 required 4 h" in r.text


async def test_an_annual_target_is_not_drawn_against_months(console):
    """Seed 000 indicator 19 (每年…不少于50小时): the trend of advisor hours by month (this month's days, this
    year's months) shows no 50 h target line; the year's scorecard judges the year against it."""
    months = await console.get("/scorecard", params={"region": CITY, "period": "month", "indicator": "advisor_hours"})
    assert '<svg class="chart line"' in months.text and "target 50" not in months.text
    years = await console.get("/scorecard", params={"region": CITY, "period": "year", "indicator": "advisor_hours"})
    assert '<svg class="chart line"' in years.text and "target 50" not in years.text
    row = re.search(r'data-key="advisor_hours\|[^"]+".*?</tr>', years.text, re.S)
    assert row is not None and "&gt;= 50" in row.group(0)
