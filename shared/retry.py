"""The one backoff every retry loop uses: pauses that double up to a ceiling, with optional full jitter."""

from __future__ import annotations

import asyncio
import random


class Backoff:
    """Pauses that double from `first` up to `ceiling`; `reset` after a success starts from `first` again.

    With `jitter`, each pause is drawn uniformly from zero to the current step, which spreads racers apart."""

    def __init__(self, first: float = 0.1, ceiling: float = 5.0, *, jitter: bool = False) -> None:
        if first < 0 or ceiling < 0:
            raise ValueError("pauses cannot be negative")
        self.first = min(first, ceiling)
        self.ceiling = ceiling
        self.jitter = jitter
        self.step = self.first

    def next(self) -> float:
        """The next pause, in seconds (and the step after it doubles)."""
        pause = random.uniform(0, self.step) if self.jitter else self.step
        self.step = min(self.step * 2, self.ceiling)
        return pause

    async def sleep(self) -> float:
        pause = self.next()
        await asyncio.sleep(pause)
        return pause

    def reset(self) -> None:
        self.step = self.first
