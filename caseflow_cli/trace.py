"""`caseflow trace CASE`: a case's steps across departments, time per department and its deadlines (from metrics).

Exit codes scripts can rely on: 0 found, 2 invalid input, 3 not found, 4 metrics service unreachable.
Also home of the small HTTP helper the other metrics commands share.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from services.console.rendering import held_for, when
from shared.auth import issue_token
from shared.settings import PlatformSettings, load_settings

OK, INVALID, NOT_FOUND, UNREACHABLE = 0, 2, 3, 4
METRICS_URL = typer.Option("http://127.0.0.1:8105", "--metrics-url", envvar="CASEFLOW_METRICS_URL")
#: tests route the commands to an in-process app by setting this (an httpx async transport)
TRANSPORT: httpx.AsyncBaseTransport | None = None
console = Console()
errors = Console(stderr=True)


class Failed(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


async def _get(base_url: str, path: str, params: dict[str, Any] | None) -> Any:
    token = issue_token(load_settings(PlatformSettings), "dept:cli", ["metrics:read"])
    async with httpx.AsyncClient(base_url=base_url, transport=TRANSPORT, timeout=10) as client:
        try:
            r = await client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            raise Failed(UNREACHABLE, f"metrics service unreachable at {base_url}: {type(exc).__name__}") from None
    if r.status_code == 404:
        raise Failed(NOT_FOUND, _detail(r))
    if r.status_code in (400, 422):
        raise Failed(INVALID, _detail(r))
    if r.status_code >= 400:
        raise Failed(UNREACHABLE, f"metrics service answered {r.status_code}: {_detail(r)}")
    return r.json()


def _detail(r: httpx.Response) -> str:
    try:
        return str(r.json().get("detail", r.text))
    except ValueError:
        return r.text[:200]


def fetch(base_url: str, path: str, params: dict[str, Any] | None = None) -> Any:
    """GET a metrics route or exit with the documented code and a one-line reason on stderr."""
    try:
        return asyncio.run(_get(base_url, path, params))
    except Failed as exc:
        errors.print(f"[red]{escape(exc.message)}[/red]")
        raise typer.Exit(exc.code) from None


def trace_command(
    case: str = typer.Argument(..., help="case id, correlation id or a partner's reference"),
    as_json: bool = typer.Option(False, "--json", help="print the timeline as JSON"),
    metrics_url: str = METRICS_URL,
) -> None:
    """Show a case's timeline across departments (exit 3: not found, 4: metrics unreachable)."""
    if not case.strip() or "/" in case or len(case) > 128:
        errors.print("[red]CASE must be a non-empty id without '/' (at most 128 characters)[/red]")
        raise typer.Exit(INVALID)
    tl = fetch(metrics_url, f"/cases/{case}/timeline")
    if as_json:
        typer.echo(json.dumps(tl, ensure_ascii=False, indent=2))
        return
    console.print(f"[bold]{tl['correlation_id']}[/bold]  region {tl.get('region') or '—'}  cases "
                  f"{', '.join(tl.get('case_ids', []))}")  # fmt: skip
    steps = Table(title="steps")
    for col in ("time", "department", "event", "actor", "case"):
        steps.add_column(col)
    for s in tl["steps"]:
        steps.add_row(when(s["at"]), s["department"], s["event_type"], s.get("actor") or "", s.get("subject") or "")
    console.print(steps)
    hours = Table(title="time per department")
    hours.add_column("department")
    hours.add_column("held", justify="right")
    for dept, h in tl.get("hours_in_department", {}).items():
        hours.add_row(dept, held_for(h))
    console.print(hours)
    if tl.get("deadlines"):
        dl = Table(title="deadlines")
        for col in ("deadline", "case", "due", "done", "status"):
            dl.add_column(col)
        colour = {"met": "green", "missed": "red", "pending": "yellow"}
        for d in tl["deadlines"]:
            st = d["status"]
            dl.add_row(f"{d['name_zh']} {d['name_en']}", d["case_id"], when(d["due"]), when(d.get("done_at")),
                       f"[{colour.get(st, 'white')}]{st}[/]")  # fmt: skip
        console.print(dl)
