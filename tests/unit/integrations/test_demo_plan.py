"""The living demo's plan, scheduler and references: seeded and reproducible, unique across runs."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from integrations.demo.backfill import CALLS_PER_MILLION, CHINA, last_year_calls
from integrations.demo.cities import city_of, load_cities
from integrations.demo.client import Platform
from integrations.demo.day import Demo
from integrations.demo.evaluations import ROUTES, citizen_rates
from integrations.demo.people import person
from integrations.demo.plan import CHANNELS, fate, new_run_id, plan_visits
from integrations.demo.scheduler import Scheduler
from shared.clock import ScenarioClock
from shared.pii import PersonData, id_number_problem
from shared.settings import PlatformSettings

CITIES = load_cities()


def first(seed: int, n: int = 300, per_hour: float = 10.0) -> list:
    return list(itertools.islice(plan_visits(seed, CITIES, per_hour), n))


def test_the_same_seed_plays_the_same_day() -> None:
    assert first(7) == first(7)
    assert first(7) != first(8)


def test_the_plan_covers_every_channel_city_and_walk_in_level() -> None:
    visits = first(7, 2000)
    assert {v.channel for v in visits} == set(CHANNELS)
    assert {v.city for v in visits} == {c.code for c in CITIES}
    assert {v.level for v in visits if v.channel == "walk_in"} == {"city", "county", "town", "village"}
    # some staff are late: hotline waits past 30 s and web replies past 300 minutes are planned
    assert any(v.wait_seconds > 30 for v in visits if v.channel == "hotline")
    assert any(v.reply_minutes > 300 for v in visits if v.channel == "web")
    assert any(v.path == "abandon" for v in visits)


def test_arrivals_follow_the_rate_in_scenario_time() -> None:
    visits = first(7, 2000, per_hour=10.0)
    assert all(a.offset < b.offset for a, b in itertools.pairwise(visits))
    hours = visits[-1].offset / 3600
    assert 2000 / hours == pytest.approx(10.0, rel=0.1)


def test_bigger_cities_send_more_citizens() -> None:
    per_city = Counter(v.city for v in first(7, 3000))
    assert per_city["431000"] > per_city["420700"] > per_city["500114"]  # 4.67 M > 1.08 M > 0.49 M residents


def test_walk_in_regions_match_their_level() -> None:
    """A city-level centre's code ends in 8 zeros, a county's in 6, a town's in 3 (GB/T 2260; intake checks)."""
    for v in first(7, 1000):
        if v.level == "city":
            assert v.region.endswith("00000000")
        elif v.level == "county":
            assert v.region.endswith("000000")
        elif v.level == "town":
            assert v.region.endswith("000") and not v.region.endswith("000000")


def test_citizens_have_valid_id_numbers_of_their_city() -> None:
    """GB 11643: 18 characters, the birth date and the check digit valid."""
    for n in range(50):
        p = person(7, n, "431000")
        assert id_number_problem(p["id_number"]) is None and p["id_number"].startswith("431000")
        PersonData.model_validate(p)
    assert person(7, 1, "431000") == person(7, 1, "431000")


def test_a_cases_fate_depends_only_on_the_seed_and_the_case() -> None:
    assert fate(7, "review", "la-1").random() == fate(7, "review", "la-1").random()
    assert fate(7, "review", "la-1").random() != fate(7, "review", "la-2").random()


def test_run_ids_and_references_are_unique_across_runs() -> None:
    runs = {new_run_id() for _ in range(200)}
    assert len(runs) == 200
    platform = Platform(PlatformSettings())
    a, b = (Demo(platform, Scheduler(ScenarioClock()), 7, run, CITIES) for run in sorted(runs)[:2])
    assert a.key(a.run_id, 1, "receive") != b.key(b.run_id, 1, "receive")
    assert "/" not in a.key("rq-1", "work-order/complete")  # idempotency keys are [A-Za-z0-9._:-]


