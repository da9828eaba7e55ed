"""Metrics domain (指标): the indicator catalogue's model, the per-case fold and indicator evaluation — all pure.

One fold, `fold(case, envelope, catalogue) -> case`, keeps everything metrics knows about one end-to-end case
(keyed by correlation id): its timeline of steps across departments and partners, the deadlines it runs
(met / pending / missed), and per-indicator marks saying which indicator rules its events matched.
`contributions(case, now, catalogue)` turns that state into numerator/denominator contributions; the deadline
indicators derive from the same deadlines the timeline shows, so the two can never disagree.
`Aggregates` adds contributions over every dimension (region ancestors × period buckets × department/channel)
and `evaluate` turns a cell into value, target and status for a city profile.

No I/O, no clock: "now" is always an argument.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta, timezone
from functools import cached_property, lru_cache
from operator import attrgetter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.common import region_ancestors

# -- the catalogue (data, validated) ---------------------------------------------------------------------------

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
CHINA = timezone(timedelta(hours=8), "CST")
PeriodKind = Literal["day", "month", "year", "last-24h", "last-7d"]
ALL_PERIODS: tuple[PeriodKind, ...] = ("day", "month", "year", "last-24h", "last-7d")


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
    days: int = 0
    hours: int = 0
    minutes: int = 0
    working_days: int = 0

    def after(self, start: datetime) -> datetime:
        due = start + timedelta(days=self.days, hours=self.hours, minutes=self.minutes)
        return add_working_days(due, self.working_days) if self.working_days else due


class DeadlineRule(_Frozen):
    id: str
    name_zh: str
    name_en: str
    source: str
    start: tuple[Match, ...]
    end: tuple[Match, ...]
    duration: Duration
    duration_by_profile: dict[str, Duration] = Field(default_factory=dict)


class Target(_Frozen):
    op: Literal[">=", "<=", "<", ">"]
    value: float
    source: str

    def met(self, value: float) -> bool:
        return {">=": operator.ge, "<=": operator.le, "<": operator.lt, ">": operator.gt}[self.op](value, self.value)


IndicatorKind = Literal[
    "ratio", "deadline", "per_population", "growth", "advisor_coverage", "advisor_hours", "throughput"
]


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

    @model_validator(mode="after")
    def _rules_fit_kind(self) -> Indicator:
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
            if ind.deadline and ind.deadline not in names:
                raise ValueError(f"{ind.id}: unknown deadline {ind.deadline!r}")
            for key in ind.targets:
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
            if ind.kind not in ("deadline", "advisor_coverage"):
                for event_type in dict.fromkeys(m.event for m in (*ind.denominator, *ind.numerator)):
                    out.setdefault(event_type, []).append(ind)
        return {t: tuple(inds) for t, inds in out.items()}

    @cached_property
    def _timing(self) -> dict[str, tuple[DeadlineRule, ...]]:
        out: dict[str, list[DeadlineRule]] = {}
        for rule in self.deadlines:
            for event_type in dict.fromkeys(m.event for m in (*rule.start, *rule.end)):
                out.setdefault(event_type, []).append(rule)
        return {t: tuple(rules) for t, rules in out.items()}

    def marking(self, event_type: str) -> tuple[Indicator, ...]:
        """The counted indicators (not deadline or advisor coverage) whose rules name this event type, in order."""
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
        return indicator.targets.get(self.profile_of(region)) or indicator.targets.get("default")


# -- the per-case state ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """One event in a case's life: which department did what, who, when."""

    at: datetime
    department: str
    event_type: str
    actor: str
    subject: str
    traceparent: str | None = None  # W3C trace context: operations open the step's trace from the timeline


@dataclass(frozen=True, slots=True)
class Deadline:
    rule: str
    subject: str
    start: datetime
    due: datetime
    done_at: datetime | None = None

    def status(self, now: datetime) -> Literal["met", "missed", "pending"]:
        if self.done_at is not None:
            return "met" if self.done_at <= self.due else "missed"
        return "missed" if now > self.due else "pending"


