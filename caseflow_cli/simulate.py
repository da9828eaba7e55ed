"""`caseflow simulate --rate --minutes`: run the partner simulators (court, police, procuratorate).

Runs `python -m integrations.simulate` with the same settings (`CASEFLOW_*`) and returns its exit code; exits 2
with a message when the simulators are not installed in this tree.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import typer

MODULE = "integrations.simulate"


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def run(argv: list[str]) -> int:
    """Run the simulator in the foreground; Ctrl-C reaches it too, so it prints its closing table."""
    try:
        return subprocess.run(argv, check=False).returncode
    except KeyboardInterrupt:
        return 130


def simulate_command(
    rate: float = typer.Option(0.5, "--rate", min=0.01, max=1000, help="new cases per second over all partners"),
    minutes: float = typer.Option(0, "--minutes", min=0, max=24 * 60, help="how long; 0 = until Ctrl-C"),
    partners: str | None = typer.Option(None, "--partners", help="comma-separated: court,police,procuratorate"),
    seed: int | None = typer.Option(None, "--seed", help="random seed for reproducible traffic"),
) -> None:
    """Send simulated partner traffic to the platform and answer what needs an answer."""
    if not _exists(MODULE):
        typer.echo(f"the partner simulators ({MODULE}) are not installed in this tree", err=True)
        raise typer.Exit(2)
    argv = [sys.executable, "-m", MODULE, "--rate", str(rate), "--minutes", str(minutes)]
    if partners:
        argv += ["--partners", partners]
    if seed is not None:
        argv += ["--seed", str(seed)]
    raise typer.Exit(run(argv))
