"""The per-case fold (案件折叠): everything metrics knows about one end-to-end case, and what it contributes.

`fold(case, envelope, catalogue) -> case` keeps one case (keyed by correlation id): its timeline of steps across
departments and partners, the deadlines it runs (met / pending / missed), and per-indicator marks saying which
indicator rules its events matched. `contributions(case, now, catalogue)` turns that state into numerator /
denominator contributions; the deadline indicators derive from the same deadlines the timeline shows, so the two
never disagree. Pure: no I/O, no clock ("now" is an argument).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, Literal

from services.metrics.catalogue import Catalogue, Duration, Indicator
from services.metrics.values import HISTOGRAM, handling_bucket
from shared.calendar import on_time

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
    due: datetime  # an instant: done strictly before it is on time (shared.calendar.on_time)
    done_at: datetime | None = None
    pauses: tuple[tuple[datetime, datetime | None], ...] = ()  # (paused, resumed): the clock stops in between

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1][1] is None

    def status(self, now: datetime) -> Literal["met", "missed", "pending"]:
        if self.done_at is not None:
            return "met" if on_time(self.done_at, self.due) else "missed"
        return "pending" if self.paused or now < self.due else "missed"


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
    advisor_kind: str | None = None  # the advisor's qualification (lawyer, grassroots_worker, …), when told


def _pickle_as_arguments(*classes: type) -> None:
    """Pickle these slotted dataclasses as (class, field values): the `__getstate__` that `dataclass(slots=True)`
    adds walks `fields()` per object, ~10% of a writer's time (it pickles every changed case to its changelog).
    States pickled either way load either way."""
    for cls in classes:
        values = attrgetter(*(f.name for f in fields(cls)))

        def reduce(self: Any, _values: Any = values) -> tuple[type, tuple[Any, ...]]:
            return (type(self), _values(self))

        cls.__reduce__ = reduce  # type: ignore[assignment,method-assign]


_pickle_as_arguments(Step, Deadline, Mark, CaseState)


def hours_held(steps: Sequence[Step]) -> dict[str, float]:
    """Hours each department (partners as `partner`) held the case, in order of first appearance: the time from one
    step to the next belongs to the department that takes the next step, which held the case since the handoff
    that gave it the case (a referral passes the case on at once; the department referring is not credited with
    the time the other one holds it). The hours add up to the case's first-to-last duration."""
    ordered = sorted(steps, key=lambda s: s.at)
    held: dict[str, float] = {s.department: 0.0 for s in ordered}
    for before, step in zip(ordered, ordered[1:], strict=False):
        held[step.department] += (step.at - before.at).total_seconds() / 3600
    return held


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
    advisor, advisor_kind, advisor_known = _fold_advisor(case, etype, data)
    return replace(
        case,
        advisor=advisor,
        advisor_kind=advisor_kind,
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


def _fold_advisor(case: CaseState, etype: str, data: Mapping[str, Any]) -> tuple[str | None, str | None, bool]:
    """村居法律顾问: the advisor a village's stream names now and their qualification (an unassignment of someone
    else changes nothing)."""
    if etype == ADVISOR_ASSIGNED:
        kind = data.get("advisor_kind")
        return str(data["advisor_id"]), str(kind) if kind else None, True
    if etype == ADVISOR_UNASSIGNED and (not case.advisor_known or case.advisor == data.get("advisor_id")):
        return None, None, True
    return case.advisor, case.advisor_kind, case.advisor_known


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
        for m in (*rule.pause, *rule.resume):
            if m.matches(env.type, data):
                at = _time(data, m.time_field, env.time)
                duration = rule.duration_by_profile.get(profile, rule.duration)
                out = [_paused(d, at, m in rule.pause, duration) if _open(d, rule.id, env.subject) else d for d in out]
                break
        for m in rule.end:
            if m.matches(env.type, data):
                done = _time(data, m.time_field, env.time)
                for i, d in enumerate(out):
                    if d.rule == rule.id and d.subject == env.subject and d.done_at is None:
                        out[i] = replace(d, done_at=done)
                break
    return tuple(out)


def _open(d: Deadline, rule: str, subject: str) -> bool:
    return d.rule == rule and d.subject == subject and d.done_at is None


def _paused(d: Deadline, at: datetime, pause: bool, duration: Duration) -> Deadline:
    """The deadline with its clock stopped at `at` (pause) or running again from `at` (resume)."""
    if pause == d.paused:
        return d  # a second pause, or a resume without a pause: nothing changes
    pauses = (*d.pauses, (at, None)) if pause else (*d.pauses[:-1], (d.pauses[-1][0], at))
    due = duration.resumed(d.start, pauses)
    return replace(d, pauses=pauses, due=due or d.due)


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


# -- contributions ---------------------------------------------------------------------------------------------


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
        if ind is not None:
            out += _counted(ind, m)
    for d in case.deadlines:
        out += _timed(d, now, catalogue.deadline_indicators)
    return tuple(out)


def _counted(ind: Indicator, m: Mark) -> list[Contribution]:
    """A counted indicator's contributions from one mark."""
    if ind.kind == "ratio":
        return [Contribution(ind.id, m.at, 1.0 if m.num else 0.0, 1.0, m.department)] if m.den else []
    if ind.kind == "throughput":  # opened when the denominator matched, closed (with its handling hours) later
        out = [Contribution(ind.id, m.at, 0.0, 1.0, m.department)] if m.den else []
        if m.num and m.closed_at is not None:
            hours = (m.closed_at - m.at).total_seconds() / 3600 if m.den else 0.0
            out.append(Contribution(ind.id, m.closed_at, 1.0, 0.0, m.department, amount=hours))
            if m.den:  # the handling-time histogram the median is read from
                out.append(Contribution(histogram_id(ind.id, hours), m.closed_at, 1.0, 0.0, m.department))
        return out
    # per_population, growth, advisor_hours: counts and sums
    return [Contribution(ind.id, m.at, 1.0, 0.0, m.department, amount=m.amount)] if m.num else []


def histogram_id(indicator: str, hours: float) -> str:
    """The pseudo-indicator id of the handling-time bucket a case closed in (`throughput~7`)."""
    return f"{indicator}{HISTOGRAM}{handling_bucket(hours)}"


def _timed(d: Deadline, now: datetime, indicators: Iterable[Indicator]) -> list[Contribution]:
    """The deadline indicators' contributions from one deadline: none while it is pending."""
    status = d.status(now)
    if status == "pending":
        return []
    at, met = d.done_at or d.due, 1.0 if status == "met" else 0.0
    return [Contribution(i.id, at, met, 1.0, i.department or "unknown") for i in indicators if i.deadline == d.rule]


def next_due(case: CaseState, after: datetime) -> datetime | None:
    """Earliest future due time of an open deadline: when the case's contributions will change by themselves."""
    dues = [d.due for d in case.deadlines if d.done_at is None and not d.paused and d.due > after]
    return min(dues) if dues else None


# the events that close a case in its department (结案 / 办结 / 立卷归档 / 撤回)
CLOSING_TYPES = frozenset({
    "caseflow.intake.request_closed",
    "caseflow.legal_aid.case_closed",
    "caseflow.mediation.dispute_archived",
    "caseflow.mediation.dispute_withdrawn",
    "caseflow.notary.certificate_issued",
})  # fmt: skip


def settled(case: CaseState, now: datetime) -> bool:
    """The case can no longer change by itself: every department it went through that closes its cases has closed
    it (a step of `CLOSING_TYPES` each; partners and departments without a closing step do not hold it open) and no
    deadline is pending (each met or missed), so its contributions are the same at any later time. Only a new
    event changes it."""
    closed = {department_of(t) for t in CLOSING_TYPES}
    went = {s.department for s in case.steps if s.department in closed}
    if not went or went - {s.department for s in case.steps if s.event_type in CLOSING_TYPES}:
        return False
    return all(d.status(now) != "pending" for d in case.deadlines)
