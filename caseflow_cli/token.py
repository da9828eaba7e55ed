"""`caseflow token`: issue a development bearer token for a department or partner identity."""

from __future__ import annotations

from datetime import timedelta

import typer

from shared.auth import issue_token
from shared.settings import PlatformSettings, load_settings


def token_command(
    subject: str = typer.Argument(..., help="identity, e.g. dept:intake or partner:court"),
    scope: list[str] = typer.Option(..., "--scope", "-s", help="scope to grant (repeatable), e.g. intake:write"),
    hours: float = typer.Option(12, min=0.01, max=24 * 30, help="lifetime in hours"),
) -> None:
    """Print a signed token (HS256 with CASEFLOW_AUTH_SECRET) for local use."""
    kind, sep, name = subject.partition(":")
    if not sep or kind not in {"dept", "partner", "user"} or not name:
        typer.echo("subject must look like dept:<name>, partner:<name> or user:<name>", err=True)
        raise typer.Exit(2)
    settings = load_settings(PlatformSettings)
    typer.echo(issue_token(settings, subject, scope, ttl=timedelta(hours=hours)))
