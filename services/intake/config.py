"""Intake service configuration (env prefix `INTAKE_`; platform settings under `CASEFLOW_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.intake.domain.rules import DEFAULT_COMPLAINT_REPLY_DAYS
from shared.settings import PlatformSettings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    port: int = Field(default=8101, ge=1, le=65535)
    #: days a complaint's reply is due after the day it is received (default 60: 信访工作条例 art. 35; see
    #: services/intake/domain/rules.py); a city promising a shorter time sets `INTAKE_COMPLAINT_REPLY_DAYS`
    complaint_reply_days: int = Field(default=DEFAULT_COMPLAINT_REPLY_DAYS, ge=1, le=365)
    platform: PlatformSettings = Field(default_factory=PlatformSettings)