@dataclass(frozen=True, slots=True)
class Mark:
    """What one case (subject) or one event contributed to one indicator's rules."""

    indicator: str
    key: str  # subject (count per case) or event id (count per event)
    department: str
    at: datetime  # anchor time: when the denominator (or the counted event) happened
    den: bool = False
    num: bool = False
    amount: float = 0.0
    closed_at: datetime | None = None  # throughput: when the case closed


@dataclass(frozen=True, slots=True)
class CaseState:
    correlation_id: str
    region: str | None = None
    channel: str | None = None
    steps: tuple[Step, ...] = ()
    event_ids: frozenset[str] = frozenset()
    subjects: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    deadlines: tuple[Deadline, ...] = ()
    marks: tuple[Mark, ...] = ()
    # a village/community's legal advisor stream (intake advisor events): who advises it now, once told
    advisor: str | None = None
    advisor_known: bool = False
    # (event time, event id) of the events that gave region and channel: the earliest naming one wins, so a case's
    # place and channel (and the cells it counts in) do not depend on the order its events were folded in
    region_from: tuple[datetime, str] | None = None
    channel_from: tuple[datetime, str] | None = None


def _pickle_as_arguments(*classes: type) -> None:
    """Pickle these slotted dataclasses as (class, field values): the `__getstate__` that `dataclass(slots=True)`
    adds walks `fields()` per object, which cost the writer ~10% of its time (every changed case is pickled to the
    changelog). States pickled either way load either way."""
    for cls in classes:
        values = attrgetter(*(f.name for f in fields(cls)))

        def reduce(self: Any, _values: Any = values) -> tuple[type, tuple[Any, ...]]:
            return (type(self), _values(self))

        cls.__reduce__ = reduce  # type: ignore[assignment,method-assign]


_pickle_as_arguments(Step, Deadline, Mark, CaseState)


def department_of(event_type: str) -> str:
    """`caseflow.<department|partner>.<name>` → department (partners appear as `partner`)."""
    parts = event_type.split(".")
    return parts[1] if len(parts) >= 3 else "unknown"


def _time(data: Mapping[str, Any], name: str | None, fallback: datetime) -> datetime:
    if name is None or data.get(name) is None:
        return fallback
    raw = data[name]
    value = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def fold(case: CaseState, env: Any, catalogue: Catalogue) -> CaseState:
    """Apply one envelope (shared.envelope.Envelope or anything with its attributes) to a case. Idempotent."""
    if env.id in case.event_ids:
        return case  # a redelivered or replayed event never counts twice
    data: Mapping[str, Any] = env.data
    etype: str = env.type
    dept = department_of(etype)
    at = env.time
    origin = (at, str(env.id))
    region, region_from = _earliest(case.region, case.region_from, _region_in(data), origin)
    said = str(data["channel"]) if data.get("channel") else None
    channel, channel_from = _earliest(case.channel, case.channel_from, said, origin)
    subjects = case.subjects if env.subject in case.subjects else (*case.subjects, env.subject)
    refs = case.references
    ref = data.get("partner_reference")
    if isinstance(ref, str) and ref not in refs:
        refs = (*refs, ref)
    deadlines = _fold_deadlines(case.deadlines, env, data, catalogue, region)
    marks = _fold_marks(case.marks, env, data, dept, catalogue)
    advisor, advisor_known = _fold_advisor(case, etype, data)
    return replace(
        case,
        advisor=advisor,
        advisor_known=advisor_known,
        region=region,
        channel=channel,
        region_from=region_from,
        channel_from=channel_from,
        steps=(*case.steps, Step(at, dept, etype, env.actor, env.subject, getattr(env, "traceparent", None))),
        event_ids=case.event_ids | {env.id},
        subjects=subjects,
        references=refs,
        deadlines=deadlines,
        marks=marks,
    )


