"""`caseflow rebuild`: recompute every case and indicator of the metrics service from the topics (重算).

Uses `services.metrics.rebuild` (progress bar while reading). `--write` replaces the metrics snapshot — stop the
metrics worker first. Exit codes: 0 done, 2 rebuild not available in this tree, 4 Kafka or MongoDB unreachable.
"""

from __future__ import annotations

import asyncio
import importlib

import typer
from rich.console import Console

console = Console(stderr=True)
MODULE = "services.metrics.rebuild"


def rebuild_command(
    write: bool = typer.Option(False, "--write", help="replace the MongoDB snapshot with the result"),
    timeout: float = typer.Option(600, "--timeout", min=1, help="give up after this many seconds"),
) -> None:
    """Replay the department and partner topics from offset zero into a fresh metrics state."""
    try:
        mod = importlib.import_module(MODULE)
        from services.metrics.config import Settings
    except ModuleNotFoundError:
        console.print(f"[red]the metrics rebuild ({MODULE}) is not installed in this tree[/red]")
        raise typer.Exit(2) from None
    from shared.settings import load_settings

    settings = load_settings(Settings)

    async def go() -> int:
        if write:
            return int(await mod.rebuild_and_write(settings))
        engine, _ = await mod.rebuild(settings, show_progress=True)
        return len(engine.cases)

    try:
        n = asyncio.run(asyncio.wait_for(go(), timeout))
    except (TimeoutError, OSError, ConnectionError) as exc:
        console.print(f"[red]rebuild failed: {type(exc).__name__}: {exc}[/red]")
        raise typer.Exit(4) from None
    except Exception as exc:  # aiokafka/pymongo connection errors share no base class with OSError
        if type(exc).__module__.split(".")[0] in ("aiokafka", "kafka", "pymongo"):
            console.print(f"[red]rebuild failed: {type(exc).__name__}: {exc}[/red]")
            raise typer.Exit(4) from None
        raise
    typer.echo(f"rebuilt {n} cases" + (" (snapshot written)" if write else ""))
