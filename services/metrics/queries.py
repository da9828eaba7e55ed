"""The read side of the metrics engine: checking what a query names, and the values, scorecards, series, village
hours, timelines and progress it answers from the aggregates and the cases. Pure; `MetricsEngine` holds the state."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.metrics.aggregates import Aggregates
from services.metrics.catalogue import Catalogue, DeadlineRule, Indicator
from services.metrics.fold import CaseState
from services.metrics.periods import (
    ALL_PERIODS,
    WINDOW_HOURS,
    current_period,
    elapsed_share,
    parse_period,
    previous_year,
)
from services.metrics.reference import Reference
from services.metrics.settled_store import SettledCases
from services.metrics.timeline import progress_of, timeline_of
from services.metrics.values import HANDLING_EDGES, HISTOGRAM, Cell, Period, Value, evaluate, village_shortfalls
from shared.contracts.common import region_ancestors
from shared.errors import NotFound, ValidationFailed


class EngineQueries:
    """Queries over an engine's state (`MetricsEngine` inherits them)."""

    catalogue: Catalogue
    reference: Reference
    indicators: dict[str, Indicator]
    known_types: set[str]
    aggregates: Aggregates
    regions_seen: set[str]
    cases: dict[str, CaseState]
    settled: SettledCases | None
    aliases: dict[str, str]
    _deadlines: dict[str, DeadlineRule]

    # -- validation -------------------------------------------------------------------------------------------
    def indicator(self, indicator_id: str) -> Indicator:
        ind = self.indicators.get(indicator_id)
        if ind is None:
            raise NotFound(f"unknown indicator {indicator_id!r}", field="indicator")
        return ind

    def check_region(self, region: str) -> str:
        if len(region) != 12 or not region.isdigit():
            raise ValidationFailed(f"region {region!r} is not a 12-digit division code", field="region")
        known = set(self.reference.population) | set(self.reference.villages)
        if region in known or any(
            region in region_ancestors(r) for r in (*self.regions_seen, *self.reference.villages)
        ):
            return region
        raise NotFound(f"unknown region {region!r}", field="region")

    def check_period(self, ind: Indicator, period: str) -> str:
        try:
            kind, key = parse_period(period)
        except ValueError as exc:
            raise ValidationFailed(str(exc), field="period") from None
        if kind not in ind.periods:
            raise ValidationFailed(f"indicator {ind.id} has no {kind} period (has {list(ind.periods)})", field="period")
        return key

    def defined(self, ind: Indicator) -> bool:
        """All the event types the indicator's rules name exist on the platform (registered contracts)."""
        return ind.event_types(self._deadlines) <= self.known_types

    # -- queries ----------------------------------------------------------------------------------------------
    def value(self, indicator_id: str, region: str, period: str, now: datetime, dimension: str = "*") -> Value:
        ind = self.indicator(indicator_id)
        self.check_region(region)
        key = self.check_period(ind, period)
        return self._value(ind, region, key, dimension, now)

    def _cell(self, indicator: str, region: str, period: str, dimension: str, now: datetime) -> Cell:
        if period in WINDOW_HOURS:
            return self.aggregates.window(indicator, region, dimension, now, WINDOW_HOURS[period])
        return self.aggregates.get(f"{indicator}|{region}|{period}|{dimension}")

    def _parts(self, ind: Indicator, region: str, period: str, dimension: str, now: datetime) -> dict[str, float]:
        """Per-village hours or handling-time bucket counts. Villages: a month counts the indicator's own (on-site)
        hours, a year the hours of the indicator it reads (all hours)."""
        if ind.reads:
            source = ind.id if period.startswith("month:") else ind.reads
            villages = self.reference.villages_under(region)
            return {v: self._cell(source, v, period, dimension, now)[2] for v in villages}
        if ind.kind == "throughput":
            buckets = (str(i) for i in range(len(HANDLING_EDGES)))
            return {b: self._cell(f"{ind.id}{HISTOGRAM}{b}", region, period, dimension, now)[0] for b in buckets}
        return {}

    def _value(self, ind: Indicator, region: str, period: str, dimension: str, now: datetime) -> Value:
        cell = self._cell(ind.id, region, period, dimension, now)
        prev = previous_year(period)
        previous = self.aggregates.get(f"{ind.id}|{region}|{prev}|{dimension}") if prev else None
        return evaluate(
            ind,
            region,
            period,
            dimension,
            cell,
            catalogue=self.catalogue,
            reference=self.reference,
            defined=self.defined(ind),
            previous=previous,
            parts=self._parts(ind, region, period, dimension, now),
            when=Period(parse_period(period)[0], elapsed_share(period, now)),
        )

    def value_of_cell(self, cell_key: str, now: datetime) -> Value:
        ind_id, region, period, dim = cell_key.split("|")
        return self._value(self.indicators[ind_id.partition(HISTOGRAM)[0]], region, period, dim, now)

    def village_hours(self, indicator_id: str, region: str, period: str, now: datetime) -> dict[str, Any]:
        """村居法律顾问: every village under the region with its hours in the period against its requirement, and
        the ones under target listed (not averaged away)."""
        ind = self.indicator(indicator_id)
        if not ind.reads:
            raise ValidationFailed(f"indicator {ind.id} is not read per village", field="indicator")
        self.check_region(region)
        key = self.check_period(ind, period)
        value = self._value(ind, region, key, "*", now)
        hours = self._parts(ind, region, key, "*", now)
        rule = self.catalogue.village_hours(ind, region)
        required = value.extra.get("required_hours_so_far")
        under = set(village_shortfalls(list(hours), hours, required)) if required is not None else set()
        ref = self.reference
        villages = [
            {"village": v, "hours": hours[v], "advisor_id": ref.villages.get(v), "advisor_kind": ref.kinds.get(v),
             "status": "under_target" if v in under else "met" if required is not None else "no_target"}
            for v in sorted(hours)
        ]  # fmt: skip
        return {
            "indicator": ind.id, "region": region, "period": key, "required_hours": value.extra.get("required_hours"),
            "required_hours_so_far": required, "source": rule.source, "share_met": value.value,
            "under_target": sorted(under), "villages": villages,
        }  # fmt: skip

    def scorecard(self, region: str, period_kind: str, now: datetime) -> list[Value]:
        self.check_region(region)
        if period_kind not in ALL_PERIODS:
            raise ValidationFailed(f"unknown period kind {period_kind!r}", field="period")
        out = []
        for ind in self.catalogue.indicators:
            kind = period_kind if period_kind in ind.periods else ind.periods[0]
            out.append(self._value(ind, region, current_period(kind, now), "*", now))  # type: ignore[arg-type]
        return out

    def series(self, indicator_id: str, region: str, kind: str, points: int, now: datetime) -> list[Value]:
        ind = self.indicator(indicator_id)
        self.check_region(region)
        if kind not in ("day", "month", "year") or kind not in ind.periods:
            raise ValidationFailed(f"series needs a calendar period kind of {ind.id}, got {kind!r}", field="kind")
        keys: list[str] = []
        cursor = now
        while len(keys) < points:
            key = current_period(kind, cursor)  # type: ignore[arg-type]
            if key not in keys:
                keys.append(key)
            cursor -= timedelta(days={"day": 1, "month": 28, "year": 365}[kind])
        return [self._value(ind, region, k, "*", now) for k in reversed(keys)]

    def case(self, cid: str) -> CaseState | None:
        """A case by correlation id: in memory, or read (not reloaded) from the settled store."""
        case = self.cases.get(cid)
        if case is None and self.settled is not None:
            case = self.settled.get(cid)
        return case

    def held(self, cid: str) -> CaseState:
        """A case this engine holds (`case`), or KeyError."""
        case = self.case(cid)
        if case is None:
            raise KeyError(cid)
        return case

    @property
    def case_count(self) -> int:
        return len(self.cases) + (len(self.settled) if self.settled is not None else 0)

    def resolve(self, any_id: str) -> CaseState:
        """A case by any of its ids (case ids, partner references, the correlation id)."""
        cid = self.aliases.get(any_id)
        if cid is None and self.settled is not None:
            cid = self.settled.correlation_id(any_id)
        case = self.case(cid or any_id)
        if case is None:
            raise NotFound(f"no case known by {any_id!r}", field="id")
        return case

    def timeline(self, any_id: str, now: datetime) -> dict[str, Any]:
        return timeline_of(self.resolve(any_id), self._deadlines, now)

    def progress(self, any_id: str, now: datetime) -> dict[str, Any]:
        """进展查询: where the citizen's matter stands and what comes next — no actors, no internal ids."""
        return progress_of(self.resolve(any_id), self._deadlines, now)