ADVISOR_ASSIGNED = "caseflow.intake.advisor_assigned"
ADVISOR_UNASSIGNED = "caseflow.intake.advisor_unassigned"


def _fold_advisor(case: CaseState, etype: str, data: Mapping[str, Any]) -> tuple[str | None, bool]:
    """村居法律顾问: the advisor a village's stream names now (an unassignment of someone else changes nothing)."""
    if etype == ADVISOR_ASSIGNED:
        return str(data["advisor_id"]), True
    if etype == ADVISOR_UNASSIGNED and (not case.advisor_known or case.advisor == data.get("advisor_id")):
        return None, True
    return case.advisor, case.advisor_known


def _earliest(
    held: str | None, held_from: tuple[datetime, str] | None, found: str | None, origin: tuple[datetime, str]
) -> tuple[str | None, tuple[datetime, str] | None]:
    """The value named by the earliest event (time, then id), whatever the order events arrive in. A value held
    without an origin (a state from before origins were kept) stays."""
    if found is None or (held is not None and (held_from is None or held_from <= origin)):
        return held, held_from
    return found, origin


def _region_in(data: Mapping[str, Any]) -> str | None:
    region = data.get("region") or data.get("village_region")
    return region if isinstance(region, str) and len(region) == 12 and region.isdigit() else None


def _fold_deadlines(
    current: tuple[Deadline, ...], env: Any, data: Mapping[str, Any], catalogue: Catalogue, region: str | None
) -> tuple[Deadline, ...]:
    out = list(current)
    profile = catalogue.profile_of(region) if region else "default"
    for rule in catalogue.timing(env.type):
        for m in rule.start:
            if m.matches(env.type, data) and not any(d.rule == rule.id and d.subject == env.subject for d in out):
                start = _time(data, m.time_field, env.time)
                duration = rule.duration_by_profile.get(profile, rule.duration)
                due = _time(data, m.due_field, duration.after(start)) if m.due_field else duration.after(start)
                out.append(Deadline(rule.id, env.subject, start, due))
                break
        for m in rule.end:
            if m.matches(env.type, data):
                done = _time(data, m.time_field, env.time)
                for i, d in enumerate(out):
                    if d.rule == rule.id and d.subject == env.subject and d.done_at is None:
                        out[i] = replace(d, done_at=done)
                break
    return tuple(out)


def _fold_marks(
    current: tuple[Mark, ...], env: Any, data: Mapping[str, Any], dept: str, catalogue: Catalogue
) -> tuple[Mark, ...]:
    marks = {(m.indicator, m.key): m for m in current}
    for ind in catalogue.marking(env.type):
        key = env.subject if ind.count == "case" else env.id
        den = next((m for m in ind.denominator if m.matches(env.type, data)), None)
        num = next((m for m in ind.numerator if m.matches(env.type, data)), None)
        if den is None and num is None:
            continue
        mark = marks.get((ind.id, key))
        if den is not None and (mark is None or not mark.den):
            at = _time(data, den.time_field, env.time)
            mark = replace(mark, den=True, at=at) if mark else Mark(ind.id, key, dept, at, den=True)
        if num is not None:
            done = _time(data, num.time_field, env.time)
            amount = float(data.get(num.amount_field) or 0) if num.amount_field else 0.0
            if mark is None:
                mark = Mark(ind.id, key, dept, done, num=True, amount=amount, closed_at=done)
            elif not mark.num:
                mark = replace(mark, num=True, amount=mark.amount + amount, closed_at=done)
        if mark is not None:
            marks[(ind.id, key)] = mark
    return tuple(marks.values())


# -- contributions and aggregates ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Contribution:
    indicator: str
    at: datetime
    num: float
    den: float
    department: str
    amount: float = 0.0


