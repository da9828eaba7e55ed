"""Rebuild (重算): recompute every case and indicator from the source topics from offset zero.

`python -m services.metrics.rebuild [--check] [--workers N]` (or `caseflow rebuild`) reads every department topic
and partner inbound topic up to the end offsets present at start, with a progress bar, through the fast replay
(`services.metrics.replay`: batch decode, by-case partitions folded in parallel processes, their shares summed as
the reducer sums the writers'); folds are deterministic and idempotent, so the result equals the live writers'.
`--check` proves it: it loads the writers' state (their changelog, `writer_state.py`) beside the rebuilt one and
compares every case's events and every indicator cell, and every indicator the reducer published (the latest of
each on the indicators topic); run it while no events arrive, or the two read different ends of the log.
Records the live writer dead-letters (unknown type or version, malformed, fold failed) are counted and the first
ones named with their topic, partition and offset; they are never folded.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

import typer

from services.metrics.config import Settings
from services.metrics.engine import build_engine
from services.metrics.replay.run import ReplayResult, replay
from services.metrics.values import Value
from services.metrics.writer_state import read_compacted, writer_cases
from shared import clock as scenario
from shared.settings import PlatformSettings, load_settings
from shared.topics import Topics


async def rebuild(
    settings: Settings,
    *,
    now: datetime | None = None,
    show_progress: bool = True,
    workers: int | None = None,
    with_event_ids: bool = False,
) -> ReplayResult:
    """The indicators rebuilt from the topics, evaluated at `now` (an engine holding every cell, no cases)."""
    return await replay(settings, now=now, workers=workers, show_progress=show_progress, with_event_ids=with_event_ids)


@dataclass
class Comparison:
    """The rebuilt state beside the live writer's: equal when no case and no indicator cell differs."""

    cases: int  # rebuilt
    live_cases: int
    cells: int  # rebuilt indicator cells
    cases_differing: list[str] = field(default_factory=list)  # correlation ids whose folded events differ (a
    # state's step and subject tuples follow the order its events were folded in, which the two sides do not share)
    cells_differing: list[str] = field(default_factory=list)  # cell keys whose sums differ
    published: int = 0  # indicators on the indicators topic
    published_differing: list[str] = field(default_factory=list)  # indicator|region|period published otherwise
    replayed: ReplayResult | None = None

    @property
    def equal(self) -> bool:
        return not self.cases_differing and not self.cells_differing and not self.published_differing

    def summary(self) -> str:
        head = f"rebuilt {self.cases} cases and {self.cells} indicator cells; the live writer holds {self.live_cases}"
        if self.equal:
            return head + ": identical"
        return (
            f"{head}: {len(self.cases_differing)} cases differ (e.g. {self.cases_differing[:5]}), "
            f"{len(self.cells_differing)} cells differ (e.g. {self.cells_differing[:5]}), "
            f"{len(self.published_differing)} of {self.published} published indicators differ "
            f"(e.g. {self.published_differing[:5]})"
        )


async def compare_with_writer(
    settings: Settings, *, show_progress: bool = True, workers: int | None = None
) -> Comparison:
    """Rebuild from the topics and compare with the writers' changelog state, both evaluated at the same instant,
    and with the indicators the reducer published (the latest of each on the indicators topic)."""
    now = scenario.now()
    replayed = await rebuild(settings, now=now, show_progress=show_progress, workers=workers, with_event_ids=True)
    rebuilt = replayed.engine
    live = build_engine(settings)
    live.forget_old_hours(now)  # as the replay and the writers do
    live.restore_all(await writer_cases(settings.platform), now)
    live.tick(now)
    ids = replayed.event_ids
    ids_live = {cid: case.event_ids for cid, case in live.cases.items()}
    cases = sorted(cid for cid in set(ids) | set(ids_live) if ids.get(cid) != ids_live.get(cid))
    a, b = rebuilt.aggregates.cells, live.aggregates.cells
    cells = sorted(k for k in set(a) | set(b) if not _same(a.get(k), b.get(k)))
    published = await published_indicators(settings.platform)
    keys = set(published) | {k.rpartition("|")[0] for k in a if rebuilt.publishes(k)}
    differing = sorted(k for k in keys if not _same_value(published.get(k), rebuilt.value_of_cell(f"{k}|*", now)))
    return Comparison(
        replayed.cases, len(live.cases), len(a), cases, cells, len(published), differing, replayed=replayed
    )


async def published_indicators(platform: PlatformSettings) -> dict[str, dict[str, Any]]:
    """indicator|region|period → the latest value published for it."""
    held = await read_compacted(platform, Topics(platform.topic_prefix).indicators)
    return {k.decode(): json.loads(v) for k, v in held.items() if not k.startswith(b"alert|")}


def _same_value(published: dict[str, Any] | None, rebuilt: Value) -> bool:
    if published is None:
        return False
    pairs = [(published.get("numerator"), rebuilt.numerator), (published.get("denominator"), rebuilt.denominator)]
    return all(x == y or x is not None and y is not None and abs(x - y) < 1e-6 for x, y in pairs)


def _same(x: Sequence[float] | None, y: Sequence[float] | None) -> bool:
    x, y = x or [0.0, 0.0, 0.0], y or [0.0, 0.0, 0.0]
    return all(abs(p - q) < 1e-6 for p, q in zip(x, y, strict=True))


def main(
    check: Annotated[
        bool, typer.Option("--check", help="compare with the live writer's state; exit 1 if not equal")
    ] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, help="processes folding partitions")] = 0,
) -> None:
    """Recompute every case state and indicator from the source topics (`caseflow rebuild` does the same)."""
    settings = load_settings(Settings)
    if check:
        comparison = asyncio.run(compare_with_writer(settings, workers=workers or None))
        print(comparison.summary())
        raise typer.Exit(0 if comparison.equal else 1)
    print(asyncio.run(rebuild(settings, workers=workers or None)).summary())


if __name__ == "__main__":
    typer.run(main)
