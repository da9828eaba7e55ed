"""Replay the source topics into a fresh metrics state: worker processes fold the by-case partitions in parallel,
their shares are summed as the reducer sums the writers'.

`replay(settings)` reads the beginning and end offsets present at start (a log read to a fixed point while others
may still write to it), starts `workers` processes (`replay.worker`), shows a progress bar on stderr (events/s and
the time left, from the slowest worker: each reads every record), and reduces the shares (`replay.folds`) into an
engine holding no cases, whose cells and indicator values are the rebuilt ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
import queue
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.text import Text

from services.metrics.config import Settings
from services.metrics.engine import MetricsEngine, build_engine
from services.metrics.replay.decode import Rejection
from services.metrics.replay.folds import reduce_shares
from services.metrics.replay.worker import Job, WorkerResult, run
from services.metrics.sources import source_partitions
from services.metrics.topics import Positions
from shared import clock as scenario
from shared import kafka
from shared.topics import Topics

POLL = 0.2  # s between progress updates


@dataclass
class ReplayResult:
    """The rebuilt indicators (an engine with every cell summed, no cases) and what the replay met on the way."""

    engine: MetricsEngine
    cases: int
    events: int  # records read below the end offsets
    folded: int
    duplicates: int
    refused: dict[str, int]  # code → count (unknown type/version, malformed, fold failed)
    rejections: list[Rejection]  # the first few of each worker, with topic, partition and offset
    positions: Positions  # the end offsets read to
    seconds: float
    event_ids: dict[str, frozenset[str]] = field(default_factory=dict)  # with `with_event_ids`: per case
    worker_cpu_seconds: float = 0.0  # the busiest worker's CPU time
    main_cpu_seconds: float = 0.0  # this process's, bounds to reduced (mostly summing the shares)

    def summary(self) -> str:
        refused = ", ".join(f"{n} {code}" for code, n in sorted(self.refused.items())) or "none"
        rate = self.events / self.seconds if self.seconds else 0.0
        return (f"rebuilt {self.cases} cases from {self.events} events in {self.seconds:.1f} s ({rate:,.0f} events/s);"
                f" refused: {refused}")  # fmt: skip


class RateColumn(ProgressColumn):
    """Events per second so far."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} events/s" if speed else "… events/s", style="progress.data.speed")


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


async def replay(
    settings: Settings,
    *,
    now: datetime | None = None,
    workers: int | None = None,
    show_progress: bool = True,
    with_event_ids: bool = False,
) -> ReplayResult:
    loop = asyncio.get_running_loop()
    started, cpu = loop.time(), time.process_time()
    at = now or scenario.now()
    workers = min(workers or default_workers(), settings.platform.partitions)
    starts, ends = await _bounds(settings)
    job = Job(settings, starts, ends, workers, at, with_event_ids)
    total = sum(ends[k] - starts.get(k, 0) for k in ends)
    ctx = multiprocessing.get_context("spawn")  # no forked copy of this process's event loop and Kafka clients
    progress = ctx.Array("q", workers, lock=False)
    results = ctx.Queue()
    procs = [ctx.Process(target=run, args=(job, i, progress, results), daemon=True) for i in range(workers)]
    for p in procs:
        p.start()
    collecting = gc.isenabled()
    gc.disable()  # receiving and summing millions of cells: full collections would walk them again and again
    try:
        got = await _collect(procs, results, progress, total, show_progress)
        for p in procs:
            p.join(timeout=5)
        engine = reduce_shares(build_engine(settings), (r.shares for r in got.values()), at)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
        if collecting:
            gc.enable()
    result = _result(engine, list(got.values()), ends, loop.time() - started)
    result.main_cpu_seconds = time.process_time() - cpu
    return result


async def _collect(
    procs: list[Any], results: Any, progress: Any, total: int, show_progress: bool
) -> dict[int, WorkerResult]:
    """Each worker's result, as they come, with the progress bar (the slowest worker's records read)."""
    workers = len(procs)
    got: dict[int, WorkerResult] = {}
    with Progress(
        TextColumn("[bold]metrics rebuild"), BarColumn(), MofNCompleteColumn(), RateColumn(),
        TimeRemainingColumn(), console=Console(stderr=True), disable=not show_progress,
    ) as bar:  # fmt: skip
        task = bar.add_task("events", total=total)
        while len(got) < workers:
            with contextlib.suppress(queue.Empty):
                index, outcome = await asyncio.to_thread(results.get, True, POLL)
                if isinstance(outcome, BaseException):
                    raise outcome
                got[index] = outcome
            pending = [progress[i] for i in range(workers) if i not in got]
            bar.update(task, completed=min(pending) if pending else total)
            dead = [p.exitcode for i, p in enumerate(procs) if i not in got and p.exitcode not in (None, 0)]
            if dead and results.empty():
                raise RuntimeError(f"a replay worker died (exit code {dead[0]})")
    return got


async def _bounds(settings: Settings) -> tuple[Positions, Positions]:
    """(beginning, end) offset of every source partition, read now."""
    platform = settings.platform
    await kafka.ensure_topics(platform)
    consumer = kafka.consumer(platform, group_id=None, isolation_level="read_committed")
    await consumer.start()
    try:
        tps = await source_partitions(consumer, Topics(platform.topic_prefix))
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    return ({(tp.topic, tp.partition): o for tp, o in starts.items()},
            {(tp.topic, tp.partition): o for tp, o in ends.items()})  # fmt: skip


def _result(engine: MetricsEngine, results: list[WorkerResult], ends: Positions, seconds: float) -> ReplayResult:
    refused: dict[str, int] = {}
    for r in results:
        for code, n in r.refused.items():
            refused[code] = refused.get(code, 0) + n
    ids: dict[str, frozenset[str]] = {}
    for r in results:
        ids.update(r.event_ids)
    return ReplayResult(
        engine, sum(r.cases for r in results), max((r.read for r in results), default=0),
        sum(r.folded for r in results), sum(r.duplicates for r in results), refused,
        [x for r in results for x in r.rejections], ends, seconds, ids,
        max((r.cpu_seconds for r in results), default=0.0),
    )  # fmt: skip
