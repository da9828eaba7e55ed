"""`make run` / `caseflow run`: start the infrastructure and every service that exists, print the URLs,
and stop everything on Ctrl-C.

Each service is its own uvicorn process (`services.<name>.main:create_app`); extra programs (partner
simulators, the metrics worker) are declared in `PROGRAMS`. Missing services are skipped with a note, so the
command stays true while the platform grows.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import typer
from rich.console import Console

from caseflow_cli import infra

REPO = Path(__file__).resolve().parents[1]
console = Console(stderr=True)


@dataclass(frozen=True)
class Program:
    name: str
    module: str  # importable module that must exist for the program to start
    argv: list[str]
    port: int | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str | None:
        return f"http://127.0.0.1:{self.port}" if self.port else None


def _service(name: str, port: int) -> Program:
    return Program(
        name,
        f"services.{name}.main",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            f"services.{name}.main:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        port,
    )


SERVICES = [
    _service("intake", 8101),
    _service("legal_aid", 8102),
    _service("mediation", 8103),
    _service("notary", 8104),
    _service("metrics", 8105),
    _service("gateway", 8106),
    _service("console", 8100),
]
PROGRAMS: list[Program] = [
    Program("metrics-worker", "services.metrics.worker", [sys.executable, "-m", "services.metrics.worker"]),
    Program("partner-router", "integrations.router", [sys.executable, "-m", "integrations.router"]),
    Program(
        "simulators",
        "integrations.simulate",
        [sys.executable, "-m", "integrations.simulate", "--rate", "0.5", "--minutes", "0"],
    ),
]


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _wait_healthy(p: Program, proc: subprocess.Popen[bytes], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if httpx.get(f"{p.url}/readyz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def run(with_programs: bool = True) -> int:
    settings = infra.InfraSettings()
    try:
        status = infra.up(settings)
    except infra.InfraError as exc:
        console.print(f"[red]{exc}[/red]")
        return 1
    env = {
        # traces go to a file the console's trace view reads, unless a collector is configured
        "CASEFLOW_OTEL_EXPORTER": "file",
        "CASEFLOW_OTEL_FILE": str(REPO / ".cache" / "traces.jsonl"),
        **os.environ,
        "CASEFLOW_KAFKA_BOOTSTRAP": status.kafka_bootstrap,
        "CASEFLOW_MONGO_URL": status.mongo_url,
        "PYTHONPATH": str(REPO),
    }
    candidates = SERVICES + (PROGRAMS if with_programs else [])
    wanted = [p for p in candidates if _exists(p.module)]
    missing = [p.name for p in candidates if p not in wanted]
    procs: list[tuple[Program, subprocess.Popen[bytes]]] = []
    log_dir = settings.home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)

    def stop_all(*_: object) -> None:
        for _p, proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _p, proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()

    def on_term(*_: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops the children just as Ctrl-C does

    signal.signal(signal.SIGTERM, on_term)
    try:
        for p in wanted:
            log = (log_dir / f"{p.name}.log").open("ab")
            # own session: Ctrl-C reaches only this supervisor, which stops the children in order
            proc = subprocess.Popen(
                p.argv, cwd=REPO, env={**env, **p.env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            procs.append((p, proc))
            console.print(f"started {p.name} (pid {proc.pid}, log {log_dir / (p.name + '.log')})")
        for p, proc in procs:
            if p.port and not _wait_healthy(p, proc):
                console.print(f"[red]{p.name} did not become ready; see {log_dir / (p.name + '.log')}[/red]")
                stop_all()
                return 1
        console.print("\n[bold green]caseflow is running[/bold green]")
        console.print(f"  Kafka    {status.kafka_bootstrap}\n  MongoDB  {status.mongo_url}")
        for p, _proc in procs:
            if p.name == "console":
                console.print(f"  {p.name:<10} {p.url}/   <- open this: live scorecard, case trace, worklists")
            elif p.url:
                console.print(f"  {p.name:<10} {p.url}/docs")
        if missing:
            console.print(f"  (not part of this checkout: {', '.join(missing)})")
        console.print("Ctrl-C stops the services; `make infra-down` stops Kafka and FerretDB.\n")
        while True:
            for p, proc in procs:
                if proc.poll() is not None:
                    console.print(f"[red]{p.name} exited with {proc.returncode}; stopping[/red]")
                    stop_all()
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        console.print("stopping...")
        stop_all()
        return 0


def run_command(programs: bool = typer.Option(True, help="also start the worker, router and simulators")) -> None:
    """Start infrastructure and every service; Ctrl-C stops them."""
    raise typer.Exit(run(programs))
