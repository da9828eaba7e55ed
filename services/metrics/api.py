"""Query API of the metrics service: indicator values, scorecards, series, case timelines, progress, live push."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sse_starlette.sse import EventSourceResponse

from services.metrics.catalogue import Target
from services.metrics.engine import Clock, MetricsEngine
from services.metrics.follower import Folder
from services.metrics.periods import PeriodKind, current_period
from services.metrics.values import Value
from shared.auth import Principal, require

router = APIRouter(tags=["metrics"])
READ = "metrics:read"
Region = Annotated[str, Query(pattern=r"^\d{12}$", description="12-digit division code")]
Period = Annotated[
    str,
    Query(description="day:YYYY-MM-DD | month:YYYY-MM | year:YYYY | last-24h | last-7d; a bare day, month or year "
                      "is the current one (China time)"),
]  # fmt: skip
Dimension = Annotated[str, Query(pattern=r"^(\*|dept:[a-z_]+|channel:[a-z0-9_]+)$")]


def get_engine(request: Request) -> MetricsEngine:
    engine: MetricsEngine = request.app.state.engine
    return engine


def get_folder(request: Request) -> Folder:
    folder: Folder = request.app.state.folder
    return folder


def get_now(request: Request) -> datetime:
    """The app's clock (`create_app(clock=...)`), so calendar periods can be pinned in tests."""
    clock: Clock = request.app.state.clock
    return clock()


def get_rebuilding(request: Request) -> bool:
    """The replica is still loading or catching up with the topics (its state rebuilt from the changelog and the
    topics on start): its values are not complete yet."""
    return bool(request.app.state.settings.follow) and not get_folder(request).ready.is_set()


EngineDep = Annotated[MetricsEngine, Depends(get_engine)]
Now = Annotated[datetime, Depends(get_now)]
Rebuilding = Annotated[bool, Depends(get_rebuilding)]


class TargetOut(BaseModel):
    op: str
    value: float
    source: str
    per: str | None = None  # "year": an annual target, judged on the year's (or annualised) value only


class IndicatorValue(BaseModel):
    indicator: str
    name_zh: str
    name_en: str
    region: str
    period: str
    dimension: str
    value: float | None
    numerator: float
    denominator: float
    unit: str
    target: TargetOut | None
    status: str
    reason: str | None = None
    extra: dict[str, float] = {}
    target_from: str | None = None  # the city profile (6-digit code) whose target holds, or "default" (national)
    annualised: bool = False  # judged on the year-to-date value scaled to a year: `extra.annualised`
    rebuilding: bool = False  # the replica is still catching up after a start: not a complete value yet


class IndicatorInfo(BaseModel):
    id: str
    name_zh: str
    name_en: str
    unit: str
    kind: str
    department: str | None
    periods: list[str]
    event_types: list[str]
    defined: bool
    targets: dict[str, TargetOut] = {}  # "default" (national) and the city profiles that override it


class CityScorecard(BaseModel):
    """One reference city's scorecard: its profile (and the seed its targets come from) and every indicator."""

    profile: str
    name_zh: str
    name_en: str
    seed: str | None
    region: str
    cards: list[IndicatorValue]


class VillageHours(BaseModel):
    village: str
    hours: float
    advisor_id: str | None
    advisor_kind: str | None
    status: str  # met | under_target | no_target


class VillageHoursOut(BaseModel):
    """Each village/community's advisor hours in a period against its requirement; those under target listed."""

    indicator: str
    region: str
    period: str
    required_hours: float | None
    required_hours_so_far: float | None  # pro rata of the part of the period elapsed
    source: str
    share_met: float | None
    under_target: list[str]
    villages: list[VillageHours]


def _target_out(t: Target | None) -> TargetOut | None:
    return TargetOut(op=t.op, value=t.value, source=t.source, per=t.per) if t else None


def _out(engine: MetricsEngine, v: Value, rebuilding: bool) -> IndicatorValue:
    ind = engine.indicators[v.indicator]
    return IndicatorValue(
        indicator=v.indicator, name_zh=ind.name_zh, name_en=ind.name_en, region=v.region, period=v.period,
        dimension=v.dimension, value=v.value, numerator=v.numerator, denominator=v.denominator, unit=v.unit,
        target=_target_out(v.target), status=v.status, reason=v.reason, extra=v.extra, target_from=v.target_from,
        annualised=v.annualised, rebuilding=rebuilding,
    )  # fmt: skip


@router.get("/indicators", response_model=list[IndicatorInfo])
async def list_indicators(engine: EngineDep, principal: Principal = require(READ)) -> list[IndicatorInfo]:
    rules = engine.catalogue.deadline_rules
    return [
        IndicatorInfo(
            id=i.id,
            name_zh=i.name_zh,
            name_en=i.name_en,
            unit=i.unit,
            kind=i.kind,
            department=i.department,
            periods=list(i.periods),
            event_types=sorted(i.event_types(rules)),
            defined=engine.defined(i),
            targets={k: TargetOut(**t.model_dump()) for k, t in i.targets.items()},
        )  # fmt: skip
        for i in engine.catalogue.indicators
    ]


