"""The server processes we start: their pid records, spawning, signalling and stopping, liveness (psutil) and
the ports they need, plus the small helpers the rest of the package shares (locks, log tails, progress lines)."""

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
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import psutil

from caseflow_cli.infra.settings import (
    HOST,
    KAFKA,
    LOG_TAIL_LINES,
    POSTGRES,
    STOP_TIMEOUT,
    ZIPKIN,
    InfraError,
    InfraSettings,
    env_name,
)

# what a live server's command line holds: a recorded pid reused by an unrelated process lacks it
_MARKERS = {KAFKA: "kafka.Kafka", POSTGRES: "postgres", ZIPKIN: "zipkin-server"}


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Serialises concurrent ``up``/``down``/fetches (several shells or test workers)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
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


def require_tool(name: str, why: str) -> str:
    path = shutil.which(name)
    if not path:
        raise InfraError(f"`{name}` was not found on PATH; it is needed to {why}")
    return path


def run_coro(factory: Callable[[], Any]) -> Any:
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


# ---- liveness ------------------------------------------------------------------------------------


def pid_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie (reaping it if it is our own dead child)."""
    with contextlib.suppress(ChildProcessError, OSError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        return psutil.Process(pid).status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def cmdline(pid: int) -> str:
    """The process's command line, its arguments joined by spaces ("" when gone or hidden)."""
    try:
        return " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return ""


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (e.g. the postmaster's backends and auxiliary processes)."""
    try:
        return [p.pid for p in psutil.Process(pid).children()]
    except psutil.Error:
        return []


def wait_gone(pids: Iterable[int], timeout: float, interval: float = 0.05) -> bool:
    """Wait until none of ``pids`` is alive; False if one still is after ``timeout`` seconds."""
    pids = list(pids)
    deadline = time.monotonic() + timeout
    while any(pid_alive(p) for p in pids):
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True


# ---- pid records -----------------------------------------------------------------------------------


def read_pid(settings: InfraSettings, server: str) -> int | None:
    """The recorded pid of ``server`` if that process is still alive and still ours."""
    try:
        record = json.loads(settings.pid_file(server).read_text())
        pid = int(record["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not pid_alive(pid):
        return None
    cmd = cmdline(pid)
    if cmd and _MARKERS[KAFKA if server.startswith(KAFKA) else server] not in cmd:  # pid recycled
        return None
    return pid


def write_pid(settings: InfraSettings, server: str, pid: int, ports: dict[str, int]) -> None:
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    tmp = settings.pid_file(server).with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": pid, "ports": ports, "started_at": time.time()}))
    tmp.replace(settings.pid_file(server))


# ---- ports -------------------------------------------------------------------------------------------


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def check_ports(settings: InfraSettings, server: str) -> None:
    """Refuse to start ``server`` when another process holds one of its ports, naming the setting to change."""
    node = settings.kafka_node(server)
    if server in (POSTGRES, ZIPKIN):
        ports = [(server, settings.port_of(server), env_name(f"{server}_port"))]
    elif node is not None:
        ports = [
            (server, node.port, env_name("kafka_port")),
            (f"{server} controller", node.controller_port, env_name("kafka_controller_port")),
        ]
    else:
        raise InfraError(f"unknown server {server!r}")
    for label, port, setting in ports:
        if not port_free(port):
            raise InfraError(
                f"port {port} ({label}) is already in use by another process; set {setting} to another port"
            )


# ---- start and stop -------------------------------------------------------------------------------


def spawn(settings: InfraSettings, server: str, cmd: list[str], cwd: Path) -> int:
    """Start ``cmd`` in a session of its own, its output appended to the server's log; records its pid."""
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    # Kafka's own log goes to kafka.log via log4j; its stdout/stderr (JVM errors) to kafka.out.
    out_path = settings.logs_dir / (f"{server}.out" if server.startswith(KAFKA) else f"{server}.log")
    with open(out_path, "ab") as out:
        out.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    ports = {"port": settings.port_of(server)}
    node = settings.kafka_node(server)
    if node is not None:
        ports["controller_port"] = node.controller_port
    write_pid(settings, server, proc.pid, ports)
    return proc.pid


def signal_tree(pid: int, sig: int) -> list[int]:
    """Signal ``pid``; on SIGKILL also its children, which (each in a session of its own, as PostgreSQL's backends)
    no process-group signal reaches, so a restart meets no orphans. Returns every pid signalled."""
    pids = [pid, *children(pid)] if sig == signal.SIGKILL else [pid]
    for p in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p, sig)
    return pids


def signal_server(server: str, pid: int, sig: int) -> list[int]:
    """Send ``sig`` to a server; returns the pids to wait for.

    Kafka: its process group. PostgreSQL: the postmaster (SIGTERM becomes SIGINT, the fast shutdown that
    disconnects clients, where SIGTERM's smart shutdown would wait for every pooled connection to close)."""
    if server == POSTGRES:
        return signal_tree(pid, signal.SIGINT if sig == signal.SIGTERM else sig)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    return [pid]


def terminate(settings: InfraSettings, server: str, timeout: float = STOP_TIMEOUT) -> None:
    """Stop ``server`` (SIGTERM, SIGKILL after ``timeout`` s) and remove its pid record."""
    pid = read_pid(settings, server)
    if pid is not None:
        signal_server(server, pid, signal.SIGTERM)
        if not wait_gone([pid], timeout, interval=0.1):
            wait_gone(signal_server(server, pid, signal.SIGKILL), 5)
    settings.pid_file(server).unlink(missing_ok=True)


def failure(settings: InfraSettings, server: str, why: str) -> InfraError:
    """An ``InfraError`` saying what ``server`` did, with the last lines of its log (and the JVM's output)."""
    log = settings.log_file(server)
    text = tail(log)
    if server.startswith(KAFKA):
        out = settings.logs_dir / f"{server}.out"
        out_lines = [ln for ln in tail(out, 10).splitlines() if ln.strip() and not ln.startswith("====")]
        if out_lines and not out_lines[0].startswith("(no log"):
            text += f"\n--- {out} ---\n" + "\n".join(out_lines)
    return InfraError(f"{server} on port {settings.port_of(server)} {why}.\n--- last lines of {log} ---\n{text}")
