"""Rebuild (重算): recompute every case state and indicator from the source topics from offset zero.

`python -m services.metrics.rebuild [--check]` (or `caseflow rebuild`) reads every department topic and partner
inbound topic up to the end offsets present at start, with a progress bar, into a fresh engine; folds are
deterministic and idempotent, so the result equals the live writer's state. `--check` proves it: it loads the
writers' state (their changelog, `writer_state.py`) beside the rebuilt one and compares every case's
events and every indicator cell, and every indicator the reducer published (the latest of each on the indicators
topic); run it while no events arrive, or the two read different ends of the log.
Undecodable events are skipped here (the live writer dead-letters them).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

import typer
from aiokafka import TopicPartition
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from services.metrics.config import Settings
from services.metrics.engine import MetricsEngine, build_engine
from services.metrics.sources import decode, source_topics
from services.metrics.topics import Positions
from services.metrics.values import Value
from services.metrics.writer_state import read_compacted, records_below, writer_cases
from shared import clock as scenario
from shared import kafka
from shared.errors import CaseflowError
from shared.events import registry
from shared.settings import PlatformSettings, load_settings
from shared.topics import Topics


async def rebuild(
    settings: Settings, *, now: datetime | None = None, show_progress: bool = True
) -> tuple[MetricsEngine, Positions]:
    engine = build_engine(settings)
    platform = settings.platform
    await kafka.ensure_topics(platform)
    consumer = kafka.consumer(platform, group_id=None, isolation_level="read_committed")
    await consumer.start()
    positions: Positions = {}
    try:
        tps = [
            TopicPartition(t, p)
            for t in source_topics(Topics(platform.topic_prefix))
            for p in sorted(await kafka.partitions_of(consumer, t, timeout=10))
        ]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        total = sum(ends[tp] - starts[tp] for tp in tps)
        at = now or scenario.now()
        with Progress(
            TextColumn("[bold]metrics rebuild"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            disable=not show_progress,
        ) as bar:  # fmt: skip
            task = bar.add_task("events", total=total)
            async for _, records in records_below(consumer, ends):
                for msg in records:
                    try:
                        engine.apply(decode(msg, registry), at)
                    except CaseflowError:
                        pass  # dead-lettered by the live writer already
                bar.advance(task, len(records))
            positions = {(tp.topic, tp.partition): ends[tp] for tp in tps if ends[tp] > starts[tp]}
        engine.tick(at)
    finally:
        await consumer.stop()
    return engine, positions


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


async def compare_with_writer(settings: Settings, *, show_progress: bool = True) -> Comparison:
    """Rebuild from the topics and compare with the writers' changelog state, both evaluated at the same instant,
    and with the indicators the reducer published (the latest of each on the indicators topic)."""
    now = scenario.now()
    rebuilt, _ = await rebuild(settings, now=now, show_progress=show_progress)
    live = build_engine(settings)
    live.restore_all(await writer_cases(settings.platform), now)
    live.tick(now)
    ids = set(rebuilt.cases) | set(live.cases)
    cases = sorted(
        cid for cid in ids
        if cid not in rebuilt.cases or cid not in live.cases
        or rebuilt.cases[cid].event_ids != live.cases[cid].event_ids
    )  # fmt: skip
    a, b = rebuilt.aggregates.cells, live.aggregates.cells
    cells = sorted(k for k in set(a) | set(b) if not _same(a.get(k), b.get(k)))
    published = await published_indicators(settings.platform)
    keys = set(published) | {k.rpartition("|")[0] for k in a if rebuilt.publishes(k)}
    differing = sorted(k for k in keys if not _same_value(published.get(k), rebuilt.value_of_cell(f"{k}|*", now)))
    return Comparison(len(rebuilt.cases), len(live.cases), len(a), cases, cells, len(published), differing)


async def published_indicators(platform: PlatformSettings) -> dict[str, dict[str, Any]]:
    """indicator|region|period → the latest value published for it."""
    held = await read_compacted(platform, Topics(platform.topic_prefix).indicators)
    return {k.decode(): json.loads(v) for k, v in held.items() if not k.startswith(b"alert|")}


def _same_value(published: dict[str, Any] | None, rebuilt: Value) -> bool:
    if published is None:
        return False
    pairs = [(published.get("numerator"), rebuilt.numerator), (published.get("denominator"), rebuilt.denominator)]
    return all(x == y or x is not None and y is not None and abs(x - y) < 1e-6 for x, y in pairs)


def _same(x: list[float] | None, y: list[float] | None) -> bool:
    x, y = x or [0.0, 0.0, 0.0], y or [0.0, 0.0, 0.0]
    return all(abs(p - q) < 1e-6 for p, q in zip(x, y, strict=True))


def main(
    check: Annotated[
        bool, typer.Option("--check", help="compare with the live writer's state; exit 1 if not equal")
    ] = False,
) -> None:
    """Recompute every case state and indicator from the source topics (`caseflow rebuild` does the same)."""
    settings = load_settings(Settings)
    if check:
        comparison = asyncio.run(compare_with_writer(settings))
        print(comparison.summary())
        raise typer.Exit(0 if comparison.equal else 1)
    print(f"rebuilt {len(asyncio.run(rebuild(settings))[0].cases)} cases")


if __name__ == "__main__":
    typer.run(main)
