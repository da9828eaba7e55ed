"""Indicator values (指标值): one aggregate cell read as an indicator's value, its target and whether it is met.

Each indicator kind reads the cell its own way (a percentage, per 100,000 residents, growth on the same period
last year, villages with an advisor, advisor hours per village, cases closed); the target comes from the region's
city profile. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from services.metrics.catalogue import Catalogue, Indicator, IndicatorKind, Target
from services.metrics.reference import MissingPopulation, Reference

Status = Literal["met", "not_met", "no_data", "no_target"]
Cell = tuple[float, float, float]  # numerator, denominator, amount


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
) -> Value:
    """Value, target and status of one indicator cell. `defined`: all its event types exist on the platform."""
    target = catalogue.target(ind, region)
    try:
        r = _READINGS[ind.kind](cell, region, reference, previous)
    except MissingPopulation as exc:
        return Value(ind.id, region, period, dimension, None, cell[0], 0.0, ind.unit, target, "no_data", str(exc))
    if not defined and ind.kind != "advisor_coverage":  # coverage reads reference data, not events
        return Value(
            ind.id, region, period, dimension, None, 0.0, 0.0, ind.unit, target, "no_data", "events not defined"
        )
    if r.value is None or math.isnan(r.value):
        return Value(ind.id, region, period, dimension, None, r.num, r.den, ind.unit, target, "no_data", r.reason,
                     r.extra)  # fmt: skip
    if target is None:
        return Value(ind.id, region, period, dimension, r.value, r.num, r.den, ind.unit, None, "no_target", None,
                     r.extra)  # fmt: skip
    status: Status = "met" if target.met(r.value) else "not_met"
    return Value(ind.id, region, period, dimension, r.value, r.num, r.den, ind.unit, target, status, None, r.extra)


class _Reading(NamedTuple):
    """What one kind makes of a cell: the value (None: no data, and why), and the numerator and denominator shown."""

    value: float | None
    num: float
    den: float
    reason: str | None
    extra: dict[str, float]


def _ratio(cell: Cell, region: str, reference: Reference, previous: Cell | None) -> _Reading:
    """ratio and deadline kinds: a percentage of the denominator."""
    num, den, _ = cell
    return _Reading(100.0 * num / den if den else None, num, den, None if den else "zero denominator", {})


def _per_population(cell: Cell, region: str, reference: Reference, previous: Cell | None) -> _Reading:
    """Per 100,000 residents; raises `MissingPopulation` for a region with no census figure."""
    num, den = cell[0], float(reference.population_of(region))
    return _Reading(num / den * 100_000 if num else None, num, den, None if num else "no granted cases", {})


def _growth(cell: Cell, region: str, reference: Reference, previous: Cell | None) -> _Reading:
    """Percent change on the same period a year earlier."""
    num, prev = cell[0], previous[0] if previous else 0.0
    value = 100.0 * (num / prev - 1) if prev and num else None
    return _Reading(value, num, prev, None if value is not None else "no volume in this or the same period last year",
                    {})  # fmt: skip


def _advisor_coverage(cell: Cell, region: str, reference: Reference, previous: Cell | None) -> _Reading:
    """Villages under the region with a legal advisor (村居法律顾问), from reference data, not events."""
    villages = reference.villages_under(region)
    den = float(len(villages))
    num = float(sum(1 for v in villages if reference.villages[v]))
    return _Reading(100.0 * num / den if den else None, num, den,
                    None if den else "no villages on record under this region", {})  # fmt: skip


def _advisor_hours(cell: Cell, region: str, reference: Reference, previous: Cell | None) -> _Reading:
    """Hours of advisor service logged per village under the region."""
    num, den = cell[2], float(len(reference.villages_under(region)))
    value = num / den if den and num else None
    reason = None if value is not None else ("no villages on record" if not den else "no service logged")
    return _Reading(value, num, den, reason, {})


def _throughput(cell: Cell, region: str, reference: Reference, previous: Cell | None) -> _Reading:
    """Cases closed, with opened, backlog and mean handling hours beside."""
    closed, opened, hours = cell
    value = closed if (closed or opened) else None
    extra = {"opened": opened, "closed": closed, "backlog": opened - closed}
    if closed:
        extra["mean_handling_hours"] = hours / closed
    return _Reading(value, closed, opened, None if value is not None else "no cases", extra)


_READINGS: dict[IndicatorKind, Callable[[Cell, str, Reference, Cell | None], _Reading]] = {
    "ratio": _ratio,
    "deadline": _ratio,
    "per_population": _per_population,
    "growth": _growth,
    "advisor_coverage": _advisor_coverage,
    "advisor_hours": _advisor_hours,
    "throughput": _throughput,
}
