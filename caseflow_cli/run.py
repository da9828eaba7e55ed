"""`make run` / `caseflow run`: start the infrastructure and every service that exists, print the URLs,
and stop everything on Ctrl-C.

Each service is its own uvicorn process (`services.<name>.main:create_app`); extra programs (partner
simulators, the metrics worker) are declared in `PROGRAMS`. Missing services are skipped with a note, so the
command stays true while the platform grows.

With `CASEFLOW_INFRA_SECURE=1` the broker runs with SASL/SCRAM and ACLs: the topic prefix's users, grants and
topics are applied first, and every program connects as its own principal (`Program.principal`), with the
password from the credentials file (deploy/local/dev-credentials.json unless CASEFLOW_INFRA_CREDENTIALS_FILE).

Each program with a database (`Program.database`) gets `CASEFLOW_DATABASE_URL` for its own PostgreSQL role and
database (`infra.database_url_for`), which no other program's role may connect to; the others get none.

Every program shares one scenario clock (`CASEFLOW_CLOCK_RATE`, `CASEFLOW_CLOCK_EPOCH`; run_clock.py resumes it
where the last run stopped): the living demo (`integrations.demo`: citizens and department staff over the
departments' HTTP APIs) plays days of casework in minutes, so every indicator has a value soon after the start.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import time
from datetime import timedelta, timezone
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from caseflow_cli import acl, infra
from caseflow_cli.profile import write_profile
from caseflow_cli.run_clock import RunClock
from caseflow_cli.supervisor import Program, Supervisor, module, service
from shared.auth import issue_token
from shared.settings import MAX_CLOCK_RATE, PlatformSettings, load_settings
from shared.topics import PARTNERS

REPO = Path(__file__).resolve().parents[1]
CHINA = timezone(timedelta(hours=8))
console = Console(stderr=True)


SERVICES = [
    *(
        service(name, port, principal=name, database=name)
        for name, port in (
            ("intake", 8101), ("legal_aid", 8102), ("mediation", 8103), ("notary", 8104), ("metrics", 8105),
            ("gateway", 8106),
        )
    ),
    service("console", 8100),  # calls the other services over HTTP only: no broker user, no database
]  # fmt: skip
SIMULATED_RATE = 0.5  # partner events per second over all partners: gentle, yet visible within a minute
#: scenario seconds per real second: 1 real second = 20 demo minutes, a demo day in 72 real seconds, so the
#: longest chains the indicators wait for (agreement → follow-up, issuance → court feedback: about a demo day)
#: land within two real minutes
CLOCK_RATE = 1200.0
PROGRAMS: list[Program] = [
    module("metrics-worker", "services.metrics.writer", principal="metrics", database="metrics"),
    module("partner-router", "integrations.router", principal="router", database="router"),
    # one simulator per partner, so each plays its organ as that organ's own principal
    *(
        module(f"simulator-{p}", "integrations.simulate", "--partners", p,
               "--rate", f"{SIMULATED_RATE / len(PARTNERS):.3f}", "--minutes", "0", principal=p)
        for p in PARTNERS
    ),
    # citizens and department staff over the departments' HTTP APIs (tokens of its own: no broker user, no database)
    module("demo", "integrations.demo"),
]  # fmt: skip


def kafka_env(settings: infra.InfraSettings, program: Program, credentials: dict[str, str]) -> dict[str, str]:
    """CASEFLOW_KAFKA_* for a program on the secure broker (nothing on the plain one)."""
    if not settings.secure or program.principal is None:
        return {}
    return {
        "CASEFLOW_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "CASEFLOW_KAFKA_SASL_MECHANISM": acl.MECHANISM,
        "CASEFLOW_KAFKA_USERNAME": program.principal,
        "CASEFLOW_KAFKA_PASSWORD": credentials[program.principal],
    }


def database_env(settings: infra.InfraSettings, program: Program) -> dict[str, str]:
    """CASEFLOW_DATABASE_URL: the program's own role and database (nothing for a program without one)."""
    if program.database is None:
        return {}
    return {"CASEFLOW_DATABASE_URL": infra.database_url_for(settings, program.database)}


def telemetry_env(zipkin_url: str | None) -> dict[str, str]:
    """Where every program sends its spans: to Zipkin when it runs (and the console links each step there), else to
    the file the console's own span view reads; `CASEFLOW_OTEL_EXPORTER` set by the caller wins."""
    env = {
        "CASEFLOW_OTEL_EXPORTER": os.environ.get("CASEFLOW_OTEL_EXPORTER", "zipkin" if zipkin_url else "file"),
        "CASEFLOW_OTEL_FILE": os.environ.get("CASEFLOW_OTEL_FILE", str(REPO / ".cache" / "traces.jsonl")),
    }
    if zipkin_url:
        env["CASEFLOW_OTEL_ZIPKIN_ENDPOINT"] = f"{zipkin_url}/api/v2/spans"
        env["CONSOLE_ZIPKIN_URL"] = zipkin_url
    return env


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _staff_token() -> str:
    """A local operator's console sign-in token, signed with the secret the services use (CASEFLOW_AUTH_SECRET)."""
    return issue_token(load_settings(PlatformSettings), "user:ops", ["console:read"])


