"""The console's one Jinja2 environment: every page and chart is a template under `templates/`, autoescaped.

Values reach the markup only through templates, so every string from a service (case fields, indicator names, a
department's answer, a recorded span) is escaped by Jinja2; `Markup` is what a rendered template returns.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from services.console import regions
from services.metrics.periods import CHINA

STATUS_LABELS = {
    "met": "达标 met",
    "not_met": "未达标 not met",
    "no_data": "无数据 no data",
    "no_target": "无目标 no target",
    "not_judged": "按年考核 judged on the year",
    "under_target": "未达标 under target",
    "pending": "进行中 pending",
    "missed": "逾期 missed",
    "due": "将届 due",
}
DEPARTMENT_NAMES = {
    "intake": "综合受理 Intake",
    "legal_aid": "法律援助 Legal aid",
    "mediation": "人民调解 Mediation",
    "notary": "公证 Notary",
    "partner": "协作单位 Partners",  # court, police, procuratorate, petition office, 12345, 110
    "metrics": "指标 Metrics",
}


def fmt_value(v: float | None) -> str:
    """The same rule as `fmtValue` in static/console.js, so a live update looks like a reload."""
    if v is None:
        return "—"
    return f"{v:.2f}".rstrip("0").rstrip(".")


def dept_label(dept: str) -> str:
    return DEPARTMENT_NAMES.get(dept, dept)


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def when(iso: str | None) -> str:
    """A timestamp in China time with the zone shown (`2026-12-04 16:05 CST (UTC+8)`, the time the periods count
    in; one without a zone is UTC, as the services write them); a bare date (a China date) and anything that is not
    a timestamp are shown as they came."""
    if not iso:
        return "—"
    try:
        at = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if len(iso) == 10:
        return iso
    local = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(CHINA)
    return local.strftime("%Y-%m-%d %H:%M CST (UTC+8)")


def held_for(hours: float) -> str:
    """How long a department held a case, in minutes or hours as fits: `<1 min`, `12 min`, `3.4 h`."""
    minutes = hours * 60
    if minutes < 1:
        return "<1 min"
    if round(minutes) < 60:
        return f"{minutes:.0f} min"
    return f"{hours:.1f} h"


def region_label(code: str | None) -> str:
    return regions.get(code).label if code else "—"


def query(**params: Any) -> str:
    return urlencode(params)


ENV = Environment(
    loader=PackageLoader("services.console", "templates"),
    autoescape=select_autoescape(["html", "svg"]),  # the charts are SVG templates: escaped like the pages
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters.update(
    fmt_value=fmt_value, when=when, dept_label=dept_label, status_label=status_label, region_label=region_label,
    held_for=held_for,
)  # fmt: skip
ENV.globals.update(query=query)


def render(name: str, /, **context: Any) -> Markup:
    return Markup(ENV.get_template(name).render(**context))
