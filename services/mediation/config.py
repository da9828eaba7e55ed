"""Mediation service settings (env prefix `MEDIATION_`; platform settings under `CASEFLOW_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.mediation.reference import DATA_FILE
from shared.contracts.mediation import Source
from shared.settings import PlatformSettings

#: Days a mediation from each source normally takes before it counts as overdue (诉前调解: 30 days unless
#: extended by the parties' consent; 警调对接 disputes are simple and quick). Override with
#: MEDIATION_TIME_LIMITS='{"police_110": 10, ...}'.
DEFAULT_TIME_LIMITS: dict[Source, int] = {
    Source.WALK_IN: 30,
    Source.INTAKE: 30,
    Source.POLICE_110: 15,
    Source.COURT_PRE_LITIGATION: 30,
    Source.PROCURATORATE_RECONCILIATION: 30,
    Source.PETITION: 30,
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEDIATION_", extra="ignore")

    port: int = Field(default=8103, ge=1, le=65535)
    committees_file: Path = DATA_FILE
    time_limits: dict[Source, int] = Field(default_factory=lambda: dict(DEFAULT_TIME_LIMITS))
    follow_up_days: int = Field(default=30, ge=1, le=365, description="days after an agreement to visit (回访)")
    closing_within_days: int = Field(default=5, ge=0, le=30, description="worklist: windows closing within N days")
    sweep_interval_seconds: float = Field(default=600, ge=0, description="lapsed-window sweep; 0 disables it")
    platform: PlatformSettings = Field(default_factory=PlatformSettings)

    @field_validator("time_limits")
    @classmethod
    def _every_source(cls, v: dict[Source, int]) -> dict[Source, int]:
        merged = {**DEFAULT_TIME_LIMITS, **v}  # a partial override keeps the other sources' defaults
        bad = [f"{k.value}={d}" for k, d in merged.items() if not 1 <= d <= 365]
        if bad:
            raise ValueError(f"time limits must be 1..365 days: {', '.join(bad)}")
        return merged

    def time_limit(self, source: Source) -> int:
        return self.time_limits[source]
