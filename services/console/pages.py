"""HTML of the console's pages as plain functions (no template engine is installed; every value is escaped here).

Each function takes the data a route gathered and returns a complete page. Labels are bilingual (中文 / English);
indicator names come from the metrics catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import urlencode

from services.console import regions

PERIODS = {
    "day": "今日 today",
    "month": "本月 this month",
    "year": "本年 this year",
    "last-24h": "近24小时 last 24 h",
    "last-7d": "近7日 last 7 days",
}
DEPARTMENT_NAMES = {
    "intake": "综合受理 Intake",
    "legal_aid": "法律援助 Legal aid",
    "mediation": "人民调解 Mediation",
    "notary": "公证 Notary",
    "partner": "政法机关 Partners",
    "metrics": "指标 Metrics",
}
STATUS_LABELS = {
    "met": "达标 met",
    "not_met": "未达标 not met",
    "no_data": "无数据 no data",
    "no_target": "无目标 no target",
    "pending": "进行中 pending",
    "missed": "逾期 missed",
    "due": "将届 due",
}


def fmt_value(v: float | None) -> str:
    """The same rule as `fmtValue` in static/console.js, so a live update looks like a reload."""
    if v is None:
        return "—"
    return f"{v:.2f}".rstrip("0").rstrip(".")


def dept_label(dept: str) -> str:
    return DEPARTMENT_NAMES.get(dept, dept)


def _when(iso: str | None) -> str:
    if not iso:
        return "—"
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def layout(title: str, body: str, *, active: str, data: Mapping[str, str] | None = None) -> str:
    nav = "".join(
        f'<a href="{href}"{" class=active" if key == active else ""}>{label}</a>'
        for key, href, label in (
            ("scorecard", "/scorecard", "指标 Scorecard"),
            ("trace", "/trace", "案件追踪 Case trace"),
            ("worklists", "/worklists", "工作清单 Worklists"),
        )
    )
    attrs = "".join(f' data-{k}="{escape(v)}"' for k, v in (data or {}).items())
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)} · caseflow</title>'
        '<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/console.css">'
        '<script src="/static/console.js" defer></script></head>'
        f"<body{attrs}><header><strong>caseflow 公共法律服务运营监控台</strong><nav>{nav}</nav></header>"
        f"<main>{body}</main></body></html>"
    )


def unavailable(what: str, reason: str) -> str:
    return f'<p class="unavailable">{escape(what)}: 暂不可用 unavailable ({escape(reason)})</p>'


# -- scorecard ------------------------------------------------------------------------------------------------
def _options(items: Sequence[tuple[str, str]], selected: str) -> str:
    return "".join(
        f'<option value="{escape(v)}"{" selected" if v == selected else ""}>{escape(label)}</option>'
        for v, label in items
    )


def _target(card: Mapping[str, Any]) -> str:
    t = card.get("target")
    return "—" if not t else f"{escape(t['op'])} {fmt_value(t['value'])}"


def scorecard_rows(cards: Sequence[Mapping[str, Any]], region: str, period: str, selected: str | None) -> str:
    rows = []
    for c in cards:
        key = f"{c['indicator']}|{c['period']}"
        link = "/scorecard?" + urlencode({"region": region, "period": period, "indicator": c["indicator"]})
        status = str(c["status"])
        rows.append(
            f'<tr class="card status-{escape(status)}{" selected" if c["indicator"] == selected else ""}" '
            f'data-key="{escape(key)}" data-indicator="{escape(c["indicator"])}">'
            f'<td><a href="{escape(link)}"><span class="zh">{escape(c["name_zh"])}</span><br>'
            f'<span class="en">{escape(c["name_en"])}</span></a></td>'
            f'<td class="value">{fmt_value(c["value"])}</td><td class="unit">{escape(c["unit"])}</td>'
            f'<td class="target">{_target(c)}</td>'
            f'<td><span class="status">{escape(STATUS_LABELS.get(status, status))}</span></td>'
            f'<td><span class="num">{fmt_value(c["numerator"])}</span> / <span class="den">'
            f"{fmt_value(c['denominator'])}</span></td>"
            f'<td class="period">{escape(c["period"])}</td>'
            f'<td class="reason">{escape(c.get("reason") or "")}</td></tr>'
        )
    return "".join(rows)


def scorecard_page(
    *,
    region: str,
    period: str,
    indicator: str | None,
    cards: Sequence[Mapping[str, Any]] | None,
    error: str | None,
    series_svg: str,
    bars_svg: str,
    drilldown: str,
) -> str:
    picker = (
        '<form class="pickers" method="get" action="/scorecard">'
        f'<label>区域 Region <select name="region">{_options([(r.code, r.label) for r in regions.pickable()], region)}'
        "</select></label>"
        f'<label>期间 Period <select name="period">{_options(list(PERIODS.items()), period)}</select></label>'
        + (f'<input type="hidden" name="indicator" value="{escape(indicator)}">' if indicator else "")
        + '<button type="submit">查看 Show</button></form>'
    )
    crumbs = " › ".join(
        f'<a href="/scorecard?{escape(urlencode({"region": r.code, "period": period}))}">{escape(r.label)}</a>'
        for r in regions.ancestors(region)
        if regions.level(r.code) != "province"
    )
    if cards is None:
        table = unavailable("指标 indicators", error or "unknown")
    else:
        table = (
            '<table id="scorecard"><thead><tr><th>指标 Indicator</th><th>值 Value</th><th>单位 Unit</th>'
            "<th>目标 Target</th><th>状态 Status</th><th>分子/分母 Num/Den</th><th>期间 Period</th><th></th>"
            f"</tr></thead><tbody>{scorecard_rows(cards, region, period, indicator)}</tbody></table>"
        )
    body = (
        f"<h1>指标看板 Scorecard</h1>{picker}<p class=crumbs>{crumbs}</p>"
        '<p id="live" class="live" data-state="connecting">实时 live: connecting…</p>'
        f'<div class="grid"><section>{table}</section><section class="charts">'
        f"<h2>趋势 Trend</h2>{series_svg}<h2>受理与积压 Throughput &amp; backlog</h2>{bars_svg}"
        f"<h2>区域下钻 Drill-down</h2>{drilldown}</section></div>"
    )
    stream = "/scorecard/stream?" + urlencode({"region": region, "period": period})
    return layout("指标看板 Scorecard", body, active="scorecard", data={"stream": stream})


def drilldown_table(
    rows: Sequence[tuple[regions.Region, Mapping[str, Any] | None]], *, indicator_name: str, period: str, bar
) -> str:  # type: ignore[no-untyped-def]
    if not rows:
        return '<p class="muted">最低一级 lowest level: no subdivisions</p>'
    values = [r[1]["value"] for r in rows if r[1] and r[1].get("value") is not None]
    top = max([*values, 0.0])
    body = "".join(
        f'<tr data-region="{escape(reg.code)}"><td><a href="/scorecard?'
        f'{escape(urlencode({"region": reg.code, "period": period}))}">{escape(reg.label)}</a></td>'
        f'<td class="value">{fmt_value(v["value"]) if v else "—"}</td>'
        f"<td>{bar(v['value'] if v else None, top)}</td>"
        f'<td class="status">{escape(STATUS_LABELS.get(v["status"], v["status"])) if v else "—"}</td></tr>'
        for reg, v in rows
    )
    return (
        f'<table id="drilldown"><caption>{escape(indicator_name)}</caption><thead><tr><th>区域 Region</th>'
        f"<th>值 Value</th><th></th><th>状态 Status</th></tr></thead><tbody>{body}</tbody></table>"
    )


# -- case trace -----------------------------------------------------------------------------------------------
def trace_page(
    *, query: str, timeline: Mapping[str, Any] | None, error: str | None, trace_ids: Mapping[int, str]
) -> str:
    form = (
        '<form class="pickers" method="get" action="/trace"><label>案件号 / 关联号 / 合作单位编号 '
        "Case id, correlation id or partner reference "
        f'<input name="q" value="{escape(query)}" required maxlength="128"></label>'
        '<button type="submit">追踪 Trace</button></form>'
    )
    if error:
        return layout("案件追踪 Case trace", f"<h1>案件追踪 Case trace</h1>{form}{error}", active="trace")
    if timeline is None:
        return layout("案件追踪 Case trace", f"<h1>案件追踪 Case trace</h1>{form}", active="trace")
    return layout("案件追踪 Case trace", f"<h1>案件追踪 Case trace</h1>{form}{_timeline(timeline, trace_ids)}",
                  active="trace")  # fmt: skip


def _timeline(tl: Mapping[str, Any], trace_ids: Mapping[int, str]) -> str:
    steps: list[Mapping[str, Any]] = tl["steps"]
    times = [datetime.fromisoformat(s["at"]) for s in steps]
    t0, t1 = (min(times), max(times)) if times else (None, None)
    span = (t1 - t0).total_seconds() if t0 and t1 else 0.0
    lanes: dict[str, list[tuple[int, Mapping[str, Any]]]] = {}
    for i, s in enumerate(steps):
        lanes.setdefault(s["department"], []).append((i, s))
    hours: Mapping[str, float] = tl.get("hours_in_department", {})
    lane_html = []
    for dept, items in lanes.items():
        chips = []
        for i, s in items:
            left = 0.0 if not span or t0 is None else 96 * (times[i] - t0).total_seconds() / span
            name = s["event_type"].rsplit(".", 1)[-1]
            chips.append(
                f'<span class="chip" style="left:{left:.1f}%" title="{escape(s["event_type"])} {escape(s["at"])}">'
                f"{escape(name)}</span>"
            )
        lane_html.append(
            f'<div class="lane" data-department="{escape(dept)}"><div class="lane-label">{escape(dept_label(dept))}'
            f'<br><small>{hours.get(dept, 0.0):.1f} h</small></div><div class="track">{"".join(chips)}</div></div>'
        )
    deadlines = "".join(
        f'<tr class="deadline status-{escape(d["status"])}"><td>{escape(d["name_zh"])}<br>'
        f'<span class="en">{escape(d["name_en"])}</span></td><td>{escape(d["case_id"])}</td>'
        f"<td>{_when(d['start'])}</td><td>{_when(d['due'])}</td><td>{_when(d.get('done_at'))}</td>"
        f'<td class="status">{escape(STATUS_LABELS.get(d["status"], d["status"]))}</td></tr>'
        for d in tl.get("deadlines", [])
    )
    rows = []
    for i, s in enumerate(steps):
        tid = trace_ids.get(i)
        trace = f'<a class="trace" href="/traces/{escape(tid)}">{escape(tid[:16])}…</a>' if tid else "—"
        rows.append(
            f'<tr class="step" data-department="{escape(s["department"])}"><td>{_when(s["at"])}</td>'
            f"<td>{escape(dept_label(s['department']))}</td><td>{escape(s['event_type'])}</td>"
            f"<td>{escape(s.get('actor') or '')}</td><td>{escape(s.get('subject') or '')}</td><td>{trace}</td></tr>"
        )
    facts = (
        f"<dl class=facts><dt>关联号 Correlation</dt><dd>{escape(tl['correlation_id'])}</dd>"
        f"<dt>区域 Region</dt><dd>{escape(regions.get(tl['region']).label if tl.get('region') else '—')}</dd>"
        f"<dt>渠道 Channel</dt><dd>{escape(tl.get('channel') or '—')}</dd>"
        f"<dt>案件号 Case ids</dt><dd>{escape(', '.join(tl.get('case_ids', [])))}</dd>"
        f"<dt>合作单位编号 Partner refs</dt><dd>{escape(', '.join(tl.get('partner_references', [])) or '—')}</dd></dl>"
    )
    return (
        f'<section id="timeline">{facts}<h2>泳道 Swimlanes</h2><div class="lanes">{"".join(lane_html)}</div>'
        "<h2>期限 Deadlines</h2>"
        + (
            '<table id="deadlines"><thead><tr><th>期限 Deadline</th><th>案件 Case</th><th>起算 Start</th>'
            f"<th>届满 Due</th><th>完成 Done</th><th>状态 Status</th></tr></thead><tbody>{deadlines}</tbody></table>"
            if deadlines
            else '<p class="muted">无期限 no deadlines</p>'
        )
        + '<h2>步骤 Steps</h2><table id="steps"><thead><tr><th>时间 Time</th><th>部门 Department</th>'
        "<th>事件 Event</th><th>操作者 Actor</th><th>案件 Case</th><th>Trace</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def spans_page(trace_id: str, spans: Sequence[Mapping[str, Any]], source: str) -> str:
    if not spans:
        body = f'<p class="muted">此 trace 无记录 no spans recorded for this trace (looked in {escape(source)})</p>'
        return layout("Trace", f"<h1>Trace {escape(trace_id)}</h1>{body}", active="trace")
    t0 = min(int(s["start"]) for s in spans)
    t1 = max(int(s.get("end") or s["start"]) for s in spans)
    total = max(t1 - t0, 1)
    rows = []
    for s in sorted(spans, key=lambda s: int(s["start"])):
        start, end = int(s["start"]), int(s.get("end") or s["start"])
        case = str((s.get("attributes") or {}).get("caseflow.case_id", ""))
        rows.append(
            f'<tr class="span"><td>{escape(str(s.get("service") or ""))}</td><td>{escape(str(s["name"]))}</td>'
            f"<td>{(start - t0) / 1e6:.1f}</td><td>{(end - start) / 1e6:.1f}</td>"
            f'<td><div class="wf"><div style="margin-left:{100 * (start - t0) / total:.1f}%;'
            f'width:{max(100 * (end - start) / total, 0.5):.1f}%"></div></div></td><td>{escape(case)}</td></tr>'
        )
    body = (
        f'<table id="spans"><thead><tr><th>服务 Service</th><th>Span</th><th>start ms</th><th>ms</th><th></th>'
        f"<th>案件 Case</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return layout("Trace", f"<h1>Trace {escape(trace_id)}</h1>{body}", active="trace")


# -- worklists ------------------------------------------------------------------------------------------------
def worklists_page(sections: Sequence[tuple[str, Sequence[Mapping[str, Any]] | None, str | None]], days: int) -> str:
    parts = []
    for dept, items, error in sections:
        head = f'<section class="worklist" data-department="{escape(dept)}"><h2>{escape(dept_label(dept))}</h2>'
        if items is None:
            parts.append(head + unavailable(dept, error or "unknown") + "</section>")
            continue
        if not items:
            parts.append(head + '<p class="muted">无逾期或将届事项 nothing overdue or due soon</p></section>')
            continue
        rows = "".join(
            f'<tr class="item {escape(i["state"])}">'
            f"<td>{'逾期 overdue' if i['state'] == 'overdue' else '将届 due soon'}</td>"
            f'<td><a href="/trace?{escape(urlencode({"q": i["id"]}))}">{escape(i["id"])}</a></td>'
            f"<td>{escape(i.get('what') or '')}</td><td>{escape(i.get('status') or '')}</td>"
            f"<td>{escape(regions.get(i['region']).label if i.get('region') else '—')}</td>"
            f"<td>{_when(i.get('due'))}</td></tr>"
            for i in items
        )
        parts.append(
            head + "<table><thead><tr><th></th><th>编号 Id</th><th>事项 Item</th><th>状态 Status</th>"
            f"<th>区域 Region</th><th>期限 Due</th></tr></thead><tbody>{rows}</tbody></table></section>"
        )
    body = f"<h1>工作清单 Worklists</h1><p class=muted>逾期及{days}日内将届 overdue and due within {days} days</p>"
    return layout("工作清单 Worklists", body + "".join(parts), active="worklists")
