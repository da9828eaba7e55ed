"""Typed configuration from environment variables (pydantic-settings), validated at start.

`PlatformSettings` (prefix `CASEFLOW_`) holds what every process shares: broker, database, topics, telemetry,
auth, and the scenario clock (`ClockSettings`, read on its own by `shared.clock`). A service's own `Settings`
nests it and adds fields under its own prefix. `load_settings` turns a validation error into a one-line message
naming the environment variable, and exits with status 2.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Literal, TypeVar

from psycopg import ProgrammingError
from psycopg.conninfo import conninfo_to_dict
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "caseflow-local-development-secret-not-for-production"  # marked local-only on purpose
#: where spans may go (`CASEFLOW_OTEL_EXPORTER`, several at once: `zipkin,file`)
EXPORTERS = ("console", "otlp", "file", "zipkin")
#: how far ahead of the real clock an epoch may lie (processes started together read slightly different clocks)
EPOCH_SKEW_SECONDS = 60.0
MAX_CLOCK_RATE = 100_000.0


class ClockSettings(BaseSettings):
    """The scenario clock: platform time = epoch + (real time − epoch) × rate (1 = real time)."""

    model_config = SettingsConfigDict(env_prefix="CASEFLOW_", extra="ignore")

    clock_rate: float = Field(
        default=1.0, ge=1.0, le=MAX_CLOCK_RATE, allow_inf_nan=False, description="scenario seconds per real second"
    )
    clock_epoch: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="unix seconds at which platform time equals real time"
    )

    @field_validator("clock_epoch")
    @classmethod
    def _epoch_not_ahead(cls, v: float | None) -> float | None:
        if v is not None and v > time.time() + EPOCH_SKEW_SECONDS:
            raise ValueError(f"must not lie more than {EPOCH_SKEW_SECONDS:.0f} s in the future (unix seconds)")
        return v

    @model_validator(mode="after")
    def _epoch_with_rate(self) -> ClockSettings:
        if self.clock_rate != 1.0 and self.clock_epoch is None:
            raise ValueError(
                "CASEFLOW_CLOCK_EPOCH is required when CASEFLOW_CLOCK_RATE is not 1, so every process shares one "
                "scenario time"
            )
        return self


class PlatformSettings(ClockSettings):
    model_config = SettingsConfigDict(env_prefix="CASEFLOW_", extra="ignore")

    kafka_bootstrap: str = Field(default="127.0.0.1:19092", description="host:port[,host:port...]")
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"] = "SCRAM-SHA-512"
    kafka_username: str | None = None
    kafka_password: SecretStr | None = None
    database_url: SecretStr = Field(
        default=SecretStr("postgresql://caseflow_admin:dev-only-admin-pg-2c7e91@127.0.0.1:19432/caseflow"),
        description="postgresql://user:password@host:port/database, the service's own role and database",
    )
    database_pool_size: int = Field(default=10, ge=1, le=200)
    topic_prefix: str = Field(default="caseflow", pattern=r"^[a-z0-9][a-z0-9_-]{0,40}$")
    partitions: int = Field(default=6, ge=1, le=1000)
    replication_factor: int = Field(default=1, ge=1, le=7)
    otel_exporter: str = Field(default="none", description="none, or a comma-separated set of " + ",".join(EXPORTERS))
    otel_endpoint: str = "http://127.0.0.1:4318"
    otel_file: str = ".cache/traces.jsonl"
    otel_zipkin_endpoint: str = Field(
        default="http://127.0.0.1:19411/api/v2/spans", pattern=r"^https?://", description="Zipkin's span intake"
    )
    auth_secret: SecretStr = SecretStr(DEV_SECRET)
    auth_issuer: str = "caseflow"
    pii_pepper: SecretStr = SecretStr("caseflow-local-development-pepper-not-for-production")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    def to_env(self) -> dict[str, str]:
        """These settings as the environment of a child process (`CASEFLOW_*`), secrets included."""
        env = {}
        for name, value in self.model_dump().items():
            if value is not None:
                plain = value.get_secret_value() if isinstance(value, SecretStr) else value
                env[f"CASEFLOW_{name.upper()}"] = str(plain)
        return env

    @property
    def otel_exporters(self) -> tuple[str, ...]:
        """The exporters `otel_exporter` names (empty for `none`)."""
        return tuple(e for e in self.otel_exporter.split(",") if e != "none")

    @field_validator("otel_exporter")
    @classmethod
    def _known_exporters(cls, v: str) -> str:
        names = [e.strip() for e in v.split(",") if e.strip()] or ["none"]
        unknown = [e for e in names if e not in (*EXPORTERS, "none")]
        if unknown:
            raise ValueError(f"unknown exporter {unknown[0]!r}: expected none or some of {', '.join(EXPORTERS)}")
        if "none" in names and len(names) > 1:
            raise ValueError("`none` cannot be combined with an exporter")
        return ",".join(dict.fromkeys(names))

    @field_validator("kafka_bootstrap")
    @classmethod
    def _host_ports(cls, v: str) -> str:
        for part in v.split(","):
            host, sep, port = part.strip().rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"expected host:port, got {part!r}")
        return v

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, v: SecretStr) -> SecretStr:
        url = v.get_secret_value()
        if not url.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        try:
            conninfo_to_dict(url)
        except ProgrammingError as exc:
            raise ValueError(f"not a valid connection URL: {exc}") from None
        return v

    @field_validator("auth_secret")
    @classmethod
    def _long_secret(cls, v: SecretStr) -> SecretStr:
        if len(v.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")
        return v


T = TypeVar("T", bound=BaseSettings)


def load_settings(cls: type[T], **values: Any) -> T:
    """Instantiate settings (from the environment, or `values`) or exit(2) naming the variable and the problem."""
    try:
        return cls(**values)
    except ValidationError as exc:
        print(describe_settings_error(exc, cls), file=sys.stderr)
        raise SystemExit(2) from None


def describe_settings_error(exc: ValidationError, cls: type[BaseSettings]) -> str:
    prefix = _prefix_of(exc.title, cls)
    lines = [f"invalid configuration ({exc.error_count()} problem(s)):"]
    for err in exc.errors():
        name = prefix + "_".join(str(p) for p in err["loc"]).upper()
        lines.append(f"  {name}: {err['msg']} (got {err.get('input')!r})")
    return "\n".join(lines)


def _prefix_of(title: str, cls: type[BaseSettings]) -> str:
    candidates: list[type[BaseSettings]] = [cls, PlatformSettings, *cls.__mro__]
    for field in getattr(cls, "model_fields", {}).values():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseSettings):
            candidates.append(ann)
    for c in candidates:
        if isinstance(c, type) and c.__name__ == title:
            return str(c.model_config.get("env_prefix", ""))
    return str(cls.model_config.get("env_prefix", ""))
