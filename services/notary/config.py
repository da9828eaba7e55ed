"""Notary settings (prefix `NOTARY_`) and the loading of its versioned reference data, validated at start."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.notary.domain import HolidayCalendar, MatterCatalogue
from shared.settings import PlatformSettings

HERE = Path(__file__).resolve().parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOTARY_", extra="ignore")

    port: int = Field(default=8104, ge=1, le=65535)
    matters_file: Path = HERE / "matters.json"
    holidays_file: Path = HERE / "holidays.json"
    platform: PlatformSettings = Field(default_factory=PlatformSettings)

    @field_validator("matters_file", "holidays_file")
    @classmethod
    def _exists(cls, v: Path) -> Path:
        if not v.is_file():
            raise ValueError(f"file not found: {v}")
        return v


def _data(path: Path) -> dict[str, Any]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in raw.items() if not k.startswith("_")}  # "_comment" marks sample data


def load_catalogue(path: Path) -> MatterCatalogue:
    return MatterCatalogue.model_validate(_data(path))


def load_calendar(path: Path) -> HolidayCalendar:
    return HolidayCalendar.model_validate(_data(path))
