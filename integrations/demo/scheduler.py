"""Acts due at platform times: a heap the demo's citizens and staff put work on, run when the scenario clock
reaches each act's time, a few at a time (gentle on a small machine)."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from shared.clock import ScenarioClock

log = logging.getLogger("integrations.demo")
Act = Callable[[], Awaitable[Any]]


class Scheduler:
    """Runs each act once the scenario clock reaches its time; counts what ran and what failed, per name."""

    def __init__(self, clock: ScenarioClock, *, concurrency: int = 4, max_sleep: float = 0.5) -> None:
        self.clock = clock
        self._heap: list[tuple[datetime, int, str, Act]] = []
        self._seq = itertools.count()
        self._slots = asyncio.Semaphore(concurrency)
        self._running: set[asyncio.Task[None]] = set()
        self.max_sleep = max_sleep
        self.done: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()

    def at(self, when: datetime, name: str, act: Act) -> None:
        heapq.heappush(self._heap, (when, next(self._seq), name, act))

    def after(self, scenario_seconds: float, name: str, act: Act) -> None:
        self.at(self.clock() + timedelta(seconds=scenario_seconds), name, act)

    def pending(self) -> int:
        return len(self._heap) + len(self._running)

    async def run(self) -> None:
        """Forever (cancel to stop): sleep until the next act is due, run it within the concurrency bound."""
        try:
            while True:
                now = self.clock()
                if self._heap and self._heap[0][0] <= now:
                    _, _, name, act = heapq.heappop(self._heap)
                    await self._slots.acquire()
                    task = asyncio.create_task(self._one(name, act))
                    self._running.add(task)
                    task.add_done_callback(self._running.discard)
                    continue
                wait = self.max_sleep
                if self._heap:
                    wait = min(wait, self.clock.real_seconds((self._heap[0][0] - now).total_seconds()))
                await asyncio.sleep(max(wait, 0.005))
        finally:
            for task in list(self._running):
                task.cancel()
            for task in list(self._running):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _one(self, name: str, act: Act) -> None:
        try:
            await act()
            self.done[name] += 1
        except Exception as exc:  # an act refused by a department is counted and logged, the day goes on
            self.failed[name] += 1
            log.warning("%s failed: %s", name, exc)
        finally:
            self._slots.release()
