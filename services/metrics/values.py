"""Indicator values (指标值): one aggregate cell read as an indicator's value, its target and whether it is met.

Each indicator kind reads the cell its own way (a percentage, per 100,000 residents, growth on the same period
last year, villages with an advisor, advisor hours per village, villages given their required hours, advisors'
qualifications, cases closed); the target comes from the region's city profile, else the national default. An
annual target is judged on a year's value (annualised, and labelled so, while the year runs), never on a shorter
period's. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, NamedTuple

from services.metrics.catalogue import REFERENCE_KINDS, Catalogue, Indicator, IndicatorKind, Target
from services.metrics.reference import MissingPopulation, Reference

Status = Literal["met", "not_met", "no_data", "no_target", "not_judged"]
Cell = tuple[float, float, float]  # numerator, denominator, amount
#: separates an indicator id from its histogram bucket in a pseudo-indicator id (`throughput~7`)
HISTOGRAM = "~"
#: handling-time buckets (upper edges, hours) of the throughput histogram the median is read from
HANDLING_EDGES = (0.25, 0.5, 1, 2, 4, 8, 12, 24, 48, 72, 120, 168, 240, 360, 720, 1440, 2160, 4320, 8760, math.inf)


@dataclass(frozen=True)
class Period:
    """Where a value's period stands: its kind and the share of it elapsed at evaluation (1.0 once over)."""

    kind: str
    elapsed: float = 1.0


@dataclass(frozen=True)
class Value:
    indicator: str
    region: str
    period: str
    dimension: str
    value: float | None
    numerator: float
    denominator: float
    unit: str
    target: Target | None
    status: Status
    reason: str | None = None
    extra: dict[str, float] = field(default_factory=dict)
    target_from: str | None = None  # the city profile whose target holds, or "default" (national)
    annualised: bool = False  # the value judged is the year-to-date value scaled to a whole year


def evaluate(
    ind: Indicator,
    region: str,
    period: str,
    dimension: str,
    cell: Cell,
    *,
    catalogue: Catalogue,
    reference: Reference,
    defined: bool,
    previous: Cell | None = None,
    parts: Mapping[str, float] | None = None,
    when: Period | None = None,
) -> Value:
    """Value, target and status of one indicator cell. `defined`: all its event types exist on the platform;
    `parts`: the per-village hours (advisor_villages) or the handling-time histogram (throughput)."""
    target, origin = catalogue.target_of(ind, region)
    when = when or Period(period.partition(":")[0])
    ctx = _Context(region, reference, previous, parts or {}, catalogue, ind, when)
    base = Value(ind.id, region, period, dimension, None, 0.0, 0.0, ind.unit, target, "no_data", target_from=origin)
    try:
        r = _READINGS[ind.kind](cell, ctx)
    except MissingPopulation as exc:
        return _with(base, numerator=cell[0], reason=str(exc))
    if not defined and ind.kind not in REFERENCE_KINDS:  # those read reference data, not events
        return _with(base, reason="events not defined")
    found = _with(base, value=r.value, numerator=r.num, denominator=r.den, extra=r.extra)
    if r.value is None or math.isnan(r.value):
        return _with(found, value=None, reason=r.reason)
    if target is None:
        return _with(found, status="no_target")
    judged = r.value
    if target.per == "year":
        if when.kind != "year":
            return _with(found, status="not_judged", reason="an annual target: judged on the year's value")
        if when.elapsed < 1.0 and ind.kind in _ANNUALISABLE:
            judged = _READINGS[ind.kind](_scaled(cell, 1 / when.elapsed), ctx).value or 0.0
            found = _with(found, annualised=True, extra={**found.extra, "annualised": judged})
    return _with(found, status="met" if target.met(judged) else "not_met")


def _with(v: Value, **changes: Any) -> Value:
    return replace(v, **changes)


def _scaled(cell: Cell, factor: float) -> Cell:
    return cell[0] * factor, cell[1], cell[2] * factor


class _Context(NamedTuple):
    region: str
    reference: Reference
    previous: Cell | None
    parts: Mapping[str, float]
    catalogue: Catalogue
    indicator: Indicator
    when: Period


class _Reading(NamedTuple):
    """What one kind makes of a cell: the value (None: no data, and why), and the numerator and denominator shown."""

    value: float | None
    num: float
    den: float
    reason: str | None
    extra: dict[str, float]


def _ratio(cell: Cell, ctx: _Context) -> _Reading:
    """ratio and deadline kinds: a percentage of the denominator."""
    num, den, _ = cell
    return _Reading(100.0 * num / den if den else None, num, den, None if den else "zero denominator", {})


def _per_population(cell: Cell, ctx: _Context) -> _Reading:
    """Per 100,000 residents (none granted reads 0); raises `MissingPopulation` for a region with no census
    figure."""
    num, den = cell[0], float(ctx.reference.population_of(ctx.region))
    return _Reading(num / den * 100_000, num, den, None, {})