def contributions(case: CaseState, now: datetime, catalogue: Catalogue) -> tuple[Contribution, ...]:
    """What this case adds to every indicator, evaluated at `now` (an overdue deadline counts as missed)."""
    out: list[Contribution] = []
    by_id = catalogue.by_id
    for m in case.marks:
        ind = by_id.get(m.indicator)
        if ind is None:
            continue
        if ind.kind == "ratio":
            if m.den:
                out.append(Contribution(ind.id, m.at, 1.0 if m.num else 0.0, 1.0, m.department))
        elif ind.kind == "throughput":
            if m.den:
                out.append(Contribution(ind.id, m.at, 0.0, 1.0, m.department))
            if m.num and m.closed_at is not None:
                hours = (m.closed_at - m.at).total_seconds() / 3600 if m.den else 0.0
                out.append(Contribution(ind.id, m.closed_at, 1.0, 0.0, m.department, amount=hours))
        elif m.num:  # per_population, growth, advisor_hours: counts and sums
            out.append(Contribution(ind.id, m.at, 1.0, 0.0, m.department, amount=m.amount))
    deadline_indicators = catalogue.deadline_indicators
    for d in case.deadlines:
        status = d.status(now)
        if status == "pending":
            continue
        for ind in deadline_indicators:
            if ind.deadline == d.rule:
                at = d.done_at or d.due
                out.append(Contribution(ind.id, at, 1.0 if status == "met" else 0.0, 1.0, ind.department or "unknown"))
    return tuple(out)


def next_due(case: CaseState, after: datetime) -> datetime | None:
    """Earliest future due time of an open deadline: when the case's contributions will change by themselves."""
    dues = [d.due for d in case.deadlines if d.done_at is None and d.due >= after]
    return min(dues) if dues else None


def hour_bucket(at: datetime) -> str:
    return "hour:" + at.astimezone(UTC).isoformat()[:13]


@lru_cache(maxsize=65536)
def period_keys(at: datetime) -> tuple[str, ...]:
    """The calendar buckets an instant counts in (UTC+8 calendar: the seeds' jurisdictions are all in China)."""
    local = at.astimezone(CHINA).isoformat()
    return ("day:" + local[:10], "month:" + local[:7], "year:" + local[:4], hour_bucket(at))


