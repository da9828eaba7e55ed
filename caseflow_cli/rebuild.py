"""`caseflow rebuild`: recompute every case and indicator of the metrics service from the topics (重算).

Uses `services.metrics.rebuild` (the fast replay: `--workers` processes fold the by-case partitions in parallel,
a progress bar with events/s and the time left on stderr). Records the live writer dead-letters are counted, and
the first ones named with their topic, partition and offset. `--check` compares the result with the live metrics
writer's state (run it while no events arrive). It reads every department and partner topic and the writer's
changelog: on the secure broker only the admin principal may, which the operator profile `make run` writes gives
it (caseflow_cli/profile.py). Exit codes: 0 done (and equal), 1 the states differ, 2 rebuild not
available in this tree, 4 Kafka unreachable.
"""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from caseflow_cli.profile import operator_settings

console = Console(stderr=True)


class StatesDiffer(Exception):
    pass


MODULE = "services.metrics.rebuild"


def rebuild_command(
    check: bool = typer.Option(False, "--check", help="compare with the live writer's state; exit 1 if they differ"),
    timeout: float = typer.Option(600, "--timeout", min=1, help="give up after this many seconds"),
    workers: int = typer.Option(0, "--workers", min=0, help="processes folding partitions (0: one per CPU)"),
) -> None:
    """Replay the department and partner topics from offset zero into a fresh metrics state."""
    try:
        mod = importlib.import_module(MODULE)
        from services.metrics.config import Settings
    except ModuleNotFoundError:
        console.print(f"[red]the metrics rebuild ({MODULE}) is not installed in this tree[/red]")
        raise typer.Exit(2) from None
    from shared.settings import load_settings

    settings = load_settings(Settings).model_copy(update={"platform": operator_settings()})

    async def go() -> str:
        if check:
            comparison = await mod.compare_with_writer(settings, show_progress=True, workers=workers or None)
            _report_refused(comparison.replayed)
            if not comparison.equal:
                raise StatesDiffer(comparison.summary())
            return str(comparison.summary())
        result = await mod.rebuild(settings, show_progress=True, workers=workers or None)
        _report_refused(result)
        return str(result.summary())

    try:
        said = asyncio.run(asyncio.wait_for(go(), timeout))
    except StatesDiffer as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(1) from None
    except (TimeoutError, OSError, ConnectionError) as exc:
        console.print(f"[red]rebuild failed: {type(exc).__name__}: {exc}[/red]")
        raise typer.Exit(4) from None
    except Exception as exc:  # aiokafka/psycopg connection errors share no base class with OSError
        if type(exc).__module__.split(".")[0] in ("aiokafka", "kafka"):
            console.print(f"[red]rebuild failed: {type(exc).__name__}: {exc}[/red]")
            raise typer.Exit(4) from None
        raise
    typer.echo(said)


def _report_refused(result: Any) -> None:
    """The records the replay refused (as the live writer dead-letters them), first ones with their place."""
    if result is None or not result.rejections:
        return
    refused = ", ".join(f"{n} {code}" for code, n in sorted(result.refused.items()))
    console.print(f"[yellow]refused (never folded): {refused}[/yellow]")
    for line in result.rejections[:10]:
        console.print(f"  {line}")