@router.get("/indicators/{indicator}", response_model=IndicatorValue)
async def indicator_value(
    indicator: str,
    engine: EngineDep,
    region: Region,
    now: Now,
    rebuilding: Rebuilding,
    period: Period = "last-7d",
    dimension: Dimension = "*",
    principal: Principal = require(READ),
) -> IndicatorValue:
    if period in ("day", "month", "year"):
        period = current_period(cast(PeriodKind, period), now)
    return _out(engine, engine.value(indicator, region, period, now, dimension), rebuilding)


@router.get("/indicators/{indicator}/series", response_model=list[IndicatorValue])
async def indicator_series(
    indicator: str,
    engine: EngineDep,
    region: Region,
    now: Now,
    rebuilding: Rebuilding,
    kind: Annotated[str, Query(pattern=r"^(day|month|year)$")] = "day",
    points: Annotated[int, Query(ge=1, le=366)] = 30,
    principal: Principal = require(READ),
) -> list[IndicatorValue]:
    return [_out(engine, v, rebuilding) for v in engine.series(indicator, region, kind, points, now)]


@router.get("/regions/{region}/scorecard", response_model=list[IndicatorValue])
async def scorecard(
    region: str,
    engine: EngineDep,
    now: Now,
    rebuilding: Rebuilding,
    period: Annotated[str, Query(pattern=r"^(day|month|year|last-24h|last-7d)$")] = "year",
    principal: Principal = require(READ),
) -> list[IndicatorValue]:
    return [_out(engine, v, rebuilding) for v in engine.scorecard(region, period, now)]


@router.get("/scorecards", response_model=list[CityScorecard])
async def city_scorecards(
    engine: EngineDep,
    now: Now,
    rebuilding: Rebuilding,
    period: Annotated[str, Query(pattern=r"^(day|month|year|last-24h|last-7d)$")] = "year",
    principal: Principal = require(READ),
) -> list[CityScorecard]:
    """Every reference city (city profile) with every indicator, its target (the city's or the national default)
    and whether it is met."""
    out = []
    for code, profile in engine.catalogue.profiles.items():
        if code == "default":
            continue
        region = code.ljust(12, "0")
        cards = [_out(engine, v, rebuilding) for v in engine.scorecard(region, period, now)]
        out.append(CityScorecard(profile=code, name_zh=profile.name_zh, name_en=profile.name_en, seed=profile.seed,
                                 region=region, cards=cards))  # fmt: skip
    return out


@router.get("/regions/{region}/advisor-villages", response_model=VillageHoursOut)
async def advisor_villages(
    region: str,
    engine: EngineDep,
    now: Now,
    period: Annotated[str, Query(description="month:YYYY-MM | year:YYYY | month | year (the current one)")] = "month",
    indicator: str = "advisor_villages",
    principal: Principal = require(READ),
) -> VillageHoursOut:
    """村居法律顾问: every village under the region with its advisor's hours in the period against the required
    hours; the villages under target are listed, not averaged away."""
    if period in ("month", "year"):
        period = current_period(cast(PeriodKind, period), now)
    return VillageHoursOut(**engine.village_hours(indicator, region, period, now))


@router.get("/regions/{region}/stream")
async def stream(
    region: str, request: Request, engine: EngineDep, principal: Principal = require(READ)
) -> EventSourceResponse:
    """Server-sent events: every change of an indicator of this region (event `indicator`, JSON data)."""
    engine.check_region(region)
    folder = get_folder(request)
    queue, unsubscribe = folder.subscribe(region)

    async def events() -> AsyncIterator[dict[str, Any]]:
        try:
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=15)
                except TimeoutError:
                    yield {"event": "ping", "data": "{}"}
                    continue
                yield {"event": "indicator", "data": json.dumps(item, ensure_ascii=False)}
        finally:
            unsubscribe()

    return EventSourceResponse(events())


@router.get("/cases/{case_id}/timeline")
async def timeline(case_id: str, engine: EngineDep, now: Now, principal: Principal = require(READ)) -> dict[str, Any]:
    """Every step across departments and partners, time per department, every deadline met/pending/missed.

    `case_id` may be any department's case id, the correlation id or a partner's reference."""
    return engine.timeline(case_id, now)


class Progress(BaseModel):
    status: str
    department: str | None
    updated_at: str
    next_step: dict[str, str] | None


@router.get("/cases/{case_id}/progress", response_model=Progress)
async def progress(case_id: str, engine: EngineDep, now: Now, principal: Principal = require(READ)) -> Progress:
    """进展查询: status and next step only — no actors, no other cases, no personal data."""
    return Progress(**engine.progress(case_id, now))
