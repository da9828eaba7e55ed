"""Local infrastructure manager: a real single-node Kafka (KRaft) and PostgreSQL 15, no Docker.

Kafka runs from the Maven Central jars (fetched with ``mvn`` through ``deploy/local/kafka-pom.xml``);
PostgreSQL is Debian's ``postgresql-15`` (installed with apt-get when missing and we are root), running a
cluster of the project's own (``caseflow_cli.postgres``: initdb, roles, one database per service).  Both
listen on 127.0.0.1 only.

Layout::

    <cache>/kafka-<version>/libs/*.jar     broker classpath (shared, fetched once)
    <home>/run/<server>.pid                JSON pid records of the processes we started
    <home>/logs/<server>.log               server logs (kafka.log is written by log4j)
    <home>/kafka/data                      KRaft log dirs (formatted once, kept across restarts)
    <home>/kafka/security.json             the mode the log dirs were formatted in (secure or not)
    <home>/postgres/data                   the PostgreSQL cluster (or relocated: see caseflow_cli.postgres)

Cluster mode (``CASEFLOW_INFRA_BROKERS=3``): N combined broker+controller KRaft nodes named ``kafka-1`` ..
``kafka-N`` with a controller quorum of N, replication factor min(N, 3) and ``min.insync.replicas=2``.
Node i (1-based) listens on ``kafka_port + 2(i-1)`` and its controller on ``kafka_controller_port + 2(i-1)``
and keeps its own ``<home>/kafka-<i>/`` (data, config), ``run/kafka-<i>.pid`` and ``logs/kafka-<i>.log``.
``kill_server`` / ``start_server`` stop (kill -9) and start a single node, for fault tests.

Secure mode (``CASEFLOW_INFRA_SECURE=1``, see docs/SECURITY.md): the client listener is SASL_PLAINTEXT
with SCRAM-SHA-512, the standard ACL authoriser refuses everything not granted, and the SCRAM users
from ``CASEFLOW_INFRA_CREDENTIALS_FILE`` are created when the storage is formatted; ``caseflow_cli.acl``
owns the principals and their ACLs.  The controller listener stays PLAINTEXT (principal ANONYMOUS).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import typer
from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from caseflow_cli import postgres

REPO_ROOT = Path(__file__).resolve().parents[1]
DEPLOY_DIR = REPO_ROOT / "deploy" / "local"
KAFKA_POM = DEPLOY_DIR / "kafka-pom.xml"
HOST = "127.0.0.1"

KAFKA = "kafka"
POSTGRES = "postgres"
SERVERS = (KAFKA, POSTGRES)
# each has a LOGIN role of its name owning a database of its name, which no other role may connect to
DATABASE_SERVICES = ("intake", "legal_aid", "mediation", "notary", "metrics", "gateway", "router")

STOP_TIMEOUT = 15.0
LOG_TAIL_LINES = 20


class InfraError(Exception):
    """A failure with a message meant for a human (printed without traceback by the CLI)."""


class InfraSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEFLOW_INFRA_", extra="ignore")

    home: Path = REPO_ROOT / ".cache" / "infra"
    cache: Path = REPO_ROOT / ".cache"
    # defaults below Linux's ephemeral range (32768-60999), where a client socket's local port could hold them
    kafka_port: int = Field(default=19092, ge=1, le=65535)
    kafka_controller_port: int = Field(default=19093, ge=1, le=65535)
    postgres_port: int = Field(default=19432, ge=1, le=65535)
    kafka_version: str = Field(default="3.9.1", pattern=r"^\d+\.\d+\.\d+$")
    start_timeout: float = Field(default=90, gt=0)
    secure: bool = False
    credentials_file: Path = DEPLOY_DIR / "dev-credentials.json"
    # cluster mode: brokers > 1 runs that many KRaft nodes (see the module docstring)
    brokers: int = Field(default=1, ge=1, le=9)
    partitions: int = Field(default=1, ge=1, le=1000, description="cluster mode: num.partitions of auto-created topics")

    @model_validator(mode="after")
    def _distinct_ports(self) -> InfraSettings:
        ports = {
            "kafka_port": self.kafka_port,
            "kafka_controller_port": self.kafka_controller_port,
            "postgres_port": self.postgres_port,
        }
        seen: dict[int, str] = {}
        for name, port in ports.items():
            if port in seen:
                raise ValueError(
                    f"{_env_name(name)} and {_env_name(seen[port])} must be different ports (both are {port})"
                )
            seen[port] = name
        if self.brokers > 1:
            self._distinct_cluster_ports()
        return self

    def _distinct_cluster_ports(self) -> None:
        seen: dict[int, str] = {self.postgres_port: "postgres_port"}
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
        return (*(n.name for n in self.kafka_nodes), POSTGRES)

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
        return self.kafka_port if server == KAFKA else self.postgres_port


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
    admin_password: str = field(default="", repr=False)  # of caseflow_admin, from the credentials file
    postgres_data: Path | None = None  # the cluster's data directory

    @property
    def kafka_bootstrap(self) -> str:
        return ",".join(f"{self.host}:{n.port}" for n in (self.kafka_nodes or [self.kafka]))

    @property
    def database_url(self) -> str:
        """The superuser's URL (database ``caseflow``), for operators and tests; services get
        ``database_url_for`` (their own role and database)."""
        login = f"{postgres.ADMIN}:{self.admin_password}"
        return f"postgresql://{login}@{self.host}:{self.postgres.port}/{postgres.ADMIN_DB}"

    @property
    def servers(self) -> list[ServerStatus]:
        return [*(self.kafka_nodes or [self.kafka]), self.postgres]

    @property
    def all_ready(self) -> bool:
        return all(s.ready for s in self.servers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kafka_bootstrap": self.kafka_bootstrap,
            "database_url": self.database_url,
            "postgres_data": str(self.postgres_data) if self.postgres_data else None,
            "ready": self.all_ready,
            "kafka_security_protocol": "SASL_PLAINTEXT" if self.secure else "PLAINTEXT",
            "servers": {s.name: s.to_dict() for s in self.servers},
        }


# ---- small helpers -----------------------------------------------------------------------------


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialises concurrent ``up``/``down``/fetches (several shells or test workers)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return "(no log output)"
    out = data.splitlines()[-lines:]
    return "\n".join(out) if out else "(log is empty)"


def _pid_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie (reaping it if it is our own dead child)."""
    with contextlib.suppress(ChildProcessError, OSError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        state = stat.rsplit(")", 1)[1].split()[0]
        if state in ("Z", "X"):
            return False
    except (OSError, IndexError):
        pass
    return True


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


_MARKERS = {KAFKA: "kafka.Kafka", POSTGRES: "postgres"}


def _marker(server: str) -> str:
    return _MARKERS[KAFKA if server.startswith(KAFKA) else server]


def _read_pid(settings: InfraSettings, server: str) -> int | None:
    """The recorded pid of ``server`` if that process is still alive and still ours."""
    path = settings.pid_file(server)
    try:
        record = json.loads(path.read_text())
        pid = int(record["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _pid_alive(pid):
        return None
    cmd = _cmdline(pid)
    if cmd and _marker(server) not in cmd:  # pid was recycled by an unrelated process
        return None
    return pid


def _write_pid(settings: InfraSettings, server: str, pid: int, ports: dict[str, int]) -> None:
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    tmp = settings.pid_file(server).with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": pid, "ports": ports, "started_at": time.time()}))
    tmp.replace(settings.pid_file(server))


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def _run_coro(factory: Callable[[], Any]) -> Any:
    """Run a coroutine from sync code, even when called from inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    box: dict[str, Any] = {}

    def runner() -> None:
        try:
            box["value"] = asyncio.run(factory())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller thread
            box["error"] = exc

    t = threading.Thread(target=runner, name="infra-probe", daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


# ---- readiness probes --------------------------------------------------------------------------


def _probe_kafka(
    port: int, timeout: float = 5.0, auth: dict[str, Any] | None = None, node_id: int | None = None
) -> bool:
    """The broker answers metadata; with ``node_id``, that node is also among the live (unfenced) brokers."""

    async def probe() -> bool:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(
            bootstrap_servers=f"{HOST}:{port}", request_timeout_ms=int(timeout * 1000), **(auth or {})
        )
        try:
            await asyncio.wait_for(admin.start(), timeout)
            if node_id is not None:
                # the bootstrap metadata came from this very node (a later request may go to a dead peer)
                return any(b.nodeId == node_id for b in admin._client.cluster.brokers())  # noqa: SLF001
            cluster = await asyncio.wait_for(admin.describe_cluster(), timeout)
            return bool(cluster.get("brokers"))
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(admin.close(), timeout)

    if _port_free(port):
        return False
    try:
        return bool(_run_coro(probe))
    except Exception:  # noqa: BLE001 - any failure means "not ready yet"
        return False


def _probe(server: str, settings: InfraSettings) -> bool:
    if server == KAFKA:
        return _probe_kafka(settings.kafka_port, auth=_kafka_admin_auth(settings))
    node = settings.kafka_node(server)
    if node is not None:
        return _probe_kafka(node.port, auth=_kafka_admin_auth(settings), node_id=node.node_id)
    return postgres.probe(settings)


# ---- downloads / builds ------------------------------------------------------------------------


def _require_tool(name: str, why: str) -> str:
    path = shutil.which(name)
    if not path:
        raise InfraError(f"`{name}` was not found on PATH; it is needed to {why}")
    return path


def _kafka_jars_present(settings: InfraSettings) -> bool:
    libs = settings.kafka_libs
    v = settings.kafka_version
    return (libs / f"kafka_2.13-{v}.jar").is_file() and (libs / f"kafka-clients-{v}.jar").is_file()


def _fetch_kafka(settings: InfraSettings) -> None:
    mvn = _require_tool("mvn", "fetch the Kafka jars from Maven Central")
    _require_tool("java", "run Kafka")
    if not KAFKA_POM.is_file():
        raise InfraError(f"missing {KAFKA_POM}; cannot fetch Kafka")
    _progress(f"fetching Kafka {settings.kafka_version} jars (first run only)...")
    target = settings.kafka_libs
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".libs-", dir=target.parent))
    try:
        proc = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(KAFKA_POM),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={tmp}",
                f"-Dkafka.version={settings.kafka_version}",
            ],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            out = "\n".join((proc.stdout + proc.stderr).splitlines()[-LOG_TAIL_LINES:])
            raise InfraError(f"fetching Kafka {settings.kafka_version} with mvn failed:\n{out}")
        if target.exists():
            shutil.rmtree(target)
        tmp.replace(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    if not _kafka_jars_present(settings):
        raise InfraError(f"mvn finished but the Kafka {settings.kafka_version} jars are not in {target}")


def ensure_downloads(settings: InfraSettings, servers: tuple[str, ...] = SERVERS) -> None:
    """Fetch the Kafka jars into ``settings.cache`` and find (or install) PostgreSQL 15, unless already there."""
    with _file_lock(settings.cache / ".infra-fetch.lock"):
        if KAFKA in servers:
            _require_tool("java", "run Kafka")
            if not _kafka_jars_present(settings):
                _fetch_kafka(settings)
        if POSTGRES in servers:
            postgres.ensure_installed()


# ---- process management ------------------------------------------------------------------------


def _kafka_java_cmd(settings: InfraSettings, main: str, *args: str, node: KafkaNode | None = None) -> list[str]:
    java = _require_tool("java", "run Kafka")
    node_dir = node.dir if node is not None else settings.kafka_dir
    return [
        java, "-Xmx512m", "-Xms128m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{node_dir / 'log4j.properties'}",
        f"-Dkafka.logs.dir={settings.logs_dir}",
        "-cp", f"{settings.kafka_libs}/*", main, *args,
    ]  # fmt: skip


def _kafka_admin_auth(settings: InfraSettings) -> dict[str, Any]:
    """aiokafka SASL options for the admin principal in secure mode (empty otherwise)."""
    if not settings.secure:
        return {}
    from caseflow_cli import acl

    opts = acl.client_options(settings)
    opts.pop("bootstrap_servers")
    return opts


def _listener_lines(settings: InfraSettings, node: KafkaNode | None = None) -> list[str]:
    client, ctrl = f"{HOST}:{settings.kafka_port}", f"{HOST}:{settings.kafka_controller_port}"
    if node is not None:
        client, ctrl = f"{HOST}:{node.port}", f"{HOST}:{node.controller_port}"
    if not settings.secure:
        return [
            f"listeners=PLAINTEXT://{client},CONTROLLER://{ctrl}",
            f"advertised.listeners=PLAINTEXT://{client}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        ]
    from caseflow_cli import acl

    admin_pw = acl.admin_password(settings)
    # The broker talks to itself (coordinators) over SASL as admin; the controller listener is
    # PLAINTEXT, so its principal is ANONYMOUS, which must be a super user for the quorum to work.
    return [
        f"listeners=SASL_PLAINTEXT://{client},CONTROLLER://{ctrl}",
        f"advertised.listeners=SASL_PLAINTEXT://{client}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=SASL_PLAINTEXT",
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        f"sasl.enabled.mechanisms={acl.MECHANISM}",
        f"sasl.mechanism.inter.broker.protocol={acl.MECHANISM}",
        f"listener.name.sasl_plaintext.{acl.MECHANISM.lower()}.sasl.jaas.config="
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{acl.ADMIN}" password="{admin_pw}";',
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found=false",
        f"super.users=User:ANONYMOUS;User:{acl.ADMIN}",
    ]


def _write_kafka_config(settings: InfraSettings) -> Path:
    settings.kafka_dir.mkdir(parents=True, exist_ok=True)
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    props = settings.kafka_dir / "server.properties"
    fd = os.open(props, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # may hold the admin password
    os.close(fd)
    props.chmod(0o600)
    props.write_text(
        "\n".join(
            [
                "# generated by caseflow infra; rewritten on every start",
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@{HOST}:{settings.kafka_controller_port}",
                *_listener_lines(settings),
                f"log.dirs={settings.kafka_data_dir}",
                "num.partitions=1",
                "default.replication.factor=1",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=5",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "min.insync.replicas=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=true",
                "log.retention.hours=168",
                "log.segment.bytes=104857600",
                "",
            ]
        )
    )
    (settings.kafka_dir / "log4j.properties").write_text(
        "\n".join(
            [
                "log4j.rootLogger=INFO, file",
                "log4j.appender.file=org.apache.log4j.RollingFileAppender",
                f"log4j.appender.file.File={settings.log_file(KAFKA)}",
                "log4j.appender.file.MaxFileSize=20MB",
                "log4j.appender.file.MaxBackupIndex=2",
                "log4j.appender.file.layout=org.apache.log4j.PatternLayout",
                "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n",
                "log4j.logger.kafka.request.logger=WARN",
                "log4j.logger.kafka.controller=INFO",
                "log4j.logger.state.change.logger=WARN",
                "log4j.logger.org.apache.kafka.raft=INFO",
                "",
            ]
        )
    )
    return props


def _write_node_config(settings: InfraSettings, node: KafkaNode) -> Path:
    """Cluster mode: one node's server.properties and log4j config (plaintext only)."""
    node.dir.mkdir(parents=True, exist_ok=True)
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    nodes = settings.kafka_nodes
    voters = ",".join(f"{n.node_id}@{HOST}:{n.controller_port}" for n in nodes)
    rf = min(len(nodes), 3)
    min_isr = 2 if rf >= 3 else 1  # acks=all then survives one node down
    props = node.dir / "server.properties"
    props.write_text(
        "\n".join(
            [
                "# generated by caseflow infra (cluster mode); rewritten on every start",
                "process.roles=broker,controller",
                f"node.id={node.node_id}",
                f"controller.quorum.voters={voters}",
                *_listener_lines(settings, node),
                f"log.dirs={node.data_dir}",
                f"num.partitions={settings.partitions}",
                f"default.replication.factor={rf}",
                f"offsets.topic.replication.factor={rf}",
                "offsets.topic.num.partitions=5",
                f"transaction.state.log.replication.factor={rf}",
                f"transaction.state.log.min.isr={min_isr}",
                f"min.insync.replicas={min_isr}",
                "unclean.leader.election.enable=false",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=true",
                "log.retention.hours=168",
                "log.segment.bytes=104857600",
                "",
            ]
        )
    )
    (node.dir / "log4j.properties").write_text(
        "\n".join(
            [
                "log4j.rootLogger=INFO, file",
                "log4j.appender.file=org.apache.log4j.RollingFileAppender",
                f"log4j.appender.file.File={settings.log_file(node.name)}",
                "log4j.appender.file.MaxFileSize=20MB",
                "log4j.appender.file.MaxBackupIndex=2",
                "log4j.appender.file.layout=org.apache.log4j.PatternLayout",
                "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n",
                "log4j.logger.kafka.request.logger=WARN",
                "log4j.logger.kafka.controller=INFO",
                "log4j.logger.state.change.logger=WARN",
                "log4j.logger.org.apache.kafka.raft=INFO",
                "",
            ]
        )
    )
    return props


def _format_node_storage(settings: InfraSettings, node: KafkaNode, props: Path) -> None:
    """Cluster mode: format a node's log dir once, with the cluster id every node shares."""
    if (node.data_dir / "meta.properties").is_file():
        return
    id_file = settings.home / "kafka-cluster.id"
    if not id_file.is_file():
        proc = subprocess.run(
            _kafka_java_cmd(settings, "kafka.tools.StorageTool", "random-uuid", node=node),
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        cluster_id = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
        if proc.returncode != 0 or not cluster_id:
            raise InfraError(f"could not generate a Kafka cluster id:\n{proc.stderr[-2000:]}")
        id_file.write_text(cluster_id + "\n")
    cluster_id = id_file.read_text().strip()
    proc = subprocess.run(
        _kafka_java_cmd(
            settings, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(props), "--ignore-formatted",
            node=node,
        ),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if proc.returncode != 0:
        raise InfraError(f"formatting Kafka storage in {node.data_dir} failed:\n{proc.stderr[-2000:]}")


def _start_node(settings: InfraSettings, node: KafkaNode) -> int:
    props = _write_node_config(settings, node)
    _format_node_storage(settings, node, props)
    cmd = _kafka_java_cmd(settings, "kafka.Kafka", str(props), node=node)
    return _spawn(settings, node.name, cmd, node.dir)


def _start_server(settings: InfraSettings, server: str) -> int:
    node = settings.kafka_node(server)
    if server == KAFKA or node is None:
        return _start_kafka(settings) if server == KAFKA else postgres.start(settings)
    return _start_node(settings, node)


def _security_marker(settings: InfraSettings) -> Path:
    return settings.kafka_dir / "security.json"


def _formatted_secure(settings: InfraSettings) -> bool | None:
    """How the log dirs were formatted: True secure, False plain, None not formatted yet."""
    if not (settings.kafka_data_dir / "meta.properties").is_file():
        return None
    try:
        return bool(json.loads(_security_marker(settings).read_text()).get("secure"))
    except (OSError, ValueError, AttributeError):
        return False  # formatted before secure mode existed


def _check_security_mode(settings: InfraSettings) -> None:
    """SCRAM users exist only if created at format time, so a home keeps the mode it was formatted in."""
    formatted = _formatted_secure(settings)
    if formatted is None or formatted == settings.secure:
        return
    home = settings.home
    if settings.secure:
        raise InfraError(
            f"the Kafka data in {home} was formatted without security, so it has no SCRAM users; "
            f"secure mode needs a fresh home: run `caseflow infra wipe` (deletes its data) or set "
            f"CASEFLOW_INFRA_HOME to another directory"
        )
    raise InfraError(
        f"the Kafka data in {home} was formatted in secure mode; set CASEFLOW_INFRA_SECURE=1 to start it, "
        f"or run `caseflow infra wipe` / set CASEFLOW_INFRA_HOME to another directory for a plain broker"
    )


def _format_kafka_storage(settings: InfraSettings, props: Path) -> None:
    """Format the KRaft log dir once; later starts reuse it (which is what makes them fast)."""
    if (settings.kafka_data_dir / "meta.properties").is_file():
        return
    id_file = settings.kafka_dir / "cluster.id"
    if not id_file.is_file():
        proc = subprocess.run(
            _kafka_java_cmd(settings, "kafka.tools.StorageTool", "random-uuid"),
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        cluster_id = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
        if proc.returncode != 0 or not cluster_id:
            raise InfraError(f"could not generate a Kafka cluster id:\n{proc.stderr[-2000:]}")
        id_file.write_text(cluster_id + "\n")
    cluster_id = id_file.read_text().strip()
    fmt_args = ["format", "-t", cluster_id, "-c", str(props), "--ignore-formatted"]
    if settings.secure:
        from caseflow_cli import acl

        for user, pw in acl.load_credentials(settings.credentials_file).items():
            fmt_args += ["--add-scram", f"{acl.MECHANISM}=[name={user},password={pw}]"]
    proc = subprocess.run(
        _kafka_java_cmd(settings, "kafka.tools.StorageTool", *fmt_args),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        where = settings.kafka_data_dir
        raise InfraError(f"formatting Kafka storage in {where} failed:\n{proc.stderr[-2000:]}")
    _security_marker(settings).write_text(json.dumps({"secure": settings.secure}) + "\n")


def _start_kafka(settings: InfraSettings) -> int:
    props = _write_kafka_config(settings)
    _format_kafka_storage(settings, props)
    return _spawn(settings, KAFKA, _kafka_java_cmd(settings, "kafka.Kafka", str(props)), settings.kafka_dir)


def _spawn(settings: InfraSettings, server: str, cmd: list[str], cwd: Path) -> int:
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    # Kafka's own log goes to kafka.log via log4j; its stdout/stderr (JVM errors) to kafka.out.
    out_path = settings.logs_dir / (f"{server}.out" if server.startswith(KAFKA) else f"{server}.log")
    with open(out_path, "ab") as out:
        out.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ports = {"port": settings.port_of(server)}
    node = settings.kafka_node(server)
    if node is not None:
        ports["controller_port"] = node.controller_port
    _write_pid(settings, server, proc.pid, ports)
    return proc.pid


def _signal(server: str, pid: int, sig: int) -> list[int]:
    """Send ``sig`` to a server; returns the pids to wait for.

    Kafka: its process group. PostgreSQL: the postmaster (SIGTERM becomes SIGINT, the fast shutdown that
    disconnects clients, where SIGTERM's smart shutdown would wait for every pooled connection to close);
    SIGKILL also reaches its backends, each of which runs in a session of its own."""
    if server == POSTGRES:
        return postgres.kill(pid, signal.SIGINT if sig == signal.SIGTERM else sig)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    return [pid]


def _terminate(settings: InfraSettings, server: str, timeout: float = STOP_TIMEOUT) -> None:
    pid = _read_pid(settings, server)
    if pid is not None:
        _signal(server, pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _pid_alive(pid):
            time.sleep(0.1)
        if _pid_alive(pid):
            pids = _signal(server, pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and any(_pid_alive(p) for p in pids):
                time.sleep(0.05)
    settings.pid_file(server).unlink(missing_ok=True)


def _server_status(settings: InfraSettings, server: str, probe: bool = True) -> ServerStatus:
    pid = _read_pid(settings, server)
    running = pid is not None
    ready = running and probe and _probe(server, settings)
    node = settings.kafka_node(server)
    extra = {"controller_port": node.controller_port} if node is not None else {}
    return ServerStatus(
        name=server,
        port=settings.port_of(server),
        pid=pid,
        running=running,
        ready=ready,
        log_path=settings.log_file(server),
        extra_ports=extra,
    )


def _env_name(field_name: str) -> str:
    return f"CASEFLOW_INFRA_{field_name.upper()}"


def _check_ports(settings: InfraSettings, server: str) -> None:
    node = settings.kafka_node(server)
    if node is not None and server != KAFKA:
        for label, port in ((server, node.port), (f"{server} controller", node.controller_port)):
            if not _port_free(port):
                raise InfraError(
                    f"port {port} ({label}) is already in use by another process; "
                    "set CASEFLOW_INFRA_KAFKA_PORT / CASEFLOW_INFRA_KAFKA_CONTROLLER_PORT to other ports"
                )
        return
    ports = [("kafka_port", settings.kafka_port, "kafka")] if server == KAFKA else []
    if server == KAFKA:
        ports.append(("kafka_controller_port", settings.kafka_controller_port, "kafka controller"))
    else:
        ports.append(("postgres_port", settings.postgres_port, "postgres"))
    for field_name, port, label in ports:
        if not _port_free(port):
            raise InfraError(
                f"port {port} ({label}) is already in use by another process; "
                f"set {_env_name(field_name)} to another port"
            )


def _failure(settings: InfraSettings, server: str, why: str) -> InfraError:
    log = settings.log_file(server)
    tail = _tail(log)
    if server.startswith(KAFKA):
        out = settings.logs_dir / f"{server}.out"
        out_lines = [ln for ln in _tail(out, 10).splitlines() if ln.strip() and not ln.startswith("====")]
        if out_lines and not out_lines[0].startswith("(no log"):
            tail += f"\n--- {out} ---\n" + "\n".join(out_lines)
    return InfraError(f"{server} on port {settings.port_of(server)} {why}.\n--- last lines of {log} ---\n{tail}")


# ---- public API --------------------------------------------------------------------------------


def status(settings: InfraSettings) -> InfraStatus:
    """Per-server state: running (recorded pid alive), ready (probe answers), port, pid, log path."""
    password = postgres.load_passwords(settings.credentials_file)[postgres.ADMIN]
    nodes = [_server_status(settings, n.name) for n in settings.kafka_nodes]
    return InfraStatus(
        kafka=nodes[0],
        postgres=_server_status(settings, POSTGRES),
        secure=settings.secure,
        kafka_nodes=nodes if settings.cluster else [],
        admin_password=password,
        postgres_data=postgres.data_dir(settings),
    )


def database_url_for(settings: InfraSettings, service: str) -> str:
    """``postgresql://<service>:<pw>@127.0.0.1:<port>/<service>``: the service's own role and database."""
    return postgres.service_url(settings, service)


def up(settings: InfraSettings) -> InfraStatus:
    """Start Kafka and PostgreSQL unless they already run; wait until both answer; create or update the
    database roles and databases (every time: idempotent, passwords kept in sync). Idempotent."""
    with _file_lock(settings.run_dir / ".lock"):
        _check_cluster_mode(settings)
        _check_security_mode(settings)
        current = status(settings)
        if current.all_ready:
            postgres.provision(settings)
            return current

        to_start = [s.name for s in current.servers if not s.running]
        for server in to_start:
            settings.pid_file(server).unlink(missing_ok=True)  # stale record
            _check_ports(settings, server)
        if to_start:
            ensure_downloads(settings, tuple(KAFKA if s.startswith(KAFKA) else s for s in to_start))

        started: list[str] = []
        try:
            for server in to_start:
                _progress(f"starting {server} on {HOST}:{settings.port_of(server)}...")
                _start_server(settings, server)
                started.append(server)

            pending = [s.name for s in current.servers if not s.ready]
            deadline = time.monotonic() + settings.start_timeout
            while pending:
                for server in list(pending):
                    if _read_pid(settings, server) is None:
                        raise _failure(settings, server, "exited during startup")
                    if _probe(server, settings):
                        pending.remove(server)
                if not pending:
                    break
                if time.monotonic() >= deadline:
                    server = pending[0]
                    raise _failure(settings, server, f"did not become ready within {settings.start_timeout:g} s")
                time.sleep(0.5)
            postgres.provision(settings)
        except BaseException:
            for server in started:
                _terminate(settings, server, timeout=5)
            raise
        return status(settings)


def down(settings: InfraSettings) -> None:
    """SIGTERM the recorded process groups (PostgreSQL: SIGINT, its fast shutdown), SIGKILL after 15 s, remove
    pid files. Idempotent.

    Also stops cluster nodes recorded under the home even if ``brokers`` now says otherwise.
    """
    with _file_lock(settings.run_dir / ".lock"):
        recorded = sorted(p.stem for p in settings.run_dir.glob(f"{KAFKA}-*.pid"))
        for server in dict.fromkeys([*settings.servers, *SERVERS, *recorded]):
            _terminate(settings, server)


def _check_cluster_mode(settings: InfraSettings) -> None:
    if settings.cluster and settings.secure:
        raise InfraError("secure mode runs a single broker; unset CASEFLOW_INFRA_BROKERS or CASEFLOW_INFRA_SECURE")


def _known_server(settings: InfraSettings, server: str) -> None:
    if server not in settings.servers:
        raise InfraError(f"unknown server {server!r}; this configuration runs {', '.join(settings.servers)}")


def kill_server(settings: InfraSettings, server: str, sig: int = signal.SIGKILL, timeout: float = 10.0) -> int | None:
    """Send ``sig`` (default kill -9) to one server's process group and wait until it is gone.

    For fault tests: the pid file is kept (``status`` then reports it not running) and the data stays, so
    ``start_server`` brings the same node back. Returns the pid it signalled, None if it was not running.
    ``postgres``: kill -9 reaches the postmaster and its backends (the next start does crash recovery);
    SIGTERM is sent as SIGINT, PostgreSQL's fast shutdown (see ``_signal``).
    """
    _known_server(settings, server)
    pid = _read_pid(settings, server)
    if pid is None:
        return None
    pids = _signal(server, pid, sig)
    deadline = time.monotonic() + timeout
    while any(_pid_alive(p) for p in pids):
        if time.monotonic() > deadline:
            raise InfraError(f"{server} (pid {pid}) still runs {timeout:g} s after signal {sig}")
        time.sleep(0.05)
    return pid


def start_server(settings: InfraSettings, server: str, *, wait: bool = True) -> int:
    """Start one server (e.g. ``kafka-2`` or ``postgres``) unless it runs; optionally wait until it answers."""
    _known_server(settings, server)
    with _file_lock(settings.run_dir / ".lock"):
        pid = _read_pid(settings, server)
        if pid is None:
            settings.pid_file(server).unlink(missing_ok=True)
            _check_ports(settings, server)
            pid = _start_server(settings, server)
    deadline = time.monotonic() + settings.start_timeout
    while wait and not _probe(server, settings):
        if _read_pid(settings, server) is None:
            raise _failure(settings, server, "exited during startup")
        if time.monotonic() > deadline:
            raise _failure(settings, server, f"did not become ready within {settings.start_timeout:g} s")
        time.sleep(0.5)
    return pid


def wipe(settings: InfraSettings) -> None:
    """Stop the servers and delete their data (the PostgreSQL cluster wherever it lives), logs and pid files
    under ``home`` (cache is kept)."""
    down(settings)
    postgres.remove_data(settings)
    nodes = [n.dir for n in settings.kafka_nodes if n.dir != settings.kafka_dir]
    for sub in (settings.kafka_dir, *nodes, settings.logs_dir, settings.run_dir):
        if sub.exists():
            shutil.rmtree(sub)
    (settings.home / "kafka-cluster.id").unlink(missing_ok=True)


# ---- CLI ---------------------------------------------------------------------------------------

infra_app = typer.Typer(
    no_args_is_help=True,
    help="Run a local single-node Kafka (KRaft) and PostgreSQL 15 on 127.0.0.1, "
    "no Docker. Settings come from CASEFLOW_INFRA_* environment variables.",
)


def _load_settings() -> InfraSettings:
    from rich.console import Console
    from rich.markup import escape

    try:
        return InfraSettings()
    except ValidationError as exc:
        console = Console(stderr=True)
        console.print("[red]invalid infra settings:[/red]")
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"])
            name = _env_name(loc) if loc else "CASEFLOW_INFRA_* (ports)"
            line = f"[red]  {escape(name)}: {escape(err['msg'])}[/red]"
            console.print(line, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def _fail(msg: str) -> typer.Exit:
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True).print(f"[red]{escape(msg)}[/red]", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def _print_table(st: InfraStatus) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="caseflow local infra")
    for col in ("server", "port", "pid", "running", "ready", "log"):
        table.add_column(col)
    for s in st.servers:
        table.add_row(
            s.name,
            str(s.port),
            str(s.pid or "-"),
            "[green]yes[/green]" if s.running else "[red]no[/red]",
            "[green]yes[/green]" if s.ready else "[red]no[/red]",
            str(s.log_path),
        )
    console = Console()
    console.print(table)
    console.print(f"kafka bootstrap: {st.kafka_bootstrap}", highlight=False)
    console.print(
        f"postgres: {postgres.redact(st.database_url)} (superuser; `status --json` shows the password), "
        f"one role + database per service: {', '.join(DATABASE_SERVICES)}; data in {st.postgres_data}",
        highlight=False,
    )
    if st.secure:
        console.print("kafka security: SASL_PLAINTEXT / SCRAM-SHA-512 with ACLs (docs/SECURITY.md)", highlight=False)


@infra_app.command("up")
def up_cmd(
    fresh: bool = typer.Option(False, "--fresh", help="Wipe data under the infra home before starting."),
) -> None:
    """Start Kafka and PostgreSQL (fetching/installing them on first run) and wait until both are ready."""
    settings = _load_settings()
    try:
        if fresh:
            wipe(settings)
        st = up(settings)
    except InfraError as exc:
        raise _fail(str(exc)) from None
    _print_table(st)
    if not st.all_ready:
        raise _fail("not all servers are ready")
    if settings.secure:
        _apply_acls_cli(settings, _default_prefix())


def _default_prefix() -> str:
    return os.environ.get("CASEFLOW_TOPIC_PREFIX", "caseflow")


def _apply_acls_cli(settings: InfraSettings, prefix: str) -> None:
    from caseflow_cli import acl

    try:
        report = acl.apply_acls(settings, prefix)
    except InfraError as exc:
        raise _fail(str(exc)) from None
    typer.echo(
        f"ACLs for prefix {report.prefix!r}: {report.acls} granted to {report.users - 1} principals "
        f"(+{report.added} added, -{report.removed} stale removed); topics created: {len(report.topics)}"
    )


@infra_app.command("acl")
def acl_cmd(
    prefix: str = typer.Option(
        None, "--prefix", help="Topic prefix to grant (default: $CASEFLOW_TOPIC_PREFIX or caseflow)."
    ),
) -> None:
    """Secure mode: create the SCRAM users, the ACLs and the topics for one topic prefix (idempotent)."""
    settings = _load_settings()
    if not settings.secure:
        raise _fail("ACLs need the secure broker: set CASEFLOW_INFRA_SECURE=1 and run `caseflow infra up`")
    if not status(settings).kafka.ready:
        raise _fail(f"kafka is not ready on {HOST}:{settings.kafka_port}; run `caseflow infra up` first")
    _apply_acls_cli(settings, prefix or _default_prefix())


@infra_app.command("down")
def down_cmd() -> None:
    """Stop the servers started by `up` (data is kept)."""
    settings = _load_settings()
    try:
        down(settings)
    except InfraError as exc:
        raise _fail(str(exc)) from None
    typer.echo("stopped")


@infra_app.command("status")
def status_cmd(as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON.")) -> None:
    """Show whether each server runs and answers; exit code 1 if any is not ready."""
    settings = _load_settings()
    try:
        st = status(settings)
    except InfraError as exc:  # e.g. an unreadable credentials file in secure mode
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(st.to_dict(), indent=2))
    else:
        _print_table(st)
    if not st.all_ready:
        raise typer.Exit(1)


@infra_app.command("wipe")
def wipe_cmd(yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation.")) -> None:
    """Stop the servers and delete all their data and logs (downloads in the cache are kept)."""
    settings = _load_settings()
    if not yes:
        typer.confirm(f"delete all Kafka and PostgreSQL data under {settings.home}?", abort=True)
    try:
        wipe(settings)
    except InfraError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"wiped {settings.home}")
