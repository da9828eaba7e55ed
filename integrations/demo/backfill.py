"""Last year's hotline calls, as a sample (docs/decisions/0012): hotline growth compares this year's calls with
last year's, and a platform started today has none. Logged through intake's switchboard times (`offered_at`),
spread over last year with some in the same month and on the same day a year before the start, so the year's,
the month's and the day's growth all have a value. Keys depend on the seed and the year, not on the run: a
restart replays them instead of adding more."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta, timezone

from integrations.demo.cities import City
from integrations.demo.day import Demo

CHINA = timezone(timedelta(hours=8))
CALLS_PER_MILLION = 10  # sample calls per million residents


def last_year_calls(seed: int, city: City, start: datetime) -> list[tuple[int, datetime, int | None]]:
    """(index, offered_at, wait seconds or None when abandoned) of a city's sample, the same for the same seed."""
    local = start.astimezone(CHINA)
    year = local.year - 1
    rng = random.Random(f"{seed}:backfill:{city.code}:{year}")
    same_day = local.replace(year=year, hour=9, minute=0, second=0, microsecond=0) if not (
        local.month == 2 and local.day == 29) else local.replace(year=year, day=28, hour=9)  # fmt: skip
    jan1 = datetime(year, 1, 1, tzinfo=CHINA)
    month_start = same_day.replace(day=1, hour=0)
    calls = []
    for i in range(max(3, round(city.population / 1e6 * CALLS_PER_MILLION))):
        roll = rng.random()
        if roll < 0.1:
            at = same_day + timedelta(minutes=rng.uniform(0, 480))
        elif roll < 0.4:
            at = month_start + timedelta(days=rng.uniform(0, 27))
        else:
            at = jan1 + timedelta(days=rng.uniform(0, 364))
        wait = None if rng.random() < 0.08 else rng.randint(3, 40)
        calls.append((i, at.astimezone(UTC), wait))
    return calls


async def backfill(demo: Demo, start: datetime, concurrency: int = 4) -> int:
    """Log every city's sample of last year's calls; the number logged."""
    slots = asyncio.Semaphore(concurrency)

    async def one(city: City, i: int, at: datetime, wait: int | None) -> None:
        async with slots:
            key = demo.key("backfill", demo.seed, city.code, at.year, i)
            call = await demo.platform.post("intake", "/calls", {"region": city.region, "offered_at": at.isoformat()},
                                            key)  # fmt: skip
            if wait is not None:
                answered = {"answered_at": (at + timedelta(seconds=wait)).isoformat()}
                await demo.platform.post("intake", f"/calls/{call['call_id']}/answer", answered, key + "-answer")

    jobs = [one(c, i, at, w) for c in demo.cities for i, at, w in last_year_calls(demo.seed, c, start)]
    await asyncio.gather(*jobs)
    return len(jobs)
