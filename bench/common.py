"""What every benchmark shares: the servers it runs against, timing, and the report rows."""

from __future__ import annotations

import statistics
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from caseflow_cli import infra
from shared.settings import PlatformSettings


class BenchInfraSettings(infra.InfraSettings):
    """The benchmarks' own plaintext servers (`CASEFLOW_BENCH_INFRA_*`), apart from `make run`'s secure ones, so
    a bench runs whether or not the demo is up and its load never shares a broker with the demo."""

    model_config = SettingsConfigDict(env_prefix="CASEFLOW_BENCH_INFRA_", extra="ignore")

    home: Path = infra.REPO_ROOT / ".cache" / "bench-infra"
    kafka_port: int = Field(default=28092, ge=1, le=65535)
    kafka_controller_port: int = Field(default=28093, ge=1, le=65535)
    postgres_port: int = Field(default=28432, ge=1, le=65535)
    secure: bool = False
    zipkin: bool = False  # benchmarks export no spans


@dataclass
class Row:
    name: str
    figure: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    goal: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return self.figure / self.baseline if self.baseline else None


class Report:
    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(self, row: Row) -> None:
        self.rows.append(row)
        ratio = f"  ratio {row.ratio:.2f}" if row.ratio is not None else ""
        base = f" (baseline {row.baseline_name}: {row.baseline:,.1f})" if row.baseline is not None else ""
        extra = "".join(f"  {k} {v:,.2f}" for k, v in row.extra.items())
        print(f"  {row.name}: {row.figure:,.1f} {row.unit}{base}{ratio}{extra}", flush=True)


def bench_platform() -> PlatformSettings:
    """Bench servers (started if needed, left running: `make bench-down` stops them), with a fresh topic prefix."""
    status = infra.up(BenchInfraSettings())
    return PlatformSettings(
        kafka_bootstrap=status.kafka_bootstrap,
        database_url=status.database_url,
        topic_prefix=f"bench{uuid.uuid4().hex[:8]}",
        partitions=3,
    )


def percentile(samples: list[float], p: float) -> float:
    if not samples:
        return float("nan")
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[int(p) - 1]


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.start
