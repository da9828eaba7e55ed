"""`python -m integrations.demo`: play citizens and department staff against the running platform, at the
scenario clock (`CASEFLOW_CLOCK_RATE`, `CASEFLOW_CLOCK_EPOCH`), until Ctrl-C or `--minutes` real minutes.

    python -m integrations.demo --seed 7 --per-hour 6
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Annotated

import typer

from integrations.demo.cities import load_cities
from integrations.demo.client import DemoSettings, Platform
from integrations.demo.day import Demo
from integrations.demo.plan import new_run_id
from integrations.demo.runner import play
from integrations.demo.scheduler import Scheduler
from shared.clock import platform_clock
from shared.logs import setup_logging
from shared.settings import PlatformSettings, load_settings

log = logging.getLogger("integrations.demo")


def demo_command(
    seed: Annotated[int, typer.Option(help="the plan's seed: the same seed plays the same visits")] = 2026,
    per_hour: Annotated[
        float, typer.Option("--per-hour", min=0.1, max=10_000, help="citizen arrivals per scenario hour, all cities")
    ] = 6.0,
    every: Annotated[float, typer.Option(min=0.5, max=600, help="real seconds between staff worklist rounds")] = 3.0,
    minutes: Annotated[float, typer.Option(min=0, max=24 * 60, help="real minutes to run; 0 = until Ctrl-C")] = 0,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="acts in flight at once")] = 4,
    last_year: Annotated[bool, typer.Option("--last-year/--no-last-year", help="log last year's sample calls")] = True,
) -> None:
    """Simulate a city's working day: citizens on every channel and the staff of every department."""
    settings = load_settings(PlatformSettings)
    setup_logging(settings.log_level, "demo")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request would drown the demo's own report
    urls = load_settings(DemoSettings).urls()
    asyncio.run(_main(settings, urls, seed, per_hour, every, minutes, concurrency, last_year))


async def _main(settings: PlatformSettings, urls: dict[str, str], seed: int, per_hour: float, every: float,
                minutes: float, concurrency: int, last_year: bool) -> None:  # fmt: skip
    clock = platform_clock()
    platform = Platform(settings, urls)
    demo = Demo(platform, Scheduler(clock, concurrency=concurrency), seed, new_run_id(), load_cities())
    task = asyncio.create_task(play(demo, per_hour, every, last_year))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError, TimeoutError):
        await asyncio.wait_for(task, minutes * 60 if minutes else None)
    await platform.close()
    log.info("demo %s done: %s; failed: %s", demo.run_id, dict(demo.scheduler.done), dict(demo.scheduler.failed))


app = typer.Typer(add_completion=False)
app.command()(demo_command)

if __name__ == "__main__":
    app(prog_name="python -m integrations.demo")
