"""Zipkin, the trace viewer: the ``io.zipkin:zipkin-server`` exec jar from Maven Central, run with Java 17 on
127.0.0.1 with in-memory storage (traces live as long as the server). Its UI is ``<url>/zipkin/``, its span intake
``<url>/api/v2/spans`` (``CASEFLOW_OTEL_ZIPKIN_ENDPOINT``)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import httpx

from caseflow_cli.infra import processes
from caseflow_cli.infra.settings import HOST, LOG_TAIL_LINES, ZIPKIN, InfraError, InfraSettings

ARTIFACT = "io.zipkin:zipkin-server:{version}:jar:exec"


def url(settings: InfraSettings) -> str:
    """Where the server answers: the UI under ``/zipkin/``, the API under ``/api/v2/``."""
    return f"http://{HOST}:{settings.zipkin_port}"


def ensure_jar(settings: InfraSettings) -> None:
    processes.require_tool("java", "run Zipkin")
    if not settings.zipkin_jar.is_file():
        fetch(settings)


def fetch(settings: InfraSettings) -> None:
    """Copy the exec jar from Maven Central into ``settings.cache`` (through a temporary dir)."""
    mvn = processes.require_tool("mvn", "fetch the Zipkin server from Maven Central")
    processes.progress(f"fetching Zipkin {settings.zipkin_version} (first run only)...")
    settings.cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".zipkin-", dir=settings.cache))
    try:
        artifact = ARTIFACT.format(version=settings.zipkin_version)
        proc = subprocess.run(
            [mvn, "-q", "-B", "dependency:copy", f"-Dartifact={artifact}", f"-DoutputDirectory={tmp}"],
            capture_output=True, text=True,
        )  # fmt: skip
        fetched = tmp / settings.zipkin_jar.name
        if proc.returncode != 0 or not fetched.is_file():
            out = "\n".join((proc.stdout + proc.stderr).splitlines()[-LOG_TAIL_LINES:])
            raise InfraError(f"fetching {artifact} with mvn failed:\n{out}")
        fetched.replace(settings.zipkin_jar)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def command(settings: InfraSettings) -> list[str]:
    java = processes.require_tool("java", "run Zipkin")
    port = "--armeria.ports[0]"
    return [
        java, "-Xmx512m", "-Xms64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true",
        "-jar", str(settings.zipkin_jar),
        f"{port}.ip={HOST}", f"{port}.port={settings.zipkin_port}", f"{port}.protocols=http",
        "--zipkin.storage.type=mem", "--zipkin.storage.mem.max-spans=60000", "--logging.level.root=WARN",
        "--logging.level.com.linecorp.armeria.server.Server=INFO",
    ]  # fmt: skip


def start(settings: InfraSettings) -> int:
    settings.zipkin_dir.mkdir(parents=True, exist_ok=True)
    return processes.spawn(settings, ZIPKIN, command(settings), settings.zipkin_dir)


def probe(settings: InfraSettings, timeout: float = 3.0) -> bool:
    """The server reports itself and its storage up."""
    if processes.port_free(settings.zipkin_port):
        return False
    try:
        r = httpx.get(f"{url(settings)}/health", timeout=timeout)
        return r.status_code == 200 and r.json().get("status") == "UP"
    except (httpx.HTTPError, ValueError):
        return False
