"""`caseflow indicators --region R --period P`: the scorecard of a region, or one indicator, as a table or JSON.

Exit codes: 0 shown, 2 invalid region/period/indicator, 3 unknown region or indicator, 4 metrics unreachable.
"""

from __future__ import annotations

import json
import re

import typer
from rich.table import Table

from caseflow_cli.trace import INVALID, METRICS_URL, console, errors, fetch

KINDS = ("day", "month", "year", "last-24h", "last-7d")
COLOUR = {"met": "green", "not_met": "red", "no_data": "dim", "no_target": "dim", "not_judged": "dim"}


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}".rstrip("0").rstrip(".")


def _annualised(v: dict) -> str:  # type: ignore[type-arg]
    return f" (annualised {_fmt(v.get('extra', {}).get('annualised'))})" if v.get("annualised") else ""


def _target(v: dict) -> str:  # type: ignore[type-arg]
    """`>= 100 /year (420700)`: the op and value, per year for an annual one, and the city profile or default."""
    t = v.get("target")
    if not t:
        return "—"
    per = " /year" if t.get("per") == "year" else ""
    return f"{t['op']} {_fmt(t['value'])}{per}" + (f" ({v['target_from']})" if v.get("target_from") else "")


def indicators_command(
    region: str = typer.Option("431000000000", "--region", "-r", help="12-digit division code"),
    period: str = typer.Option(
        "year", "--period", "-p", help="day|month|year|last-24h|last-7d, or with --indicator e.g. day:2026-03-02"
    ),
    indicator: str | None = typer.Option(None, "--indicator", "-i", help="only this indicator"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
    metrics_url: str = METRICS_URL,
) -> None:
    """Indicator values against their targets (exit 3: unknown region/indicator, 4: metrics unreachable)."""
    if not re.fullmatch(r"\d{12}", region):
        errors.print(f"[red]--region: {region!r} is not a 12-digit division code[/red]")
        raise typer.Exit(INVALID)
    if indicator is None and period not in KINDS:
        errors.print(f"[red]--period: a scorecard takes one of {', '.join(KINDS)}, got {period!r}[/red]")
        raise typer.Exit(INVALID)
    if indicator is None:
        values = fetch(metrics_url, f"/regions/{region}/scorecard", {"period": period})
    else:
        values = [fetch(metrics_url, f"/indicators/{indicator}", {"region": region, "period": period})]
    if as_json:
        typer.echo(json.dumps(values, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"indicators · {region} · {period}")
    for col, justify in (("indicator", "left"), ("名称", "left"), ("value", "right"), ("target", "right"),
                         ("status", "left"), ("num/den", "right"), ("period", "left")):  # fmt: skip
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for v in values:
        table.add_row(
            v["indicator"],
            f"{v['name_zh']} / {v['name_en']}",
            f"{_fmt(v['value'])} {v['unit']}" + _annualised(v),
            _target(v),
            f"[{COLOUR.get(v['status'], 'white')}]{v['status']}[/]",
            f"{_fmt(v['numerator'])}/{_fmt(v['denominator'])}",
            v["period"],
        )
    console.print(table)
