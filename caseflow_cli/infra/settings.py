"""What the local servers are and where they live: ``InfraSettings`` (``CASEFLOW_INFRA_*``), the Kafka nodes
it describes, and the status records ``status`` returns."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DIR = REPO_ROOT / "deploy" / "local"
KAFKA_POM = DEPLOY_DIR / "kafka-pom.xml"
HOST = "127.0.0.1"

KAFKA = "kafka"
POSTGRES = "postgres"
ZIPKIN = "zipkin"
SERVERS = (KAFKA, POSTGRES, ZIPKIN)
# each has a LOGIN role of its name owning a database of its name, which no other role may connect to
DATABASE_SERVICES = ("intake", "legal_aid", "mediation", "notary", "metrics", "gateway", "router")

STOP_TIMEOUT = 15.0
LOG_TAIL_LINES = 20
# Restricted so a password needs no quoting in a connection URL, StorageTool's `--add-scram` syntax or a JAAS line.
PASSWORD_RE = re.compile(r"^[A-Za-z0-9._~-]{8,128}$")


class InfraError(Exception):
    """A failure with a message meant for a human (printed without traceback by the CLI)."""


def env_name(field_name: str) -> str:
    """The environment variable that sets an ``InfraSettings`` field."""
    return f"CASEFLOW_INFRA_{field_name.upper()}"


def read_passwords(
    path: Path, section: str, names: Sequence[str], *, fixed: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``name -> password`` for each of ``names`` from the ``section`` object of the JSON credentials file
    (``InfraSettings.credentials_file``); ``fixed``: top-level fields that, when present, must hold these values."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise InfraError(f"cannot read the credentials file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise InfraError(f"the credentials file {path} is not valid JSON: {exc}") from None
    passwords = data.get(section) if isinstance(data, dict) else None
    if not isinstance(passwords, dict):
        raise InfraError(f"{path}: expected a `{section}` object (name -> password)")
    missing = [n for n in names if n not in passwords]
    if missing:
        raise InfraError(f"{path}: no password for {', '.join(missing)} in `{section}`")
    for name in names:
        if not isinstance(passwords[name], str) or not PASSWORD_RE.match(passwords[name]):
            raise InfraError(f"{path}: `{section}.{name}` must be 8-128 characters from A-Za-z0-9._~-")
    for key, value in (fixed or {}).items():
        if data.get(key, value) != value:
            raise InfraError(f"{path}: `{key}` must be {value}")
    return {n: passwords[n] for n in names}


class InfraSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEFLOW_INFRA_", extra="ignore")

    home: Path = REPO_ROOT / ".cache" / "infra"
    cache: Path = REPO_ROOT / ".cache"
    # defaults below Linux's ephemeral range (32768-60999), where a client socket's local port could hold them
    kafka_port: int = Field(default=19092, ge=1, le=65535)
    kafka_controller_port: int = Field(default=19093, ge=1, le=65535)
    postgres_port: int = Field(default=19432, ge=1, le=65535)
    zipkin_port: int = Field(default=19411, ge=1, le=65535)
    kafka_version: str = Field(default="3.9.1", pattern=r"^\d+\.\d+\.\d+$")
    zipkin_version: str = Field(default="3.5.1", pattern=r"^\d+\.\d+\.\d+$")
    #: run the Zipkin trace viewer beside Kafka and PostgreSQL
    zipkin: bool = True
    start_timeout: float = Field(default=90, gt=0)
    secure: bool = False
    credentials_file: Path = DEPLOY_DIR / "dev-credentials.json"
    # cluster mode: brokers > 1 runs that many KRaft nodes (see the package docstring)
    brokers: int = Field(default=1, ge=1, le=9)
    partitions: int = Field(default=1, ge=1, le=1000, description="cluster mode: num.partitions of auto-created topics")

    @model_validator(mode="after")
    def _distinct_ports(self) -> InfraSettings:
        ports = {
            "kafka_port": self.kafka_port,
            "kafka_controller_port": self.kafka_controller_port,
            "postgres_port": self.postgres_port,
            **({"zipkin_port": self.zipkin_port} if self.zipkin else {}),
        }
        seen: dict[int, str] = {}
        for name, port in ports.items():
            if port in seen:
                raise ValueError(
                    f"{env_name(name)} and {env_name(seen[port])} must be different ports (both are {port})"
                )
            seen[port] = name
        if self.brokers > 1:
            self._distinct_cluster_ports()
        return self

    def _distinct_cluster_ports(self) -> None:
        seen: dict[int, str] = {self.postgres_port: "postgres_port"}
        if self.zipkin:
            seen[self.zipkin_port] = "zipkin_port"
        for node in self.kafka_nodes:
            for label, port in ((node.name, node.port), (f"{node.name} controller", node.controller_port)):
                if not 0 < port < 65536:
                    raise ValueError(f"{label} would listen on port {port}: lower CASEFLOW_INFRA_KAFKA_PORT")
                if port in seen:
                    raise ValueError(
                        f"{label} and {seen[port]} would share port {port}: node i uses CASEFLOW_INFRA_KAFKA_PORT"
                        "+2(i-1) and CASEFLOW_INFRA_KAFKA_CONTROLLER_PORT+2(i-1); pick ports further apart"
                    )
                seen[port] = label

    @property
    def cluster(self) -> bool:
        return self.brokers > 1

    @property
    def kafka_nodes(self) -> list[KafkaNode]:
        """The Kafka processes: one node named ``kafka`` (the historical layout) or ``kafka-1`` .. ``kafka-N``."""
        if not self.cluster:
            return [KafkaNode(KAFKA, 1, self.kafka_port, self.kafka_controller_port, self.kafka_dir)]
        return [
            KafkaNode(
                f"{KAFKA}-{i}", i, self.kafka_port + 2 * (i - 1), self.kafka_controller_port + 2 * (i - 1),
                self.home / f"{KAFKA}-{i}",
            )
            for i in range(1, self.brokers + 1)
        ]  # fmt: skip

    def kafka_node(self, server: str) -> KafkaNode | None:
        return next((n for n in self.kafka_nodes if n.name == server), None)

    @property
    def servers(self) -> tuple[str, ...]:
        return (*(n.name for n in self.kafka_nodes), POSTGRES, *((ZIPKIN,) if self.zipkin else ()))

    # ---- derived paths -------------------------------------------------------------------------

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def kafka_dir(self) -> Path:
        return self.home / "kafka"

    @property
    def kafka_data_dir(self) -> Path:
        return self.kafka_dir / "data"

    @property
    def zipkin_dir(self) -> Path:
        return self.home / "zipkin"

    @property
    def zipkin_jar(self) -> Path:
        return self.cache / f"zipkin-server-{self.zipkin_version}-exec.jar"

    @property
    def kafka_libs(self) -> Path:
        return self.cache / f"kafka-{self.kafka_version}" / "libs"

    def pid_file(self, server: str) -> Path:
        return self.run_dir / f"{server}.pid"

    def log_file(self, server: str) -> Path:
        return self.logs_dir / f"{server}.log"

    def port_of(self, server: str) -> int:
        node = self.kafka_node(server)
        if node is not None:
            return node.port
        return {KAFKA: self.kafka_port, ZIPKIN: self.zipkin_port}.get(server, self.postgres_port)


@dataclass(frozen=True)
class KafkaNode:
    """One KRaft process (broker+controller): its id, ports and directory (config in it, data in ``data``)."""

    name: str
    node_id: int
    port: int
    controller_port: int
    dir: Path

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"


@dataclass
class ServerStatus:
    name: str
    port: int
    pid: int | None
    running: bool
    ready: bool
    log_path: Path
    extra_ports: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["log_path"] = str(self.log_path)
        return d


@dataclass
class InfraStatus:
    kafka: ServerStatus  # in cluster mode: the first node
    postgres: ServerStatus
    host: str = HOST
    secure: bool = False
    kafka_nodes: list[ServerStatus] = field(default_factory=list)  # cluster mode: every node
    # the superuser's URL (database ``caseflow``), for operators and tests; services get ``database_url_for``
    database_url: str = field(default="", repr=False)
    postgres_data: Path | None = None  # the cluster's data directory
    zipkin: ServerStatus | None = None  # the trace viewer, unless CASEFLOW_INFRA_ZIPKIN=0

    @property
    def zipkin_url(self) -> str | None:
        """Zipkin's base URL (its UI under ``/zipkin/``), None when it is not part of the configuration."""
        return f"http://{self.host}:{self.zipkin.port}" if self.zipkin is not None else None

    @property
    def kafka_bootstrap(self) -> str:
        return ",".join(f"{self.host}:{n.port}" for n in (self.kafka_nodes or [self.kafka]))

    @property
    def servers(self) -> list[ServerStatus]:
        return [*(self.kafka_nodes or [self.kafka]), self.postgres, *([self.zipkin] if self.zipkin else [])]

    @property
    def all_ready(self) -> bool:
        return all(s.ready for s in self.servers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kafka_bootstrap": self.kafka_bootstrap,
            "database_url": self.database_url,
            "postgres_data": str(self.postgres_data) if self.postgres_data else None,
            "zipkin_url": self.zipkin_url,
            "ready": self.all_ready,
            "kafka_security_protocol": "SASL_PLAINTEXT" if self.secure else "PLAINTEXT",
            "servers": {s.name: s.to_dict() for s in self.servers},
        }