@lru_cache(maxsize=65536)
def hour_of(at: datetime) -> datetime:
    """The UTC hour an instant falls in. Every period key of an instant (China-local day, month and year; UTC hour)
    is the same for all instants of its hour, China being a whole number of hours from UTC."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def cell_keys(indicator: str, department: str, hour: datetime, region: str, channel: str | None) -> list[str]:
    dims = ["*", f"dept:{department}"] + ([f"channel:{channel}"] if channel else [])
    periods = period_keys(hour)
    return [f"{indicator}|{r}|{p}|{d}" for r in _ancestors(region) for p in periods for d in dims]


def is_published(cell_key: str) -> bool:
    """Cells published as indicators (and summed across writers): every region and calendar period, no
    dimension and no hour (those are read by queries, off each replica's own state)."""
    return cell_key.endswith("|*") and "|hour:" not in cell_key


@lru_cache(maxsize=65536)
def _ancestors(region: str) -> tuple[str, ...]:
    return tuple(region_ancestors(region))


_MAX_PENDING = 100_000


class Aggregates:
    """Sums per cell `indicator|region|period|dimension`: [numerator, denominator, amount].

    `add` only sums the change per (indicator, department, hour, region, channel); `settle` spreads the net
    changes over the cells (every ancestor region × period × dimension, ~100 cells per contribution). Between two
    settles, the events of one village, hour and indicator merge into one spread (or cancel), so a batch costs
    what its distinct places and hours cost, not what its events cost. Reads settle first, so they never see a
    half-applied batch.
    """

    def __init__(self) -> None:
        self._cells: dict[str, list[float]] = {}
        self._pending: dict[tuple[str, str, datetime, str, str | None], list[float]] = {}
        self._touched: set[str] = set()  # cells changed since `take_touched`

    @property
    def cells(self) -> dict[str, list[float]]:
        self.settle()
        return self._cells

    def add(self, contribs: Iterable[Contribution], region: str | None, channel: str | None, sign: int) -> None:
        if region is None:
            return  # a case that never told its region cannot be placed
        pending = self._pending
        for c in contribs:
            key = (c.indicator, c.department, hour_of(c.at), region, channel)
            delta = pending.get(key)
            if delta is None:
                delta = pending[key] = [0.0, 0.0, 0.0]
            delta[0] += sign * c.num
            delta[1] += sign * c.den
            delta[2] += sign * c.amount
        if len(pending) > _MAX_PENDING:  # a long replay without reads (rebuild, restore) settles as it goes
            self.settle()

    def set_cell(self, key: str, values: list[float]) -> None:
        """Set one cell directly (the reducer, summing the writers' shares of it)."""
        self.settle()
        if values[0] == 0 and values[1] == 0 and abs(values[2]) < 1e-9:
            self._cells.pop(key, None)
        else:
            self._cells[key] = list(values)
        self._touched.add(key)

    def touch(self, keys: Iterable[str]) -> None:
        """Cells whose value moved without a contribution (e.g. a reference-data change)."""
        self._touched.update(keys)

    def settle(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        cells, touched = self._cells, self._touched
        for (indicator, department, hour, region, channel), (num, den, amount) in pending.items():
            if num == 0 and den == 0 and abs(amount) < 1e-9:
                continue  # added and removed within the batch: no cell moves
            for key in cell_keys(indicator, department, hour, region, channel):
                cell = cells.get(key)
                if cell is None:
                    cell = cells[key] = [0.0, 0.0, 0.0]
                cell[0] += num
                cell[1] += den
                cell[2] += amount
                if cell[0] == 0 and cell[1] == 0 and abs(cell[2]) < 1e-9:
                    del cells[key]
                touched.add(key)

    def take_touched(self) -> set[str]:
        """The cells changed since the last call (settling first)."""
        self.settle()
        touched, self._touched = self._touched, set()
        return touched

    def get(self, key: str) -> tuple[float, float, float]:
        cell = self.cells.get(key)  # `cells` settles
        return (cell[0], cell[1], cell[2]) if cell else (0.0, 0.0, 0.0)

    def window(self, indicator: str, region: str, dim: str, now: datetime, hours: int) -> tuple[float, float, float]:
        num = den = amount = 0.0
        for h in range(hours):
            n, d, a = self.get(f"{indicator}|{region}|{hour_bucket(now - timedelta(hours=h))}|{dim}")
            num, den, amount = num + n, den + d, amount + a
        return num, den, amount


# -- periods ---------------------------------------------------------------------------------------------------


def parse_period(text: str) -> tuple[PeriodKind, str]:
    """`day:2026-11-23`, `month:2026-11`, `year:2026`, `last-24h`, `last-7d` → (kind, bucket key)."""
    if text in ("last-24h", "last-7d"):
        return text, text  # type: ignore[return-value]
    kind, _, value = text.partition(":")
    formats = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}
    if kind not in formats:
        raise ValueError(f"unknown period {text!r}: use day:YYYY-MM-DD, month:YYYY-MM, year:YYYY, last-24h or last-7d")
    try:
        datetime.strptime(value, formats[kind])
    except ValueError:
        raise ValueError(f"period {text!r} is not {kind}:{formats[kind].replace('%', '')}") from None
    return kind, text  # type: ignore[return-value]


def current_period(kind: PeriodKind, now: datetime) -> str:
    if kind in ("last-24h", "last-7d"):
        return kind
    fmt = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}[kind]
    return f"{kind}:{now.astimezone(CHINA).strftime(fmt)}"


def previous_year(period: str) -> str | None:
    kind, _, value = period.partition(":")
    if kind not in ("day", "month", "year"):
        return None
    return f"{kind}:{int(value[:4]) - 1:04d}{value[4:]}"


# -- evaluation ------------------------------------------------------------------------------------------------