def test_last_years_sample_is_seeded_and_lies_in_last_year() -> None:
    start = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    chenzhou = CITIES[0]
    calls = last_year_calls(7, chenzhou, start)
    assert calls == last_year_calls(7, chenzhou, start)
    local = [at.astimezone(CHINA) for _, at, _ in calls]
    assert {at.year for at in local} == {2025}  # the previous calendar year, China time (intake checks it)
    assert any((at.month, at.day) == (12, 4) for at in local)  # the same day a year before: day growth
    assert sum(at.month == 12 for at in local) > len(local) / 4  # the same month: month growth
    assert len(calls) == round(4.67 * CALLS_PER_MILLION)


async def until(condition, timeout: float = 5.0) -> None:
    """Poll until `condition()` holds (a loaded machine may be slow to run the scheduler's task)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


def test_scheduler_runs_acts_when_the_scenario_clock_reaches_them() -> None:
    real = [0.0]
    clock = ScenarioClock(rate=3600, epoch=0.0, real=lambda: real[0])
    sched = Scheduler(clock, max_sleep=0.01)
    ran: list[str] = []

    async def main() -> None:
        start = clock()
        for name, hours in (("late", 2.0), ("soon", 1.0)):

            async def act(name: str = name) -> None:
                ran.append(name)

            sched.at(start + timedelta(hours=hours), name, act)
        task = asyncio.create_task(sched.run())
        await asyncio.sleep(0.05)
        assert ran == []  # no scenario time has passed
        real[0] = 1.5  # 1.5 real seconds = 1.5 scenario hours
        await until(lambda: ran == ["soon"])
        real[0] = 3.0
        await until(lambda: ran == ["soon", "late"])
        task.cancel()

    asyncio.run(main())
    assert ran == ["soon", "late"] and sched.done == Counter({"soon": 1, "late": 1})


def test_a_failed_act_is_counted_and_may_be_scheduled_again() -> None:
    real = [0.0]
    clock = ScenarioClock(rate=3600, epoch=0.0, real=lambda: real[0])
    demo = Demo(Platform(PlatformSettings()), Scheduler(clock, max_sleep=0.01), 7, "r1", CITIES)

    async def refused() -> None:
        raise RuntimeError("409: not now")

    async def main() -> None:
        demo.later("la-1", "assign", 0, refused)
        demo.later("la-1", "assign", 0, refused)  # already scheduled: once only
        task = asyncio.create_task(demo.scheduler.run())
        await until(lambda: demo.scheduler.failed["assign"] == 1)
        task.cancel()

    asyncio.run(main())
    assert demo.scheduler.failed == Counter({"assign": 1})
    assert not demo.is_scheduled("la-1", "assign")  # the next round may try again


def test_citizens_rate_only_where_a_department_has_an_evaluation_route() -> None:
    """随单评价: intake's requests are rated (seed 000 satisfaction); a department without a route is not asked."""
    demo = Demo(Platform(PlatformSettings()), Scheduler(ScenarioClock()), 7, "r1", CITIES)
    rated = [f"rq-{n}" for n in range(20)]
    for case_id in rated:
        citizen_rates(demo, "intake", case_id)
        citizen_rates(demo, "court", f"ct-{case_id}")
    scheduled = {case_id for case_id in rated if demo.is_scheduled(case_id, "evaluate")}
    assert 8 <= len(scheduled) <= 20  # about seven in ten rate
    assert not any(demo.is_scheduled(f"ct-{c}", "evaluate") for c in rated)
    ROUTES["court"] = ("/rulings/{case_id}/evaluate", "satisfaction")  # a route added: one line
    try:
        for n in range(5):
            citizen_rates(demo, "court", f"ct-new-{n}")
        assert any(demo.is_scheduled(f"ct-new-{n}", "evaluate") for n in range(5))
    finally:
        del ROUTES["court"]


def test_a_region_belongs_to_its_city() -> None:
    """Providers are registered per city (a prefecture city, or the 黔江区 district): a town finds its city's."""
    assert city_of(CITIES, "431002001000") == "431000"
    assert city_of(CITIES, "500114001000") == "500114"
    assert city_of(CITIES, "340302000000") == "340300"
