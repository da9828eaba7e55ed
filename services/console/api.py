"""The console's routes: pages (scorecard, reference cities, case trace, trace spans, worklists) and the live relay.

Every route needs a signed-in operator (`session.STAFF`: a `console:read` token from the session cookie or the
Authorization header). The console reaches the services with its own read-only token, server-side (see
`clients.py`), so the browser never holds a service token.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse
from sse_starlette.sse import EventSourceResponse

from services.console import charts, handlers, pages
from services.console.clients import Rejected, Unavailable, Upstream, parse_json
from services.console.config import Settings
from services.console.rendering import dept_label
from services.console.session import STAFF
from services.console.traces import spans_of, trace_ids_for_steps
from shared import clock as scenario

router = APIRouter(tags=["console"], dependencies=[STAFF])
RegionQ = Annotated[str | None, Query(pattern=r"^\d{12}$", description="12-digit division code")]
PeriodQ = Annotated[Literal["day", "month", "year", "last-24h", "last-7d"], Query()]
IndicatorQ = Annotated[str | None, Query(pattern=r"^[a-z0-9_]{1,64}$")]
RETRY_SECONDS = 2.0


def _up(request: Request) -> Upstream:
    up: Upstream = request.app.state.upstream
    return up


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.get("/", include_in_schema=False)
async def home() -> RedirectResponse:
    return RedirectResponse("/scorecard", status_code=303)


@router.get("/scorecard", response_class=HTMLResponse, summary="指标看板: every indicator of a region and period")
async def scorecard(
    request: Request, region: RegionQ = None, period: PeriodQ = "year", indicator: IndicatorQ = None
) -> HTMLResponse:
    up, settings = _up(request), _settings(request)
    region = region or settings.default_region
    cards: list[dict[str, Any]] | None = None
    error = None
    try:
        cards = await up.get("metrics", f"/regions/{region}/scorecard", {"period": period})
    except Unavailable as exc:
        error = exc.reason
    except Rejected as exc:
        error = exc.detail
    chosen = indicator or _first_with_data(cards)
    names = {c["indicator"]: f"{c['name_zh']} {c['name_en']}" for c in cards or []}
    shown = await _charts(up, region, period, chosen, names) if cards is not None and chosen is not None else None
    villages = None
    if cards is not None and period in ("month", "year"):
        villages = await handlers.try_get(up, "metrics", f"/regions/{region}/advisor-villages", {"period": period})
    html = pages.scorecard_page(
        region=region, period=period, indicator=chosen, cards=cards, error=error, charts=shown, villages=villages
    )
    return HTMLResponse(html)


@router.get("/cities", response_class=HTMLResponse, summary="城市对比: every indicator of every reference city")
async def cities(request: Request, period: PeriodQ = "year") -> HTMLResponse:
    error, found = None, None
    try:
        found = await _up(request).get("metrics", "/scorecards", {"period": period})
    except Unavailable as exc:
        error = exc.reason
    except Rejected as exc:
        error = exc.detail
    return HTMLResponse(pages.cities_page(period=period, cities=found, error=error))


def _first_with_data(cards: list[dict[str, Any]] | None) -> str | None:
    if not cards:
        return None
    with_data = [c for c in cards if c.get("value") is not None]
    return (with_data or cards)[0]["indicator"]


async def _charts(up: Upstream, region: str, period: str, indicator: str, names: dict[str, str]) -> pages.Charts:
    kind, points = handlers.trend_of(period, scenario.now())
    series_task = handlers.try_get(
        up, "metrics", f"/indicators/{indicator}/series", {"region": region, "kind": kind, "points": points}
    )
    series, bars, drill, per_department = await asyncio.gather(
        series_task,
        handlers.by_department(up, "throughput", region, period),
        handlers.drilldown(up, indicator, region, period),
        handlers.by_department(up, indicator, region, period),
    )
    name = names.get(indicator, indicator)
    if series is None:  # e.g. an indicator without this calendar period
        series = await handlers.try_get(
            up, "metrics", f"/indicators/{indicator}/series", {"region": region, "kind": "year", "points": 5}
        )
    line = (
        charts.line_chart(
            [(p["period"].split(":", 1)[-1], p["value"]) for p in series],
            title=name,
            target=_target_line(series[-1]),
        )
        if series
        else None
    )
    bars_svg = charts.grouped_bars(
        [(dept_label(d), [(s, (v or {}).get("extra", {}).get(k)) for s, k in _BAR_SERIES]) for d, v in bars],
        title="受理/办结/积压 opened / closed / backlog",
    )
    return pages.Charts.of(
        series=line, bars=bars_svg, indicator_name=name, drilldown=drill, by_department=per_department
    )


def _target_line(point: dict[str, Any]) -> float | None:
    """The target drawn on a series: an annual target only on a series of years (never against months or days)."""
    target = point.get("target") or {}
    return None if target.get("per") == "year" and not point["period"].startswith("year:") else target.get("value")


_BAR_SERIES = (("受理 opened", "opened"), ("办结 closed", "closed"), ("积压 backlog", "backlog"))


@router.get("/scorecard/stream", summary="Live indicator changes of a region (relayed from the metrics push stream)")
async def scorecard_stream(request: Request, region: RegionQ = None, period: PeriodQ = "year") -> EventSourceResponse:
    up, settings = _up(request), _settings(request)
    region = region or settings.default_region

    async def events() -> AsyncIterator[dict[str, str]]:
        while True:
            try:
                async for event, data in up.stream("metrics", f"/regions/{region}/stream"):
                    if event == "indicator":
                        item = parse_json(data)
                        if item is not None:
                            yield {"event": "indicator", "data": json.dumps(await _for_period(up, item, region,
                                                                                               period))}  # fmt: skip
                    elif event == "ping":
                        yield {"event": "status", "data": json.dumps({"state": "live"})}
                yield {"event": "status", "data": json.dumps({"state": "reconnecting", "reason": "stream ended"})}
            except Unavailable as exc:
                yield {"event": "status", "data": json.dumps({"state": "unavailable", "reason": exc.reason})}
            if await request.is_disconnected():
                return
            await asyncio.sleep(RETRY_SECONDS)

    async def with_hello() -> AsyncIterator[dict[str, str]]:
        yield {"event": "status", "data": json.dumps({"state": "live"})}
        async for e in events():
            yield e

    return EventSourceResponse(with_hello(), ping=10)


async def _for_period(up: Upstream, item: dict[str, Any], region: str, period: str) -> dict[str, Any]:
    """The metrics stream pushes calendar cells (`day:`, `month:`, `year:`); a window card is re-read on change."""
    if not period.startswith("last-") or not str(item.get("period", "")).startswith("day:"):
        return item
    fresh = await handlers.try_get(up, "metrics", f"/indicators/{item['indicator']}", {"region": region,
                                                                                      "period": period})  # fmt: skip
    return fresh if fresh is not None else item


@router.get("/trace", response_class=HTMLResponse, summary="案件追踪: a case's steps across departments")
async def trace(
    request: Request, q: Annotated[str | None, Query(min_length=1, max_length=128, pattern=r"^[^\s/]+$")] = None
) -> HTMLResponse:
    if not q:
        return HTMLResponse(pages.trace_page(query=""))
    up, settings = _up(request), _settings(request)
    try:
        # one path segment whatever was typed: no `?`, `#`, control character or `..` reaches the upstream URL
        timeline = await up.get("metrics", f"/cases/{quote(q, safe='').replace('.', '%2E')}/timeline")
    except Rejected as exc:
        return HTMLResponse(pages.trace_page(query=q, not_found=exc.detail), status_code=404)
    except Unavailable as exc:
        return HTMLResponse(pages.trace_page(query=q, down=exc.reason), status_code=502)
    ids = await asyncio.to_thread(trace_ids_for_steps, Path(settings.trace_path), timeline["steps"])
    return HTMLResponse(pages.trace_page(query=q, timeline=timeline, trace_ids=ids, zipkin=settings.zipkin_base))


@router.get("/traces/{trace_id}", response_class=HTMLResponse, summary="The spans of one OpenTelemetry trace")
async def trace_spans(request: Request, trace_id: Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$")]) -> HTMLResponse:
    path = Path(_settings(request).trace_path)
    spans = await asyncio.to_thread(spans_of, path, trace_id)
    return HTMLResponse(pages.spans_page(trace_id, spans, str(path)), status_code=200 if spans else 404)


@router.get("/worklists", response_class=HTMLResponse, summary="工作清单: overdue and due-soon items per department")
async def worklists(request: Request, days: Annotated[int | None, Query(ge=1, le=30)] = None) -> HTMLResponse:
    settings = _settings(request)
    horizon = days or settings.due_soon_days
    sections = await handlers.worklists(_up(request), horizon)
    return HTMLResponse(pages.worklists_page(sections, horizon))