Status = Literal["met", "not_met", "no_data", "no_target"]


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


@dataclass(frozen=True)
class Reference:
    """Reference data the evaluation needs: population and villages (with or without an advisor) per region."""

    population: Mapping[str, int]
    villages: Mapping[str, str | None]  # village code → advisor id (None: no advisor)

    def population_of(self, region: str) -> int:
        pop = self.population.get(region)
        if not pop:
            raise MissingPopulation(region)
        return pop

    def villages_under(self, region: str) -> list[str]:
        return [v for v in self.villages if region in region_ancestors(v)]

    def with_advisors(self, advisors: Mapping[str, str | None]) -> Reference:
        """The shipped villages with the advisors the event stream has assigned since (events win)."""
        return replace(self, villages={**self.villages, **advisors})


class MissingPopulation(LookupError):
    def __init__(self, region: str) -> None:
        super().__init__(f"no population on record for region {region}")
        self.region = region


def evaluate(
    ind: Indicator,
    region: str,
    period: str,
    dimension: str,
    cell: tuple[float, float, float],
    *,
    catalogue: Catalogue,
    reference: Reference,
    defined: bool,
    previous: tuple[float, float, float] | None = None,
) -> Value:
    """Value, target and status of one indicator cell. `defined`: all its event types exist on the platform."""
    num, den, amount = cell
    target = catalogue.target(ind, region)
    extra: dict[str, float] = {}
    value: float | None = None
    reason: str | None = None
    if ind.kind in ("ratio", "deadline"):
        value = 100.0 * num / den if den else None
        reason = None if den else "zero denominator"
    elif ind.kind == "per_population":
        try:
            den = float(reference.population_of(region))
        except MissingPopulation as exc:
            return Value(ind.id, region, period, dimension, None, num, 0.0, ind.unit, target, "no_data", str(exc))
        value = num / den * 100_000 if num else None
        reason = None if num else "no granted cases"
    elif ind.kind == "growth":
        prev = previous[0] if previous else 0.0
        den = prev
        value = 100.0 * (num / prev - 1) if prev and num else None
        reason = None if value is not None else "no volume in this or the same period last year"
    elif ind.kind == "advisor_coverage":
        villages = reference.villages_under(region)
        den = float(len(villages))
        num = float(sum(1 for v in villages if reference.villages[v]))
        value = 100.0 * num / den if den else None
        reason = None if den else "no villages on record under this region"
        defined = True  # reference data, not events
    elif ind.kind == "advisor_hours":
        den = float(len(reference.villages_under(region)))
        num = amount
        value = num / den if den and num else None
        reason = None if value is not None else ("no villages on record" if not den else "no service logged")
    elif ind.kind == "throughput":
        closed, opened = num, den
        value = closed if (closed or opened) else None
        extra = {"opened": opened, "closed": closed, "backlog": opened - closed}
        if closed:
            extra["mean_handling_hours"] = amount / closed
        reason = None if value is not None else "no cases"
    if not defined:
        return Value(
            ind.id, region, period, dimension, None, 0.0, 0.0, ind.unit, target, "no_data", "events not defined"
        )
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Value(ind.id, region, period, dimension, None, num, den, ind.unit, target, "no_data", reason, extra)
    if target is None:
        return Value(ind.id, region, period, dimension, value, num, den, ind.unit, None, "no_target", None, extra)
    status: Status = "met" if target.met(value) else "not_met"
    return Value(ind.id, region, period, dimension, value, num, den, ind.unit, target, status, None, extra)


# -- working days (no holiday calendar yet: weekends only) -----------------------------------------------------


def add_working_days(start: datetime, days: int) -> datetime:
    """`days` working days after `start`, skipping Saturdays and Sundays (public holidays: not modelled)."""
    current = start
    left = days
    while left > 0:
        current += timedelta(days=1)
        if current.astimezone(CHINA).weekday() < 5:
            left -= 1
    return current
