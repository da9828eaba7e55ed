"""`make run`'s scenario clock: one epoch for every program, chosen so the scenario resumes where the last run
with the same topic prefix stopped (a restart never moves platform time back behind acts already recorded).

Platform time = epoch + (real − epoch) × rate (shared/clock.py). The run notes its platform time in
`<infra home>/scenario-clock-<prefix>.json` every few seconds; the next run picks the epoch in the past that
makes platform time equal that note now: epoch = now − (noted − now) / (rate − 1). `make infra-wipe` forgets it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from shared.clock import ScenarioClock
from shared.settings import ClockSettings, load_settings


@dataclass(frozen=True)
class RunClock:
    rate: float
    epoch: float
    note: Path

    @classmethod
    def resume(cls, rate: float, note: Path, now: float | None = None) -> RunClock:
        """The clock for a run starting `now`: where the last run stopped if it got ahead of real time, else now
        (validated as the programs will: a bad rate exits here with status 2)."""
        now = time.time() if now is None else now
        ahead = max(0.0, _noted(note) - now)
        epoch = now - ahead / (rate - 1) if rate > 1 else now
        settings = load_settings(ClockSettings, clock_rate=rate, clock_epoch=epoch)
        return cls(settings.clock_rate, settings.clock_epoch or now, note)

    def env(self) -> dict[str, str]:
        """`CASEFLOW_CLOCK_*` for every program."""
        return {"CASEFLOW_CLOCK_RATE": repr(self.rate), "CASEFLOW_CLOCK_EPOCH": repr(self.epoch)}

    def scenario(self, real: float | None = None) -> ScenarioClock:
        """The platform clock this run gives its programs (at a fixed real time `real`, for tests)."""
        return ScenarioClock(self.rate, self.epoch, real=time.time if real is None else lambda: real)

    def save(self, real: float | None = None) -> None:
        """Note platform time now, for the next run to resume from."""
        self.note.parent.mkdir(parents=True, exist_ok=True)
        self.note.write_text(json.dumps({"platform_time": self.scenario(real).timestamp(), "rate": self.rate}))


def _noted(note: Path) -> float:
    try:
        return float(json.loads(note.read_text())["platform_time"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0