def _growth(cell: Cell, ctx: _Context) -> _Reading:
    """Percent change on the same period a year earlier."""
    num, prev = cell[0], ctx.previous[0] if ctx.previous else 0.0
    value = 100.0 * (num / prev - 1) if prev else None
    return _Reading(value, num, prev, None if value is not None else "no volume in the same period last year", {})


def _advisor_coverage(cell: Cell, ctx: _Context) -> _Reading:
    """Villages under the region with a legal advisor (村居法律顾问), from reference data, not events."""
    villages = ctx.reference.villages_under(ctx.region)
    den = float(len(villages))
    num = float(sum(1 for v in villages if ctx.reference.villages[v]))
    return _Reading(100.0 * num / den if den else None, num, den,
                    None if den else "no villages on record under this region", {})  # fmt: skip


def _advisor_qualification(cell: Cell, ctx: _Context) -> _Reading:
    """Villages whose advisor is of a qualifying kind (lawyer, grassroots legal worker) ÷ villages with an advisor."""
    ref = ctx.reference
    advised = [v for v in ref.villages_under(ctx.region) if ref.villages[v]]
    num = float(sum(1 for v in advised if ref.kinds.get(v) in ctx.indicator.qualified))
    den = float(len(advised))
    return _Reading(100.0 * num / den if den else None, num, den, None if den else "no advisors on record", {})


def _advisor_hours(cell: Cell, ctx: _Context) -> _Reading:
    """Hours of advisor service logged per village under the region (none logged reads 0)."""
    num, den = cell[2], float(len(ctx.reference.villages_under(ctx.region)))
    return _Reading(num / den if den else None, num, den, None if den else "no villages on record", {})


def _advisor_villages(cell: Cell, ctx: _Context) -> _Reading:
    """Villages given at least their required hours in the period ÷ villages: each village judged on its own
    hours (`parts`), so one under target shows however many others are over. While the period runs, the
    requirement is pro rata of the part elapsed."""
    hours = ctx.catalogue.village_hours(ctx.indicator, ctx.region)
    required = hours.required(ctx.when.kind)
    villages = ctx.reference.villages_under(ctx.region)
    if required is None or not villages:
        return _Reading(None, 0.0, float(len(villages)), "no villages on record" if required else
                        f"no per-village requirement for a {ctx.when.kind}", {})  # fmt: skip
    so_far = required * ctx.when.elapsed
    under = village_shortfalls(villages, ctx.parts, so_far)
    den = float(len(villages))
    extra = {"villages_under_target": float(len(under)), "required_hours": required, "required_hours_so_far": so_far}
    return _Reading(100.0 * (den - len(under)) / den, den - len(under), den, None, extra)


def village_shortfalls(villages: list[str], hours: Mapping[str, float], required: float) -> list[str]:
    """The villages whose hours fall short of `required`, in code order."""
    return sorted(v for v in villages if hours.get(v, 0.0) + 1e-9 < required)


def _throughput(cell: Cell, ctx: _Context) -> _Reading:
    """Cases closed (none reads 0), with opened, backlog, and mean and median handling hours beside."""
    closed, opened, hours = cell
    extra = {"opened": opened, "closed": closed, "backlog": opened - closed}
    if closed:
        extra["mean_handling_hours"] = hours / closed
    median = median_of_histogram(ctx.parts)
    if median is not None:
        extra["median_handling_hours"] = median
    return _Reading(closed, closed, opened, None, extra)


def handling_bucket(hours: float) -> int:
    """The histogram bucket of a handling time: the first edge it does not exceed."""
    return next(i for i, edge in enumerate(HANDLING_EDGES) if hours <= edge)


def median_of_histogram(counts: Mapping[str, float]) -> float | None:
    """The median handling time from bucket counts (`{bucket index: cases}`), interpolated inside its bucket;
    the open last bucket reads as its lower edge."""
    total = sum(counts.values())
    if total <= 0:
        return None
    half, seen = total / 2, 0.0
    for i, upper in enumerate(HANDLING_EDGES):
        n = counts.get(str(i), 0.0)
        if n > 0 and seen + n >= half:
            lower = HANDLING_EDGES[i - 1] if i else 0.0
            return lower if math.isinf(upper) else lower + (upper - lower) * (half - seen) / n
        seen += n
    return None


_ANNUALISABLE = ("per_population", "advisor_hours", "growth")
_READINGS: dict[IndicatorKind, Callable[[Cell, _Context], _Reading]] = {
    "ratio": _ratio,
    "deadline": _ratio,
    "per_population": _per_population,
    "growth": _growth,
    "advisor_coverage": _advisor_coverage,
    "advisor_qualification": _advisor_qualification,
    "advisor_hours": _advisor_hours,
    "advisor_villages": _advisor_villages,
    "throughput": _throughput,
}
