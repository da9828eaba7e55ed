"""The servers as a whole: ``up``, ``down``, ``status`` and ``wipe``, and for fault tests ``kill_server`` and
``start_server`` of one of them (a Kafka node, PostgreSQL or Zipkin)."""

from __future__ import annotations

import shutil
import signal
import time

from caseflow_cli.infra import databases, kafka, postgres, processes, zipkin
from caseflow_cli.infra.settings import (
    HOST,
    KAFKA,
    POSTGRES,
    SERVERS,
    ZIPKIN,
    InfraError,
    InfraSettings,
    InfraStatus,
    ServerStatus,
)


def ensure_downloads(settings: InfraSettings, servers: tuple[str, ...] = SERVERS) -> None:
    """Fetch the Kafka jars and the Zipkin jar into ``settings.cache`` and find (or install) PostgreSQL 15, unless
    already there."""
    with processes.file_lock(settings.cache / ".infra-fetch.lock"):
        if KAFKA in servers:
            kafka.ensure_jars(settings)
        if POSTGRES in servers:
            postgres.ensure_installed()
        if ZIPKIN in servers and settings.zipkin:
            zipkin.ensure_jar(settings)


def probe(settings: InfraSettings, server: str) -> bool:
    """Whether ``server`` answers: Kafka metadata, a PostgreSQL login and query, or Zipkin's health check."""
    node = settings.kafka_node(server)
    if node is not None:
        return kafka.probe(settings, node)
    return zipkin.probe(settings) if server == ZIPKIN else databases.probe(settings)


def _start(settings: InfraSettings, server: str) -> int:
    node = settings.kafka_node(server)
    if node is not None:
        return kafka.start(settings, node)
    return zipkin.start(settings) if server == ZIPKIN else postgres.start(settings)


def _wait_ready(settings: InfraSettings, servers: list[str]) -> None:
    """Until every one of ``servers`` answers; raises with its log's tail if one exits or is late."""
    pending = list(servers)
    deadline = time.monotonic() + settings.start_timeout
    while pending:
        for server in list(pending):
            if processes.read_pid(settings, server) is None:
                raise processes.failure(settings, server, "exited during startup")
            if probe(settings, server):
                pending.remove(server)
        if not pending:
            return
        if time.monotonic() >= deadline:
            raise processes.failure(settings, pending[0], f"did not become ready within {settings.start_timeout:g} s")
        time.sleep(0.5)


def _server_status(settings: InfraSettings, server: str) -> ServerStatus:
    pid = processes.read_pid(settings, server)
    node = settings.kafka_node(server)
    return ServerStatus(
        name=server,
        port=settings.port_of(server),
        pid=pid,
        running=pid is not None,
        ready=pid is not None and probe(settings, server),
        log_path=settings.log_file(server),
        extra_ports={"controller_port": node.controller_port} if node is not None else {},
    )


def status(settings: InfraSettings) -> InfraStatus:
    """Per-server state: running (recorded pid alive), ready (probe answers), port, pid, log path."""
    nodes = [_server_status(settings, n.name) for n in settings.kafka_nodes]
    return InfraStatus(
        kafka=nodes[0],
        postgres=_server_status(settings, POSTGRES),
        secure=settings.secure,
        kafka_nodes=nodes if settings.cluster else [],
        database_url=databases.admin_url(settings),
        postgres_data=postgres.data_dir(settings),
        zipkin=_server_status(settings, ZIPKIN) if settings.zipkin else None,
    )


def database_url_for(settings: InfraSettings, service: str) -> str:
    """``postgresql://<service>:<pw>@127.0.0.1:<port>/<service>``: the service's own role and database."""
    return databases.service_url(settings, service)


