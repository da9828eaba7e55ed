"""The scenario clock: the platform's "now" for domain purposes, optionally running faster than real time.

Platform time = epoch + (real time − epoch) × rate (`CASEFLOW_CLOCK_RATE`, `CASEFLOW_CLOCK_EPOCH`; rate 1 is real
time). Every process started together shares one epoch, so they agree on the time. Commands, envelopes, deadlines,
indicators' current periods and the simulators read it; token expiry, console sessions and dead-letter stamps
stay on real time (they concern the machine, not the scenario).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shared.settings import ClockSettings


@dataclass(frozen=True)
class ScenarioClock:
    """Platform time from real time: `clock()` is an aware UTC datetime."""

    rate: float = 1.0
    epoch: float = 0.0
    real: Callable[[], float] = field(default=time.time, compare=False)

    def timestamp(self) -> float:
        """Platform time as unix seconds."""
        real = self.real()
        return real if self.rate == 1.0 else self.epoch + (real - self.epoch) * self.rate

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def real_seconds(self, scenario_seconds: float) -> float:
        """How long `scenario_seconds` of platform time take on the real clock."""
        return scenario_seconds / self.rate

    @classmethod
    def from_settings(cls, settings: ClockSettings) -> ScenarioClock:
        return cls(rate=settings.clock_rate, epoch=settings.clock_epoch or 0.0)


_platform: ScenarioClock | None = None


def platform_clock() -> ScenarioClock:
    """The process's scenario clock, read once from `CASEFLOW_CLOCK_*` (validated: a bad value raises)."""
    global _platform
    if _platform is None:
        _platform = ScenarioClock.from_settings(ClockSettings())
    return _platform


def use_clock(clock: ScenarioClock | None) -> None:
    """Replace the process's scenario clock (None: read the environment again on next use)."""
    global _platform
    _platform = clock


def now() -> datetime:
    """Platform time now (aware, UTC)."""
    return platform_clock()()
