"""Legal aid service settings (env prefix `LEGAL_AID_`), nesting the platform settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.legal_aid.reference import HERE
from shared.settings import PlatformSettings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEGAL_AID_", extra="ignore")

    port: int = Field(default=8102, ge=1, le=65535)
    profiles_file: Path = HERE / "profiles.json"
    providers_file: Path = HERE / "providers.json"
    platform: PlatformSettings = Field(default_factory=PlatformSettings)
