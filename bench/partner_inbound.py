"""Partner events per second from a pre-filled inbound topic to a persisted case, against a raw consume loop.

Shared by the department benchmarks: the topic is filled with N events; the baseline is a raw aiokafka consume
loop over it, the figure the department's own consumer (inbound guard, decode, inbox, command bus: idempotency
claim, load, decide, append, read-model update) until each case is persisted. Both are timed from the first
record received, so the group join is left out; p50/p99 are per-event handling latencies.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.common import Report, Row, percentile
from shared import kafka
from shared.consumer import Handler
from shared.envelope import Envelope
from shared.partners import inbound_guard
from shared.readmodel import Views
from shared.runtime import ServiceRuntime
from shared.settings import PlatformSettings

TIMEOUT = 40.0  # keeps each benchmark under a minute; a slower run reports the rate of what it persisted


@dataclass
class Subject:
    """What a department benchmark provides: its runtime, its partner handlers and where cases land."""

    runtime: ServiceRuntime
    handlers: dict[Any, Handler]
    cases: Views[Any]
    persisted: dict[str, Any]  # query counting the persisted cases


async def fill(settings: PlatformSettings, topic: str, envelopes: list[Envelope]) -> None:
    producer = kafka.producer(settings)
    await producer.start()
    try:
        futures = []
        for env in envelopes:
            key, value, headers = env.to_kafka()
            futures.append(await producer.send(topic, value=value, key=key, headers=headers))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def raw_rate(settings: PlatformSettings, topic: str, n: int) -> float:
    raw = kafka.consumer(settings, topic, group_id=f"{settings.topic_prefix}.raw")
    await raw.start()
    seen, first = 0, 0.0
    deadline = time.monotonic() + TIMEOUT
    try:
        while seen < n and time.monotonic() < deadline:
            for records in (await raw.getmany(timeout_ms=500, max_records=500)).values():
                first = first or time.perf_counter()
                seen += len(records)
        elapsed = time.perf_counter() - first
    finally:
        await raw.stop()
    if seen < n:
        raise RuntimeError(f"raw loop saw {seen}/{n} events")
    return n / elapsed


async def service_rate(subject: Subject, topic: str, n: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    first: list[float] = []

    def timed(handler: Handler) -> Handler:
        async def run(env: Envelope, payload: Any) -> None:
            t0 = time.perf_counter()
            if not first:
                first.append(t0)
            await handler(env, payload)
            latencies.append((time.perf_counter() - t0) * 1000)

        return run

    runtime = subject.runtime
    runtime.subscribe("partners", [topic], {t: timed(h) for t, h in subject.handlers.items()}, accept=inbound_guard)
    await runtime.start()
    try:
        deadline = time.monotonic() + TIMEOUT
        while len(latencies) < n and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        done = len(latencies)
        elapsed = time.perf_counter() - first[0] if first else float("inf")
        persisted = await subject.cases.count(subject.persisted)
        if persisted < done:
            raise RuntimeError(f"{done} events handled but only {persisted} cases persisted")
    finally:
        await runtime.stop()
        await runtime.db.drop()
    return done / elapsed, latencies


async def measure(
    settings: PlatformSettings,
    report: Report,
    *,
    label: str,
    unit: str,
    partner: str,
    envelopes: list[Envelope],
    subject: Callable[[PlatformSettings], Subject],
) -> None:
    await kafka.ensure_topics(settings)
    topic = f"{settings.topic_prefix}.partner.{partner}.inbound"
    n = len(envelopes)
    await fill(settings, topic, envelopes)
    baseline = await raw_rate(settings, topic, n)
    figure, latencies = await service_rate(subject(settings), topic, n)
    report.add(
        Row(
            f"{label} ({len(latencies)}/{n} in time)",
            figure,
            unit,
            baseline,
            "raw aiokafka consume loop, same topic",
            extra={"p50 ms": percentile(latencies, 50), "p99 ms": percentile(latencies, 99)},
        )
    )
