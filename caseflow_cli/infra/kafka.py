"""Kafka in KRaft mode from the Maven Central jars: fetching them, each node's configuration, formatting its
storage once, starting it and asking whether it answers.

One node is named ``kafka`` and lives in ``<home>/kafka``; in cluster mode node i is ``kafka-i`` in
``<home>/kafka-i`` (see ``InfraSettings.kafka_nodes``). Secure mode (single node only) puts SASL/SCRAM and the ACL
authoriser on the client listener, with the users of the credentials file created when the storage is formatted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from caseflow_cli.infra import processes
from caseflow_cli.infra.settings import (
    HOST,
    KAFKA_POM,
    LOG_TAIL_LINES,
    InfraError,
    InfraSettings,
    KafkaNode,
)

LOG4J = """\
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File={log}
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.controller=INFO
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.raft=INFO
"""


# ---- jars ----------------------------------------------------------------------------------------


def jars_present(settings: InfraSettings) -> bool:
    libs = settings.kafka_libs
    v = settings.kafka_version
    return (libs / f"kafka_2.13-{v}.jar").is_file() and (libs / f"kafka-clients-{v}.jar").is_file()


def ensure_jars(settings: InfraSettings) -> None:
    processes.require_tool("java", "run Kafka")
    if not jars_present(settings):
        fetch(settings)


def fetch(settings: InfraSettings) -> None:
    """Copy the broker's runtime jars from Maven Central into ``settings.kafka_libs`` (through a temporary dir)."""
    mvn = processes.require_tool("mvn", "fetch the Kafka jars from Maven Central")
    if not KAFKA_POM.is_file():
        raise InfraError(f"missing {KAFKA_POM}; cannot fetch Kafka")
    processes.progress(f"fetching Kafka {settings.kafka_version} jars (first run only)...")
    target = settings.kafka_libs
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".libs-", dir=target.parent))
    try:
        proc = subprocess.run(
            [mvn, "-q", "-B", "-f", str(KAFKA_POM), "dependency:copy-dependencies", "-DincludeScope=runtime",
             f"-DoutputDirectory={tmp}", f"-Dkafka.version={settings.kafka_version}"],
            capture_output=True, text=True,
        )  # fmt: skip
        if proc.returncode != 0:
            out = "\n".join((proc.stdout + proc.stderr).splitlines()[-LOG_TAIL_LINES:])
            raise InfraError(f"fetching Kafka {settings.kafka_version} with mvn failed:\n{out}")
        if target.exists():
            shutil.rmtree(target)
        tmp.replace(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    if not jars_present(settings):
        raise InfraError(f"mvn finished but the Kafka {settings.kafka_version} jars are not in {target}")


def java_cmd(settings: InfraSettings, node: KafkaNode, main: str, *args: str) -> list[str]:
    java = processes.require_tool("java", "run Kafka")
    return [
        java, "-Xmx512m", "-Xms128m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{node.dir / 'log4j.properties'}",
        f"-Dkafka.logs.dir={settings.logs_dir}",
        "-cp", f"{settings.kafka_libs}/*", main, *args,
    ]  # fmt: skip


# ---- configuration -------------------------------------------------------------------------------


def admin_auth(settings: InfraSettings) -> dict[str, Any]:
    """aiokafka SASL options for the admin principal in secure mode (empty otherwise)."""
    if not settings.secure:
        return {}
    from caseflow_cli import acl

    opts = acl.client_options(settings)
    opts.pop("bootstrap_servers")
    return opts


def listener_lines(settings: InfraSettings, node: KafkaNode) -> list[str]:
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


def write_config(settings: InfraSettings, node: KafkaNode) -> Path:
    """The node's server.properties (mode 0600: it may hold the admin password) and log4j.properties."""
    node.dir.mkdir(parents=True, exist_ok=True)
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    nodes = settings.kafka_nodes
    voters = ",".join(f"{n.node_id}@{HOST}:{n.controller_port}" for n in nodes)
    rf = min(len(nodes), 3)
    min_isr = 2 if rf >= 3 else 1  # acks=all then survives one node down
    props = node.dir / "server.properties"
    os.close(os.open(props, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    props.chmod(0o600)
    lines = [
        "# generated by caseflow infra; rewritten on every start",
        "process.roles=broker,controller",
        f"node.id={node.node_id}",
        f"controller.quorum.voters={voters}",
        *listener_lines(settings, node),
        f"log.dirs={node.data_dir}",
        f"num.partitions={settings.partitions if settings.cluster else 1}",
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
    props.write_text("\n".join(lines))
    (node.dir / "log4j.properties").write_text(LOG4J.format(log=settings.log_file(node.name)))
    return props


# ---- storage -------------------------------------------------------------------------------------


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


def check_security_mode(settings: InfraSettings) -> None:
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


def check_cluster_mode(settings: InfraSettings) -> None:
    if settings.cluster and settings.secure:
        raise InfraError("secure mode runs a single broker; unset CASEFLOW_INFRA_BROKERS or CASEFLOW_INFRA_SECURE")


def _cluster_id(settings: InfraSettings, node: KafkaNode) -> str:
    """The id every node of this home formats with, generated once."""
    id_file = settings.home / "kafka-cluster.id" if settings.cluster else settings.kafka_dir / "cluster.id"
    if not id_file.is_file():
        proc = subprocess.run(
            java_cmd(settings, node, "kafka.tools.StorageTool", "random-uuid"), capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        cluster_id = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
        if proc.returncode != 0 or not cluster_id:
            raise InfraError(f"could not generate a Kafka cluster id:\n{proc.stderr[-2000:]}")
        id_file.write_text(cluster_id + "\n")
    return id_file.read_text().strip()


def format_storage(settings: InfraSettings, node: KafkaNode, props: Path) -> None:
    """Format the node's KRaft log dir once (later starts reuse it, which is what makes them fast); in secure mode
    with the SCRAM users of the credentials file."""
    if (node.data_dir / "meta.properties").is_file():
        return
    args = ["format", "-t", _cluster_id(settings, node), "-c", str(props), "--ignore-formatted"]
    if settings.secure:
        from caseflow_cli import acl

        for user, pw in acl.load_credentials(settings.credentials_file).items():
            args += ["--add-scram", f"{acl.MECHANISM}=[name={user},password={pw}]"]
    proc = subprocess.run(
        java_cmd(settings, node, "kafka.tools.StorageTool", *args), capture_output=True, text=True, timeout=120
    )
    if proc.returncode != 0:
        raise InfraError(f"formatting Kafka storage in {node.data_dir} failed:\n{proc.stderr[-2000:]}")
    if not settings.cluster:
        _security_marker(settings).write_text(json.dumps({"secure": settings.secure}) + "\n")


# ---- running ---------------------------------------------------------------------------------------


def start(settings: InfraSettings, node: KafkaNode) -> int:
    """Write the node's configuration, format its storage if new, and spawn it; returns its pid."""
    props = write_config(settings, node)
    format_storage(settings, node, props)
    return processes.spawn(settings, node.name, java_cmd(settings, node, "kafka.Kafka", str(props)), node.dir)


def probe(settings: InfraSettings, node: KafkaNode, timeout: float = 5.0) -> bool:
    """The broker answers metadata; in cluster mode the node is also among the live (unfenced) brokers."""
    auth = admin_auth(settings)
    node_id = node.node_id if settings.cluster else None

    async def ask() -> bool:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(
            bootstrap_servers=f"{HOST}:{node.port}", request_timeout_ms=int(timeout * 1000), **auth
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

    if processes.port_free(node.port):
        return False
    try:
        return bool(processes.run_coro(ask))
    except Exception:  # noqa: BLE001 - any failure means "not ready yet"
        return False
