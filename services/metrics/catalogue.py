"""The indicator catalogue (指标目录): indicators, deadline rules and city profiles with their targets, as data.

`data/indicators.json` is validated into a frozen `Catalogue` (`load_catalogue`); the fold asks it which indicators
and deadline rules an event type concerns, and the evaluation which target holds for a region. Pure but for
reading the file.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.metrics.periods import ALL_PERIODS, PeriodKind
from shared.calendar import deadline_for_days, deadline_for_duration, deadline_for_working_days, resumed_deadline
from shared.contracts.common import region_ancestors

CATALOGUE_FILE = Path(__file__).parent / "data" / "indicators.json"

Op = Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "present"]
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": lambda a, b: a is not None and a < b,
    "le": lambda a, b: a is not None and a <= b,
    "gt": lambda a, b: a is not None and a > b,
    "ge": lambda a, b: a is not None and a >= b,
    "in": lambda a, b: a in b,
    "present": lambda a, b: (a is not None) == bool(b),
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Predicate(_Frozen):
    field: str
    op: Op = "eq"
    value: Any = None

    def holds(self, data: Mapping[str, Any]) -> bool:
        return _OPS[self.op](data.get(self.field), self.value)


class Match(_Frozen):
    """An event type plus simple predicates on its payload fields (all must hold)."""

    event: str = Field(pattern=r"^caseflow\.[a-z_]+\.[a-z_]+$")
    where: tuple[Predicate, ...] = ()
    time_field: str | None = None  # payload field carrying the business time (else the envelope time)
    due_field: str | None = None  # payload field carrying the due time the source department computed
    amount_field: str | None = None  # for sums (e.g. advisor hours)

    def matches(self, event_type: str, data: Mapping[str, Any]) -> bool:
        return event_type == self.event and all(p.holds(data) for p in self.where)


class Duration(_Frozen):
    """A period in one unit, counted the law's way (`shared.calendar`): days and working days end at 24:00 China
    time of their last day, hours and minutes are exact."""

    days: int = 0
    hours: int = 0
    minutes: int = 0
    working_days: int = 0

    @model_validator(mode="after")
    def _one_unit(self) -> Duration:
        if bool(self.days) + bool(self.working_days) + bool(self.hours or self.minutes) != 1:
            raise ValueError("a duration is in days, in working days, or in hours and minutes")
        return self

    def after(self, start: datetime) -> datetime:
        """The deadline of a period starting at `start`."""
        if self.days:
            return deadline_for_days(start, self.days)
        if self.working_days:
            return deadline_for_working_days(start, self.working_days)
        return deadline_for_duration(start, hours=self.hours, minutes=self.minutes)

    def resumed(self, start: datetime, pauses: tuple[tuple[datetime, datetime | None], ...]) -> datetime | None:
        """The deadline of a period in days whose clock stopped during `pauses`; None while one is open."""
        if not self.days:
            raise ValueError("only a period in days pauses")
        return resumed_deadline(start, self.days, pauses)


class DeadlineRule(_Frozen):
    id: str
    name_zh: str
    name_en: str
    source: str
    start: tuple[Match, ...]
    end: tuple[Match, ...]
    duration: Duration
    # the clock stops from a pause event to its resume event (法律援助法 art. 43: supplementing materials)
    pause: tuple[Match, ...] = ()
    resume: tuple[Match, ...] = ()

    @model_validator(mode="after")
    def _pauses_count_days(self) -> DeadlineRule:
        if (self.pause or self.resume) and not (self.pause and self.resume and self.duration.days):
            raise ValueError(f"{self.id}: a paused period is in days and names both pause and resume events")
        return self

    duration_by_profile: dict[str, Duration] = Field(default_factory=dict)


class Target(_Frozen):
    """A target and its source; `per: "year"` marks an annual target, judged on a year's (or an annualised,
    labelled) value only, never on a day's or a month's."""

    op: Literal[">=", "<=", "<", ">"]
    value: float
    source: str
    per: Literal["year"] | None = None

    def met(self, value: float) -> bool:
        return {">=": operator.ge, "<=": operator.le, "<": operator.lt, ">": operator.gt}[self.op](value, self.value)


IndicatorKind = Literal[
    "ratio", "deadline", "per_population", "growth", "advisor_coverage", "advisor_hours", "advisor_villages",
    "advisor_qualification", "throughput",
]  # fmt: skip
#: indicator kinds read from reference data (villages and their advisors), not from counted events
REFERENCE_KINDS = ("advisor_coverage", "advisor_qualification")
#: indicator kinds whose value reads the reference data besides their cell's sums (a village or advisor change
#: moves them)
READS_REFERENCE = (*REFERENCE_KINDS, "advisor_hours", "advisor_villages")


class VillageHours(_Frozen):
    """The hours each village/community must get from its legal advisor, per calendar period (村居法律顾问)."""

    month: float | None = Field(default=None, gt=0)
    year: float = Field(gt=0)
    source: str

    def required(self, period_kind: str) -> float | None:
        return {"month": self.month, "year": self.year}.get(period_kind)


class Indicator(_Frozen):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name_zh: str
    name_en: str
    unit: str
    kind: IndicatorKind
    department: str | None = None
    count: Literal["case", "event"] = "case"  # count each matching case once, or every matching event
    numerator: tuple[Match, ...] = ()
    denominator: tuple[Match, ...] = ()
    deadline: str | None = None
    periods: tuple[PeriodKind, ...] = ALL_PERIODS
    targets: dict[str, Target] = Field(default_factory=dict)
    reads: str | None = None  # advisor_villages: the indicator whose per-village cells it reads
    village_hours: dict[str, VillageHours] = Field(default_factory=dict)  # advisor_villages: per profile
    qualified: tuple[str, ...] = ()  # advisor_qualification: the advisor kinds that count

    @model_validator(mode="after")
    def _rules_fit_kind(self) -> Indicator:
        if self.kind == "advisor_villages" and ("default" not in self.village_hours or not self.reads):
            raise ValueError(f"{self.id}: an advisor_villages indicator names the indicator it reads and default hours")
        if self.kind == "advisor_qualification" and not self.qualified:
            raise ValueError(f"{self.id}: an advisor_qualification indicator names the qualified advisor kinds")
        if self.kind == "deadline" and not self.deadline:
            raise ValueError(f"{self.id}: a deadline indicator names its deadline")
        if self.kind in ("ratio", "throughput") and not (self.numerator and self.denominator):
            raise ValueError(f"{self.id}: a {self.kind} indicator needs numerator and denominator rules")
        if self.kind in ("per_population", "growth", "advisor_hours") and not self.numerator:
            raise ValueError(f"{self.id}: a {self.kind} indicator needs numerator rules")
        return self

    def event_types(self, deadlines: Mapping[str, DeadlineRule]) -> set[str]:
        rules = [*self.numerator, *self.denominator]
        if self.deadline:
            rules += [*deadlines[self.deadline].start, *deadlines[self.deadline].end]
        return {m.event for m in rules}


class Profile(_Frozen):
    name_zh: str
    name_en: str
    seed: str | None


class Catalogue(_Frozen):
    version: str
    profiles: dict[str, Profile]
    deadlines: tuple[DeadlineRule, ...]
    indicators: tuple[Indicator, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        ids = [i.id for i in self.indicators]
        if len(ids) != len(set(ids)):
            raise ValueError("indicator ids must be unique")
        names = {d.id for d in self.deadlines}
        for ind in self.indicators:
            if ind.reads and ind.reads not in ids:
                raise ValueError(f"{ind.id}: reads unknown indicator {ind.reads!r}")
            if ind.deadline and ind.deadline not in names:
                raise ValueError(f"{ind.id}: unknown deadline {ind.deadline!r}")
            for key in (*ind.targets, *ind.village_hours):
                if key != "default" and key not in self.profiles:
                    raise ValueError(f"{ind.id}: target for unknown profile {key!r}")
        return self

    # lookups the fold makes on every event, computed once per catalogue
    @cached_property
    def by_id(self) -> dict[str, Indicator]:
        return {i.id: i for i in self.indicators}

    @cached_property
    def deadline_rules(self) -> dict[str, DeadlineRule]:
        return {d.id: d for d in self.deadlines}

    @cached_property
    def deadline_indicators(self) -> tuple[Indicator, ...]:
        return tuple(i for i in self.indicators if i.kind == "deadline")

    @cached_property
    def _marking(self) -> dict[str, tuple[Indicator, ...]]:
        out: dict[str, list[Indicator]] = {}
        for ind in self.indicators:
            if ind.kind != "deadline" and ind.kind not in REFERENCE_KINDS:
                for event_type in dict.fromkeys(m.event for m in (*ind.denominator, *ind.numerator)):
                    out.setdefault(event_type, []).append(ind)
        return {t: tuple(inds) for t, inds in out.items()}

    @cached_property
    def _timing(self) -> dict[str, tuple[DeadlineRule, ...]]:
        out: dict[str, list[DeadlineRule]] = {}
        for rule in self.deadlines:
            for event_type in dict.fromkeys(m.event for m in (*rule.start, *rule.end, *rule.pause, *rule.resume)):
                out.setdefault(event_type, []).append(rule)
        return {t: tuple(rules) for t, rules in out.items()}

    def marking(self, event_type: str) -> tuple[Indicator, ...]:
        """The counted indicators (not deadline or reference-data ones) whose rules name this event type, in order."""
        return self._marking.get(event_type, ())

    def timing(self, event_type: str) -> tuple[DeadlineRule, ...]:
        """The deadline rules that this event type may start or end, in order."""
        return self._timing.get(event_type, ())

    @cached_property
    def _profile_cache(self) -> dict[str, str]:
        return {}

    def profile_of(self, region: str) -> str:
        """City profile of a 12-digit region: the nearest ancestor whose 6-digit code has a profile."""
        profile = self._profile_cache.get(region)
        if profile is None:
            if len(self._profile_cache) > 100_000:  # region codes come from events: bound what they can grow
                self._profile_cache.clear()
            codes = (code[:6] for code in region_ancestors(region))
            profile = self._profile_cache[region] = next((c for c in codes if c in self.profiles), "default")
        return profile

    def target(self, indicator: Indicator, region: str) -> Target | None:
        return self.target_of(indicator, region)[0]

    def target_of(self, indicator: Indicator, region: str) -> tuple[Target | None, str | None]:
        """The target that holds for a region and where it comes from: its city profile's override, else the
        national default (`"default"`), else none."""
        profile = self.profile_of(region)
        if profile in indicator.targets:
            return indicator.targets[profile], profile
        if "default" in indicator.targets:
            return indicator.targets["default"], "default"
        return None, None

    def village_hours(self, indicator: Indicator, region: str) -> VillageHours:
        """The per-village hours requirement of the region's city profile (else the default)."""
        return indicator.village_hours.get(self.profile_of(region)) or indicator.village_hours["default"]


@cache
def load_catalogue(path: Path = CATALOGUE_FILE) -> Catalogue:
    return Catalogue.model_validate_json(path.read_text(encoding="utf-8"))
