"""The demo's day: what citizens and staff share (platform clients, the scheduler, the seed and run id), and the
loop that puts planned visits and staff rounds on the scheduler."""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from integrations.demo.cities import City
from integrations.demo.client import Platform
from integrations.demo.plan import HOUR, Visit, fate, plan_visits
from integrations.demo.scheduler import Act, Scheduler

log = logging.getLogger("integrations.demo")
MAX_ATTEMPTS = 3


@dataclass
class Demo:
    """The shared state of one demo run."""

    platform: Platform
    scheduler: Scheduler
    seed: int
    run_id: str
    cities: Sequence[City]
    _scheduled: set[tuple[str, str]] = field(default_factory=set)
    _failures: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: places staff promised to acts not yet done (a provider's case load, before the department counts it)
    reserved: Counter[str] = field(default_factory=Counter)

    def key(self, *parts: object) -> str:
        """An idempotency key for one act on one thing."""
        return "demo-" + "-".join(str(p).replace("/", ".") for p in parts)

    def is_scheduled(self, case_id: str, step: str) -> bool:
        return (case_id, step) in self._scheduled

    def first_time(self, case_id: str, step: str) -> bool:
        """True once per (case, step): a staff round schedules each step of a case once."""
        if (case_id, step) in self._scheduled:
            return False
        self._scheduled.add((case_id, step))
        return True

    def later(self, case_id: str, step: str, hours: float, act: Act) -> None:
        """Schedule `step` on a case `hours` of scenario time from now, unless it is already scheduled. A step that
        fails may be scheduled again by a later round (a few times: then it is left to a person)."""
        if not self.first_time(case_id, step):
            return

        async def attempt() -> None:
            try:
                await act()
            except Exception:
                self._failures[(case_id, step)] += 1
                if self._failures[(case_id, step)] < MAX_ATTEMPTS:
                    self._scheduled.discard((case_id, step))
                raise

        self.scheduler.after(hours * HOUR, step, attempt)

    def latency(self, case_id: str, step: str, usual: tuple[float, float], late: tuple[float, float] | None = None,
                late_share: float = 0.12) -> float:  # fmt: skip
        """Hours a staff member takes for `step` on a case: usually within `usual` (log-uniform: most acts are
        quick, a few take long), and with `late` given some past it (deadlines missed)."""
        rng = fate(self.seed, step, case_id)
        lo, hi = late if late is not None and rng.random() < late_share else usual
        return math.exp(rng.uniform(math.log(lo), math.log(hi)))

    def due(self, case_id: str, step: str, usual: tuple[float, float], act: Act,
            late: tuple[float, float] | None = None, late_share: float = 0.12) -> None:  # fmt: skip
        """Schedule `step` after the staff member's latency for it (`latency`)."""
        self.later(case_id, step, self.latency(case_id, step, usual, late, late_share), act)

    def act(self, dept: str, collection: str, case_id: str, name: str, body: dict[str, Any] | None) -> Act:
        """The act `POST {collection}/{case_id}/{name}` with its idempotency key, answering the department's view."""

        async def act() -> Any:
            path = f"{collection}/{case_id}/{name}"
            return await self.platform.post(dept, path, body, self.key(case_id, name))

        return act

    async def worklist(self, dept: str, path: str, status: str) -> list[dict[str, Any]]:
        """One page (200) of a department's cases in `status`, from a list answering `{"items": [...]}`."""
        page = await self.platform.get(dept, path, status=status, limit=200)
        items: list[dict[str, Any]] = page["items"]
        return items


Round = Callable[[Demo], Awaitable[None]]


async def plan_loop(demo: Demo, per_hour: float, start: datetime, handle: Callable[[Demo, Visit], Act]) -> None:
    """Put each planned visit on the scheduler shortly before it is due (the plan is endless)."""
    for visit in plan_visits(demo.seed, demo.cities, per_hour):
        due = start + timedelta(seconds=visit.offset)
        while demo.scheduler.clock() < due - timedelta(minutes=30):
            await asyncio.sleep(0.2)
        demo.scheduler.at(due, f"visit:{visit.channel}", handle(demo, visit))


async def rounds_loop(demo: Demo, rounds: Sequence[Round], every: float) -> None:
    """Each department's staff look at their worklists every `every` real seconds."""
    while True:
        for one in rounds:
            try:
                await one(demo)
            except Exception as exc:  # a department down for a moment: the next round tries again
                log.warning("%s round failed: %s", one.__module__, exc)
        await asyncio.sleep(every)
