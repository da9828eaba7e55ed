"""Gateway settings (env prefix `GATEWAY_`), nesting the platform settings."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.envelope import MAX_EVENT_BYTES
from shared.settings import PlatformSettings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    port: int = Field(default=8106, ge=1, le=65535)
    # below the consumers' limit (MAX_EVENT_BYTES, on the whole value), so nothing accepted here is refused later
    max_event_bytes: int = Field(
        default=64_000, ge=1_000, le=MAX_EVENT_BYTES // 2, description="largest accepted payload (bytes of JSON)"
    )
    pull_wait_seconds: float = Field(default=2.0, gt=0, le=30, description="how long a pull waits for records")
    platform: PlatformSettings = Field(default_factory=PlatformSettings)
