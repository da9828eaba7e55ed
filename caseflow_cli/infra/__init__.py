"""Local infrastructure: a real Kafka (KRaft, one node or a cluster), PostgreSQL 15 and the Zipkin trace viewer on
127.0.0.1, no Docker.

``settings`` what runs where (``CASEFLOW_INFRA_*``) · ``processes`` pid records, spawning, stopping, ports ·
``kafka`` jars, configuration, storage · ``postgres`` the server · ``databases`` its roles and databases ·
``zipkin`` the trace viewer (in-memory storage; ``CASEFLOW_INFRA_ZIPKIN=0`` leaves it out) ·
``servers`` up / down / status / wipe · ``cli`` the ``caseflow infra`` commands. Secure mode (SASL/SCRAM and ACLs,
docs/SECURITY.md) takes its principals from ``caseflow_cli.acl``.

Layout::

    <cache>/kafka-<version>/libs/*.jar     broker classpath (shared, fetched once)
    <cache>/zipkin-server-<v>-exec.jar     the Zipkin server (fetched once)
    <home>/run/<server>.pid                JSON pid records of the processes we started
    <home>/logs/<server>.log               server logs (kafka.log is written by log4j)
    <home>/kafka/data                      KRaft log dirs (formatted once, kept across restarts)
    <home>/kafka-<i>/data                  cluster mode (CASEFLOW_INFRA_BROKERS=N): node i's log dirs
    <home>/postgres/data                   the PostgreSQL cluster (or relocated: see ``postgres``)
"""

from caseflow_cli.infra.cli import infra_app
from caseflow_cli.infra.databases import redact
from caseflow_cli.infra.processes import port_free, read_pid, require_tool, run_coro, terminate
from caseflow_cli.infra.servers import (
    database_url_for,
    down,
    ensure_downloads,
    kill_server,
    start_server,
    status,
    up,
    wipe,
)
from caseflow_cli.infra.settings import (
    DATABASE_SERVICES,
    DEPLOY_DIR,
    HOST,
    KAFKA,
    LOG_TAIL_LINES,
    POSTGRES,
    REPO_ROOT,
    SERVERS,
    ZIPKIN,
    InfraError,
    InfraSettings,
    InfraStatus,
    KafkaNode,
    ServerStatus,
)

__all__ = [
    "DATABASE_SERVICES",
    "DEPLOY_DIR",
    "HOST",
    "KAFKA",
    "LOG_TAIL_LINES",
    "POSTGRES",
    "REPO_ROOT",
    "SERVERS",
    "ZIPKIN",
    "InfraError",
    "InfraSettings",
    "InfraStatus",
    "KafkaNode",
    "ServerStatus",
    "database_url_for",
    "down",
    "ensure_downloads",
    "infra_app",
    "kill_server",
    "port_free",
    "read_pid",
    "redact",
    "require_tool",
    "run_coro",
    "start_server",
    "status",
    "terminate",
    "up",
    "wipe",
]
