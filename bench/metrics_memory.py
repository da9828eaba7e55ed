"""Metrics fold state at scale (issue 21): peak RSS and timeline latency, every case in memory vs settled ones out.

Each size folds the seeded closed-case streams of `bench.closed_cases` (intake → answered, or → legal aid /
mediation → closed; deadlines met and missed; spread over one year, so a larger size is a busier year, not a
longer one) into a metrics engine in a subprocess of its own, once keeping every
case in memory (before) and once with a settled-case store (after, docs/decisions/0013), publishing rounds every
1,000 cases as the writer runs them (after: `MetricsEngine.trim`, settled cases out and hour cells past the longest
window dropped). The parent samples the child's RSS with psutil (peak);
the child times `engine.timeline` for 2,000 random cases (hot before, read from the store after).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

from bench.common import Report, Row, percentile
from shared.settings import PlatformSettings

SIZES = [100_000, 1_000_000, 3_000_000]
BEFORE_UP_TO = 1_000_000  # sizes measured the old way too (every case in memory)
QUICK_SIZES = [20_000]
ROUND = 1_000  # cases per publishing round
QUERIES = 2_000
YEAR = timedelta(days=365)  # every size spans one year: more cases, not more days (a province's year)


def round_of(engine: Any, now: datetime, *, trim: bool) -> None:
    """A publishing round: deadlines passed; with a settled-case store, `trim` as the writer does (before: not)."""
    engine.tick(now)
    if trim:
        engine.trim(now)
    engine.take_changed()  # what the round publishes


def fold(n: int, settled_dir: str | None) -> dict[str, Any]:
    """The child: fold `n` cases, then time timelines; returns the figures."""
    import shared.contracts  # noqa: F401  (registers every event type)
    from bench.closed_cases import closed_cases
    from services.metrics.catalogue import load_catalogue
    from services.metrics.engine import MetricsEngine
    from services.metrics.reference import load_reference
    from services.metrics.settled_store import SettledCases
    from shared.events import registry

    store = SettledCases.fresh(Path(settled_dir)) if settled_dir else None
    engine = MetricsEngine(load_catalogue(), load_reference(), registry.types(), store)
    started = time.perf_counter()
    events = 0
    for i, case in enumerate(closed_cases(n, span=YEAR)):
        for ev in case:
            engine.apply(ev, ev.time)
        events += len(case)
        if i % ROUND == ROUND - 1:
            round_of(engine, case[-1].time, trim=store is not None)
    now = case[-1].time + timedelta(days=60)
    round_of(engine, now, trim=store is not None)
    seconds = time.perf_counter() - started
    rng = random.Random(7)
    timings = []
    for _ in range(QUERIES):
        any_id = f"rq-{rng.randrange(n)}"
        t = time.perf_counter()
        engine.timeline(any_id, now)
        engine.progress(any_id, now)
        timings.append((time.perf_counter() - t) * 1000)
    return {
        "events": events, "fold_s": seconds, "hot": len(engine.cases), "cases": engine.case_count,
        "cells": len(engine.aggregates.cells), "query_p50_ms": percentile(timings, 50),
        "query_p99_ms": percentile(timings, 99),
    }  # fmt: skip


def measured(n: int, evict: bool) -> dict[str, Any]:
    """Run the child for `n` cases, sampling its RSS; its figures with `peak_mb`."""
    with tempfile.TemporaryDirectory(prefix="settled-", dir=os.environ.get("TMPDIR")) as tmp:
        child = subprocess.Popen(
            [sys.executable, "-m", "bench.metrics_memory", str(n), tmp if evict else "-"], stdout=subprocess.PIPE
        )
        proc, peak = psutil.Process(child.pid), 0
        while child.poll() is None:
            try:
                peak = max(peak, proc.memory_info().rss)
            except psutil.NoSuchProcess:
                break
            time.sleep(0.1)
        out, _ = child.communicate()
        if child.returncode:
            raise RuntimeError(f"metrics memory child failed ({child.returncode})")
    return {**json.loads(out), "peak_mb": peak / 2**20}


async def run(platform: PlatformSettings, report: Report) -> None:
    sizes = QUICK_SIZES if os.environ.get("CASEFLOW_BENCH_QUICK") else SIZES
    for n in sizes:
        after = measured(n, evict=True)
        before = measured(n, evict=False) if n <= BEFORE_UP_TO else None  # ~3 KB a case on the heap: 9 GB at 3M
        report.add(
            Row(f"metrics fold-state peak RSS at {n:,} closed cases in a year, settled ones off the heap",
                after["peak_mb"], "MB", before and before["peak_mb"], "every case in memory",
                "≤ 400 MB at 1M, flat to 3M",
                {"hot cases": after["hot"], "cells": after["cells"], "fold s": after["fold_s"],
                 "events": after["events"], **({"fold s before": before["fold_s"]} if before else {})})
        )  # fmt: skip
        report.add(
            Row(f"metrics timeline+progress p99 at {n:,} cases, settled case (store)", after["query_p99_ms"], "ms",
                before and before["query_p99_ms"], "same case in memory", "≤ 50 ms",
                {"p50 ms": after["query_p50_ms"], **({"p50 ms in memory": before["query_p50_ms"]} if before else {})})
        )  # fmt: skip


if __name__ == "__main__":
    size, where = int(sys.argv[1]), sys.argv[2]
    print(json.dumps(fold(size, None if where == "-" else where)))
