"""``caseflow infra up|down|status|wipe|acl``: the typer commands over ``caseflow_cli.infra``."""

from __future__ import annotations

import json
import os

import typer
from pydantic import ValidationError

from caseflow_cli.infra.databases import redact
from caseflow_cli.infra.servers import down, status, up, wipe
from caseflow_cli.infra.settings import DATABASE_SERVICES, HOST, InfraError, InfraSettings, InfraStatus, env_name

infra_app = typer.Typer(
    no_args_is_help=True,
    help="Run a local single-node Kafka (KRaft), PostgreSQL 15 and Zipkin on 127.0.0.1, "
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
            name = env_name(loc) if loc else "CASEFLOW_INFRA_* (ports)"
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
        f"postgres: {redact(st.database_url)} (superuser; `status --json` shows the password), "
        f"one role + database per service: {', '.join(DATABASE_SERVICES)}; data in {st.postgres_data}",
        highlight=False,
    )
    if st.zipkin_url:
        console.print(f"zipkin: {st.zipkin_url}/zipkin/ (traces, in memory)", highlight=False)
    if st.secure:
        console.print("kafka security: SASL_PLAINTEXT / SCRAM-SHA-512 with ACLs (docs/SECURITY.md)", highlight=False)


@infra_app.command("up")
def up_cmd(
    fresh: bool = typer.Option(False, "--fresh", help="Wipe data under the infra home before starting."),
) -> None:
    """Start Kafka, PostgreSQL and Zipkin (fetching/installing them on first run) and wait until all are ready."""
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
