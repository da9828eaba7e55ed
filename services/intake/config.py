"""Intake service configuration (env prefix `INTAKE_`; platform settings under `CASEFLOW_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import PlatformSettings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    port: int = Field(default=8101, ge=1, le=65535)
    platform: PlatformSettings = Field(default_factory=PlatformSettings)