def _start_infra(settings: infra.InfraSettings) -> tuple[infra.InfraStatus, dict[str, str]]:
    """The servers up, and in secure mode the prefix's users, grants and topics; the programs' broker passwords."""
    status = infra.up(settings)
    if not settings.secure:
        return status, {}
    report = acl.apply_acls(settings, os.environ.get("CASEFLOW_TOPIC_PREFIX", "caseflow"))
    console.print(f"secure broker: {report.acls} ACLs for {report.users - 1} principals on {report.prefix!r}")
    return status, acl.load_credentials(settings.credentials_file)


def _print_banner(
    settings: infra.InfraSettings, status: infra.InfraStatus, sup: Supervisor, missing: list[str], clock: RunClock
) -> None:
    console.print("\n[bold green]caseflow is running[/bold green]")
    now = clock.scenario()().astimezone(CHINA)
    console.print(
        f"  Clock       {clock.rate:g}x real time (1 s = {clock.rate / 60:g} demo min), now {now:%Y-%m-%d %H:%M} "
        f"China time" + (f"; the living demo's log: {sup.log_of('demo')}" if "demo" in sup.programs else ""),
        highlight=False,
    )
    mode = "SASL/SCRAM + ACLs, each program its own principal" if settings.secure else "plaintext"
    console.print(f"  Kafka       {status.kafka_bootstrap} ({mode})")
    console.print(
        f"  PostgreSQL  {infra.HOST}:{status.postgres.port}, each service its own role and database; "
        f"superuser {infra.redact(status.database_url)} (password: `caseflow infra status --json`)",
        highlight=False,
    )
    for p in sup.programs.values():
        if p.name == "console":
            console.print(f"  {p.name:<10} {p.url}/   <- open this: live scorecard, case trace, worklists")
            console.print(f"  {'':<10} sign in there with this staff token (console:read, 12 h):")
            console.print(f"  {'':<10} {_staff_token()}", soft_wrap=True)  # one line: it is copied whole
        elif p.url:
            console.print(f"  {p.name:<10} {p.url}/docs")
    if status.zipkin_url:
        console.print(f"  {'zipkin':<10} {status.zipkin_url}/zipkin/   <- every trace, across every Kafka hop")
    if missing:
        console.print(f"  (not part of this checkout: {', '.join(missing)})")
    console.print("Ctrl-C stops the services; `make infra-down` stops Kafka, PostgreSQL and Zipkin.\n")


def _watch(sup: Supervisor, clock: RunClock) -> int:
    """Until one program exits (1) or Ctrl-C / SIGTERM (0); stops them all either way. Notes the scenario time
    every few seconds and at the end, for the next run to resume from."""
    try:
        ticks = 0
        while (gone := sup.exited()) is None:
            time.sleep(1)
            ticks += 1
            if ticks % 5 == 0:
                clock.save()
        console.print(f"[red]{gone[0]} exited with {gone[1]}; stopping[/red]")
        sup.stop_all()
        return 1
    except KeyboardInterrupt:
        console.print("stopping...")
        sup.stop_all()
        return 0
    finally:
        clock.save()


def run(with_programs: bool = True, clock_rate: float = CLOCK_RATE) -> int:
    settings = infra.InfraSettings()
    try:
        status, credentials = _start_infra(settings)
    except infra.InfraError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        return 1
    prefix = os.environ.get("CASEFLOW_TOPIC_PREFIX", "caseflow")
    profile = write_profile(settings, status, prefix)
    console.print(f"operator profile (lag, rebuild, dlq use it): {profile}")
    clock = RunClock.resume(clock_rate, settings.home / f"scenario-clock-{prefix}.json")
    env = {**telemetry_env(status.zipkin_url), "CASEFLOW_KAFKA_BOOTSTRAP": status.kafka_bootstrap, **clock.env()}
    candidates = SERVICES + (PROGRAMS if with_programs else [])
    wanted = [p for p in candidates if p.module is not None and _exists(p.module)]
    missing = [p.name for p in candidates if p not in wanted]
    # each program gets its own database URL, or none
    sup = Supervisor(env, settings.logs_dir, unset=frozenset({"CASEFLOW_DATABASE_URL"}))

    def on_term(*_: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops the children just as Ctrl-C does

    signal.signal(signal.SIGTERM, on_term)
    try:
        for p in wanted:
            proc = sup.start(p, {**kafka_env(settings, p, credentials), **database_env(settings, p)})
            console.print(f"started {p.name} (pid {proc.pid}, log {sup.log_of(p.name)})")
        for p in wanted:
            if p.port:
                sup.wait_ready(p.name, timeout=60)
    except (RuntimeError, TimeoutError) as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        sup.stop_all()
        return 1
    except KeyboardInterrupt:
        console.print("stopping...")
        sup.stop_all()
        return 0
    _print_banner(settings, status, sup, missing, clock)
    return _watch(sup, clock)


def run_command(
    programs: bool = typer.Option(True, help="also start the worker, router, simulators and the living demo"),
    clock_rate: float = typer.Option(
        CLOCK_RATE, "--clock-rate", min=1.0, max=MAX_CLOCK_RATE,
        help="scenario seconds per real second (1 = real time; the default plays a demo day in 72 s)",
    ),
) -> None:  # fmt: skip
    """Start infrastructure and every service; Ctrl-C stops them."""
    raise typer.Exit(run(programs, clock_rate))
