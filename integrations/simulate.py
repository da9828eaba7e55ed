"""`python -m integrations.simulate` / `caseflow simulate`: run the partner simulators (integrations/simulator.py)
for a while, then print what each organ saw.

    python -m integrations.simulate --rate 0.5 --minutes 0          # until Ctrl-C
    python -m integrations.simulate --partners police --rate 1 --minutes 5
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Annotated

import typer

from integrations.simulator import PartnerSimulator
from shared.logs import setup_logging
from shared.settings import PlatformSettings, load_settings
from shared.topics import PARTNERS

RATE_BOUNDS = (0.01, 1000.0)  # new cases per second over all partners
MINUTES_MAX = 24 * 60


def _partner_list(value: str) -> str:
    names = [p.strip() for p in value.split(",") if p.strip()]
    if not names or set(names) - set(PARTNERS):
        raise typer.BadParameter(f"must name some of {','.join(PARTNERS)}")
    return ",".join(names)


def simulate_command(
    rate: Annotated[
        float,
        typer.Option("--rate", min=RATE_BOUNDS[0], max=RATE_BOUNDS[1], help="new cases per second over all partners"),
    ] = 0.5,
    minutes: Annotated[float, typer.Option("--minutes", min=0, max=MINUTES_MAX, help="how long; 0 = until Ctrl-C")] = 0,
    partners: Annotated[
        str, typer.Option("--partners", callback=_partner_list, help=f"comma-separated: {','.join(PARTNERS)}")
    ] = ",".join(PARTNERS),
    answer_only: Annotated[
        bool, typer.Option("--answer-only", help="send no new cases; consume and answer only")
    ] = False,
    seed: Annotated[int | None, typer.Option("--seed", help="random seed for reproducible traffic")] = None,
) -> None:
    """Send simulated partner traffic to the platform and answer what needs an answer (`caseflow simulate`,
    `python -m integrations.simulate`)."""
    asyncio.run(_main(rate=rate, minutes=minutes, partners=partners.split(","), answer_only=answer_only, seed=seed))


async def _main(*, rate: float, minutes: float, partners: list[str], answer_only: bool, seed: int | None) -> None:
    """Run until `minutes` pass or SIGINT / SIGTERM, then print what each organ saw."""
    settings = load_settings(PlatformSettings)
    setup_logging(settings.log_level, "simulate")
    sim = PartnerSimulator(settings, rate=rate, partners=partners, answer_only=answer_only, seed=seed)
    task = asyncio.create_task(sim.run(minutes))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task
    from rich.console import Console

    Console().print(sim.table())


app = typer.Typer(add_completion=False)
app.command()(simulate_command)

if __name__ == "__main__":
    app(prog_name="python -m integrations.simulate")
