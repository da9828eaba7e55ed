"""The console's pages: each function takes the data a route gathered and renders its template (`templates/`).

Labels are bilingual (中文 / English); indicator names come from the metrics catalogue. Only the view data is
computed here (picker options, swimlane positions, span offsets); the markup and its escaping are Jinja2's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup

from services.console import charts, regions
from services.console.rendering import held_for, render, when

PERIODS = {
    "day": "今日 today",
    "month": "本月 this month",
    "year": "本年 this year",
    "last-24h": "近24小时 last 24 h",
    "last-7d": "近7日 last 7 days",
}


@dataclass(frozen=True)
class DrilldownRow:
    region: regions.Region
    card: Mapping[str, Any] | None
    bar: Markup


@dataclass(frozen=True)
class Charts:
    """The charts of the selected indicator; `series` is None when the indicator has no series."""

    series: Markup | None
    bars: Markup
    indicator_name: str
    drilldown: Sequence[DrilldownRow]
    #: the indicator per department (e.g. 群众满意率 of every service, seed 004): (department, card or None)
    by_department: Sequence[tuple[str, Mapping[str, Any] | None]] = ()

    @classmethod
    def of(
        cls,
        *,
        series: Markup | None,
        bars: Markup,
        indicator_name: str,
        drilldown: Sequence[tuple[regions.Region, Mapping[str, Any] | None]],
        by_department: Sequence[tuple[str, Mapping[str, Any] | None]] = (),
    ) -> Charts:
        values = [v["value"] for _, v in drilldown if v and v.get("value") is not None]
        top = max([*values, 0.0])
        rows = [DrilldownRow(r, v, charts.hbar(v["value"] if v else None, top)) for r, v in drilldown]
        return cls(series, bars, indicator_name, rows, by_department)


# -- scorecard ------------------------------------------------------------------------------------------------
def scorecard_page(
    *,
    region: str,
    period: str,
    indicator: str | None,
    cards: Sequence[Mapping[str, Any]] | None,
    error: str | None,
    charts: Charts | None,
    villages: Mapping[str, Any] | None = None,
) -> str:
    """`cards` None: the metrics service did not answer (`error` says why); `charts` None: no charts to show;
    `villages`: the region's villages against their advisor-hours requirement (month and year only)."""
    return render(
        "scorecard.html",
        region=region,
        period=period,
        indicator=indicator,
        cards=cards,
        error=error,
        charts=charts,
        villages=villages,
        region_options=[(r.code, r.label) for r in regions.pickable()],
        period_options=list(PERIODS.items()),
        crumbs=[r for r in regions.ancestors(region) if regions.level(r.code) != "province"],
        body_data={"stream": "/scorecard/stream?" + urlencode({"region": region, "period": period})},
    )


def cities_page(*, period: str, cities: Sequence[Mapping[str, Any]] | None, error: str | None) -> str:
    """Every indicator (rows) of every reference city (columns) with its target and status; `cities` None: the
    metrics service did not answer."""
    rows = []
    if cities:
        for i, first in enumerate(cities[0]["cards"]):
            cards = [c["cards"][i] for c in cities]
            rows.append({"indicator": first["indicator"], "name_zh": first["name_zh"], "name_en": first["name_en"],
                         "cards": cards})  # fmt: skip
    return render("cities.html", period=period, cities=cities, rows=rows, error=error,
                  period_options=list(PERIODS.items()))  # fmt: skip


# -- case trace -----------------------------------------------------------------------------------------------
def trace_page(
    *,
    query: str,
    timeline: Mapping[str, Any] | None = None,
    trace_ids: Mapping[int, str] | None = None,
    not_found: str | None = None,
    down: str | None = None,
    zipkin: str | None = None,
) -> str:
    """The search form, then the case's timeline, or why there is none (`not_found`, or metrics `down`); each step
    links to its trace in Zipkin when `zipkin` (its base URL) is given, else to the console's own span view."""
    return render(
        "trace.html",
        query=query,
        timeline=timeline,
        trace_ids=trace_ids or {},
        zipkin=zipkin,
        not_found=not_found,
        down=down,
        lanes=_lanes(timeline) if timeline is not None else [],
    )


TRACK_PX = 1000  # the swimlane track's least width (`.track` in static/console.css): wider pages stretch it
CHIP_ROW_REM = 1.5  # height of one row of chips in a lane


def chip_width(name: str) -> float:
    """A step's chip width in percent of the narrowest track: its .75rem text and its padding, generously."""
    return 100 * (len(name) * 7.2 + 14) / TRACK_PX


def _lanes(tl: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One swimlane per department, in order of first appearance, each step placed on the shared time axis. A chip
    that would overlap the one before it in its lane goes one row down, and no chip runs past the track's end."""
    steps: Sequence[Mapping[str, Any]] = tl["steps"]
    times = [datetime.fromisoformat(s["at"]) for s in steps]
    t0, t1 = (min(times), max(times)) if times else (None, None)
    span = (t1 - t0).total_seconds() if t0 and t1 else 0.0
    hours: Mapping[str, float] = tl.get("hours_in_department", {})
    lanes: dict[str, dict[str, Any]] = {}
    ends: dict[str, list[float]] = {}  # per lane: where each row of chips ends (percent of the track)
    for at, s in sorted(zip(times, steps, strict=True), key=lambda p: p[0]):
        dept = s["department"]
        lane = lanes.setdefault(dept, {"department": dept, "held": held_for(hours.get(dept, 0.0)), "chips": []})
        name = s["event_type"].rsplit(".", 1)[-1]
        width = chip_width(name)
        left = 0.0 if not span or t0 is None else 100 * (at - t0).total_seconds() / span
        left = max(min(left, 100 - width), 0.0)
        rows = ends.setdefault(dept, [])
        row = next((i for i, end in enumerate(rows) if end <= left), len(rows))
        rows[row : row + 1] = [left + width + 0.5]
        lane["chips"].append({"left": f"{left:.1f}", "top": f"{0.3 + row * CHIP_ROW_REM:.1f}", "name": name,
                              "title": f"{s['event_type']} {when(s['at'])}"})  # fmt: skip
        lane["height"] = f"{0.6 + len(rows) * CHIP_ROW_REM:.1f}"
    return list(lanes.values())


def spans_page(trace_id: str, spans: Sequence[Mapping[str, Any]], source: str) -> str:
    rows = []
    if spans:
        t0 = min(int(s["start"]) for s in spans)
        total = max(max(int(s.get("end") or s["start"]) for s in spans) - t0, 1)
        for s in sorted(spans, key=lambda s: int(s["start"])):
            start, end = int(s["start"]), int(s.get("end") or s["start"])
            rows.append({
                "service": str(s.get("service") or ""), "name": str(s["name"]),
                "offset": f"{(start - t0) / 1e6:.1f}", "duration": f"{(end - start) / 1e6:.1f}",
                "margin": f"{100 * (start - t0) / total:.1f}", "width": f"{max(100 * (end - start) / total, 0.5):.1f}",
                "case": str((s.get("attributes") or {}).get("caseflow.case_id", "")),
            })  # fmt: skip
    return render("spans.html", trace_id=trace_id, rows=rows, source=source)


# -- worklists ------------------------------------------------------------------------------------------------
def worklists_page(sections: Sequence[tuple[str, Sequence[Mapping[str, Any]] | None, str | None]], days: int) -> str:
    return render("worklists.html", sections=sections, days=days)


# -- sign-in --------------------------------------------------------------------------------------------------
def login_page(next_url: str, error: str | None = None) -> str:
    return render("login.html", next_url=next_url, error=error)
