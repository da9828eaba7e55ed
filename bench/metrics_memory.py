"""Metrics fold state at scale (issue 21): peak RSS and timeline latency, every case in memory vs settled ones out.

Each size folds the seeded closed-case streams of `bench.closed_cases` (intake → answered, or → legal aid /
mediation → closed; deadlines met and missed; spread over one year, so a larger size is a busier year, not a
longer one) into a metrics engine in a subprocess of its own, once keeping every
case in memory (before) and once with a settled-case store (after, docs/decisions/0013), publishing rounds every
1,000 cases as the writer runs them (after: `MetricsEngine.trim`, settled cases out and hour cells past the longest
window dropped). The parent samples the child's RSS with psutil (peak);
the child times `engine.timeline` for 2,000 random cases (hot before, read from the store after). Then the child
serves the query API over its engine (uvicorn on loopback) and the parent, as a client would, times
`GET /cases/{id}/timeline` and `GET /cases/{id}/progress` over HTTP; its RSS while serving is reported apart (the
writer serves no HTTP: the fold's peak is the writer's figure).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import random
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.common import Report, Row, percentile
from shared.auth import issue_token
from shared.settings import PlatformSettings

SIZES = [100_000, 1_000_000, 3_000_000]
BEFORE_UP_TO = 1_000_000  # sizes measured the old way too (every case in memory)
QUICK_SIZES = [20_000]
ROUND = 1_000  # cases per publishing round
QUERIES = 2_000
HTTP_PORT = 28150  # the child's query API (the bench servers' range, below the ephemeral ports)
YEAR = timedelta(days=365)  # every size spans one year: more cases, not more days (a province's year)


def round_of(engine: Any, now: datetime, *, trim: bool) -> None:
    """A publishing round: deadlines passed; with a settled-case store, `trim` as the writer does (before: not)."""
    engine.tick(now)
    if trim:
        engine.trim(now)
    engine.take_changed()  # what the round publishes


def fold(n: int, settled_dir: str | None) -> tuple[Any, datetime, dict[str, Any]]:
    """The child: fold `n` cases, then time timelines; returns the engine, its "now" and the figures."""
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
    return engine, now, {
        "events": events, "fold_s": seconds, "hot": len(engine.cases), "cases": engine.case_count,
        "cells": len(engine.aggregates.cells), "query_p50_ms": percentile(timings, 50),
        "query_p99_ms": percentile(timings, 99),
    }  # fmt: skip


def serve(engine: Any, now: datetime, port: int) -> None:
    """The child, after folding: the metrics query API over `engine` on loopback until the parent stops it."""
    import uvicorn

    from services.metrics.config import Settings
    from services.metrics.main import create_app

    app = create_app(Settings(follow=False, platform=SERVING), clock=lambda: now)
    app.state.engine = engine
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


SERVING = PlatformSettings(topic_prefix="benchmemory")  # the child's API and the parent's token agree on it


async def http_queries(n: int, port: int) -> dict[str, float]:
    """The parent: timeline and progress of random cases over HTTP, one at a time; p50/p99 of each, ms."""
    headers = {"Authorization": f"Bearer {issue_token(SERVING, 'dept:ops', ['metrics:read'])}"}
    rng = random.Random(11)
    timings: dict[str, list[float]] = {"timeline": [], "progress": []}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10) as client:
        for i in range(QUERIES + 100):  # the first 100 warm the connection and the app
            case = f"rq-{rng.randrange(n)}"
            for what, found in timings.items():
                t = time.perf_counter()
                response = await client.get(f"/cases/{case}/{what}")
                ms = (time.perf_counter() - t) * 1000
                if response.status_code != 200:
                    raise RuntimeError(f"GET /cases/{case}/{what}: {response.status_code} {response.text[:200]}")
                if i >= 100:
                    found.append(ms)
    return {f"http_{what}_{p}_ms": percentile(found, p) for what, found in timings.items() for p in (50, 99)}


def measured(n: int, evict: bool, *, http: bool = False) -> dict[str, Any]:
    """Run the child for `n` cases, sampling its RSS; its figures with `peak_mb` (the fold's peak) and, with `http`,
    the query API's timings over HTTP and `serving_peak_mb`."""
    port = HTTP_PORT if http else 0
    with tempfile.TemporaryDirectory(prefix="settled-", dir=os.environ.get("TMPDIR")) as tmp:
        child = subprocess.Popen(
            [sys.executable, "-m", "bench.metrics_memory", str(n), tmp if evict else "-", str(port)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=read_lines, args=(child, lines), daemon=True).start()
        proc, peak = psutil.Process(child.pid), 0
        figures: dict[str, Any] | None = None
        try:
            while figures is None:
                if child.poll() is not None and lines.empty():
                    raise RuntimeError(f"metrics memory child failed ({child.returncode})")
                with contextlib.suppress(psutil.NoSuchProcess):
                    peak = max(peak, proc.memory_info().rss)
                with contextlib.suppress(queue.Empty):
                    figures = json.loads(lines.get(timeout=0.1))
            figures["peak_mb"] = peak / 2**20
            if http:
                asyncio.run(until_serving(port, child))
                figures |= asyncio.run(http_queries(n, port))
                figures["serving_peak_mb"] = proc.memory_info().rss / 2**20
        finally:
            child.terminate()
            child.wait(30)
    return figures


def read_lines(child: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    for line in child.stdout or ():
        lines.put(line)


async def until_serving(port: int, child: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if child.poll() is not None:
                raise RuntimeError(f"the child's query API exited ({child.returncode})")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code < 500:
                    return
            await asyncio.sleep(0.2)
    raise TimeoutError(f"the child's query API did not answer on port {port} in {timeout:.0f} s")


async def run(platform: PlatformSettings, report: Report) -> None:
    sizes = QUICK_SIZES if os.environ.get("CASEFLOW_BENCH_QUICK") else SIZES
    for n in sizes:
        after = measured(n, evict=True, http=True)
        before = measured(n, evict=False) if n <= BEFORE_UP_TO else None  # ~3 KB a case on the heap: 9 GB at 3M
        report.add(
            Row(f"metrics fold-state peak RSS at {n:,} closed cases in a year, settled ones off the heap",
                after["peak_mb"], "MB", before["peak_mb"] if before else None, "every case in memory",
                "≤ 400 MB at 1M, flat to 3M",
                {"hot cases": after["hot"], "cells": after["cells"], "fold s": after["fold_s"],
                 "events": after["events"], **({"fold s before": before["fold_s"]} if before else {})})
        )  # fmt: skip
        report.add(
            Row(f"metrics timeline+progress p99 at {n:,} cases, settled case (store)", after["query_p99_ms"], "ms",
                before["query_p99_ms"] if before else None, "same case in memory", "≤ 50 ms",
                {"p50 ms": after["query_p50_ms"], **({"p50 ms in memory": before["query_p50_ms"]} if before else {})})
        )  # fmt: skip
        report.add(
            Row(f"metrics GET /cases/{{id}}/timeline p99 over HTTP at {n:,} cases (query API, loopback)",
                after["http_timeline_99_ms"], "ms", None, "", "≤ 50 ms",
                {"p50 ms": after["http_timeline_50_ms"], "progress p99 ms": after["http_progress_99_ms"],
                 "progress p50 ms": after["http_progress_50_ms"], "API RSS MB": after["serving_peak_mb"]})
        )  # fmt: skip


if __name__ == "__main__":
    size, where, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    engine, now, figures = fold(size, None if where == "-" else where)
    print(json.dumps(figures), flush=True)
    if port:
        serve(engine, now, port)
