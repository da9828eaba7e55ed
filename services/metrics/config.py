"""Metrics service settings (env prefix `METRICS_`; platform settings under `CASEFLOW_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.metrics.catalogue import CATALOGUE_FILE
from services.metrics.reference import REGIONS_FILE
from shared.settings import PlatformSettings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="METRICS_", extra="ignore")

    port: int = Field(default=8105, ge=1, le=65535)
    catalogue_file: Path = CATALOGUE_FILE
    regions_file: Path = REGIONS_FILE
    #: the API process keeps a read replica of the fold state (the writer's state + follow the topics); off = query-less
    follow: bool = True
    max_batch: int = Field(default=2000, ge=1, le=100_000)
    #: faust's data directory and the settled-case stores (a cache of the writers' changelog: docs/decisions/0013)
    state_dir: Path = Path(".cache/metrics-state")
    #: how often the writer publishes the indicators changed since the last round (or after max_batch events), s
    batch_within: float = Field(default=0.1, gt=0, le=5)
    #: how long the writer's by-case fetch waits at the broker for data, ms (faust fixes 1,500: `faust_app.py`)
    fetch_max_wait_ms: int = Field(default=100, ge=1, le=1500)
    #: the writer's consumer-group session: how long a killed writer keeps its partitions from its successor, s
    session_timeout: float = Field(default=10.0, ge=6, le=300)
    platform: PlatformSettings = Field(default_factory=PlatformSettings)
