"""Notary settings (prefix `NOTARY_`; platform settings under `CASEFLOW_`), validated at start."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.notary.reference import HERE
from shared.settings import PlatformSettings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOTARY_", extra="ignore")

    port: int = Field(default=8104, ge=1, le=65535)
    matters_file: Path = HERE / "matters.json"
    platform: PlatformSettings = Field(default_factory=PlatformSettings)

    @field_validator("matters_file")
    @classmethod
    def _exists(cls, v: Path) -> Path:
        if not v.is_file():
            raise ValueError(f"file not found: {v}")
        return v