def up(settings: InfraSettings) -> InfraStatus:
    """Start Kafka, PostgreSQL and Zipkin unless they already run; wait until all answer; create or update the
    database roles and databases (every time: idempotent, passwords kept in sync). Idempotent."""
    with processes.file_lock(settings.run_dir / ".lock"):
        kafka.check_cluster_mode(settings)
        kafka.check_security_mode(settings)
        current = status(settings)
        if current.all_ready:
            databases.provision(settings)
            return current
        to_start = [s.name for s in current.servers if not s.running]
        for server in to_start:
            settings.pid_file(server).unlink(missing_ok=True)  # stale record
            processes.check_ports(settings, server)
        if to_start:
            ensure_downloads(settings, tuple(KAFKA if s.startswith(KAFKA) else s for s in to_start))
        started: list[str] = []
        try:
            for server in to_start:
                processes.progress(f"starting {server} on {HOST}:{settings.port_of(server)}...")
                _start(settings, server)
                started.append(server)
            _wait_ready(settings, [s.name for s in current.servers if not s.ready])
            databases.provision(settings)
        except BaseException:
            for server in started:
                processes.terminate(settings, server, timeout=5)
            raise
        return status(settings)


def down(settings: InfraSettings) -> None:
    """SIGTERM the recorded process groups (PostgreSQL: SIGINT, its fast shutdown), SIGKILL after 15 s, remove
    pid files. Idempotent. Also stops cluster nodes recorded under the home even if ``brokers`` now says otherwise.
    """
    with processes.file_lock(settings.run_dir / ".lock"):
        recorded = sorted(p.stem for p in settings.run_dir.glob(f"{KAFKA}-*.pid"))
        for server in dict.fromkeys([*settings.servers, *SERVERS, *recorded]):
            processes.terminate(settings, server)


def _known_server(settings: InfraSettings, server: str) -> None:
    if server not in settings.servers:
        raise InfraError(f"unknown server {server!r}; this configuration runs {', '.join(settings.servers)}")


def kill_server(settings: InfraSettings, server: str, sig: int = signal.SIGKILL, timeout: float = 10.0) -> int | None:
    """Send ``sig`` (default kill -9) to one server's process group and wait until it is gone.

    For fault tests: the pid file is kept (``status`` then reports it not running) and the data stays, so
    ``start_server`` brings the same node back. Returns the pid it signalled, None if it was not running.
    ``postgres``: kill -9 reaches the postmaster and its backends (the next start does crash recovery);
    SIGTERM is sent as SIGINT, PostgreSQL's fast shutdown (see ``processes.signal_server``).
    """
    _known_server(settings, server)
    pid = processes.read_pid(settings, server)
    if pid is None:
        return None
    if not processes.wait_gone(processes.signal_server(server, pid, sig), timeout):
        raise InfraError(f"{server} (pid {pid}) still runs {timeout:g} s after signal {sig}")
    return pid


def start_server(settings: InfraSettings, server: str, *, wait: bool = True) -> int:
    """Start one server (e.g. ``kafka-2`` or ``postgres``) unless it runs; optionally wait until it answers."""
    _known_server(settings, server)
    with processes.file_lock(settings.run_dir / ".lock"):
        pid = processes.read_pid(settings, server)
        if pid is None:
            settings.pid_file(server).unlink(missing_ok=True)
            processes.check_ports(settings, server)
            ensure_downloads(settings, (KAFKA if server.startswith(KAFKA) else server,))
            pid = _start(settings, server)
    if wait:
        _wait_ready(settings, [server])
    return pid


def wipe(settings: InfraSettings) -> None:
    """Stop the servers and delete their data (the PostgreSQL cluster wherever it lives), logs and pid files
    under ``home`` (cache is kept)."""
    down(settings)
    postgres.remove_data(settings)
    nodes = [n.dir for n in settings.kafka_nodes if n.dir != settings.kafka_dir]
    for sub in (settings.kafka_dir, *nodes, settings.zipkin_dir, settings.logs_dir, settings.run_dir):
        if sub.exists():
            shutil.rmtree(sub)
    (settings.home / "kafka-cluster.id").unlink(missing_ok=True)
