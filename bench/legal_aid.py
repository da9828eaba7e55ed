"""Legal aid: notified-defence notices per second from the court's inbound Kafka topic to a persisted case.

The topic is pre-filled with N notices. The figure runs the service's own consumer (inbound guard, decode,
inbox, command bus: idempotency check, load, decide, append, read-model update) until every case is persisted;
the baseline is a raw aiokafka consume loop over the same topic in the same run. Both are timed from the first
record received to the last one done, so the consumer group join is left out of each. p50/p99 are per-notice
handling latencies (message decoded → case and view written).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import shared.contracts  # noqa: F401  (registers every event type)
from bench.common import Report, Row, bench_platform, percentile
from services.legal_aid import consumers, domain, views
from services.legal_aid.handlers import LegalAid
from services.legal_aid.reference import load_profiles, load_providers
from shared import kafka
from shared.contracts.partners import DefenceKind, NotifiedDefenceRequested, ProceedingStage
from shared.envelope import Envelope
from shared.partners import inbound_guard
from shared.runtime import ServiceRuntime
from shared.settings import PlatformSettings

N_NOTICES = 500
TIMEOUT = 40.0  # keeps the whole benchmark under 60 s; a slower run reports the rate of what it persisted


def notice(i: int) -> Envelope:
    ref = f"(2026)皖0304刑初{i}号"
    payload = NotifiedDefenceRequested(
        partner_reference=ref,
        kind=DefenceKind.NOTIFIED_DEFENCE,
        defendant_ref=f"p-{i:032x}",
        region="340304000000",
        stage=ProceedingStage.TRIAL,
        charge="theft",
        notified_at=datetime.now(UTC),
    )
    return Envelope.wrap(payload, source="partner/court", subject=ref, correlationid=f"b-{i}", actor="partner:court")


async def fill(settings: PlatformSettings, topic: str) -> None:
    producer = kafka.producer(settings)
    await producer.start()
    try:
        futures = []
        for i in range(N_NOTICES):
            key, value, headers = notice(i).to_kafka()
            futures.append(await producer.send(topic, value=value, key=key, headers=headers))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def raw_baseline(settings: PlatformSettings, topic: str) -> float:
    raw = kafka.consumer(settings, topic, group_id=f"{settings.topic_prefix}.raw")
    await raw.start()
    seen, first = 0, 0.0
    deadline = time.monotonic() + TIMEOUT
    try:
        while seen < N_NOTICES and time.monotonic() < deadline:
            for records in (await raw.getmany(timeout_ms=500, max_records=500)).values():
                if not first:
                    first = time.perf_counter()
                seen += len(records)
        elapsed = time.perf_counter() - first
    finally:
        await raw.stop()
    if seen < N_NOTICES:
        raise RuntimeError(f"raw loop saw {seen}/{N_NOTICES} notices")
    return N_NOTICES / elapsed


async def service_figure(settings: PlatformSettings, topic: str) -> tuple[float, list[float]]:
    runtime = ServiceRuntime("legal_aid", settings)
    cases = runtime.read_model("cases", domain.decider, views.render, indexes=("status", "next_due_at"))
    svc = LegalAid(runtime.command_bus(domain.decider, cases), cases, load_profiles(), load_providers())
    latencies: list[float] = []
    first: list[float] = []

    def timed(handler):  # type: ignore[no-untyped-def]
        async def run(env, payload) -> None:  # type: ignore[no-untyped-def]
            t0 = time.perf_counter()
            if not first:
                first.append(t0)
            await handler(env, payload)
            latencies.append((time.perf_counter() - t0) * 1000)

        return run

    handlers = {t: timed(h) for t, h in consumers.partner_handlers(svc).items()}
    runtime.subscribe("partners", [topic], handlers, accept=inbound_guard)
    await runtime.start()
    try:
        deadline = time.monotonic() + TIMEOUT
        while len(latencies) < N_NOTICES and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        done = len(latencies)
        elapsed = time.perf_counter() - first[0] if first else float("inf")
        persisted = await cases.collection.count_documents({})
        if persisted < done:
            raise RuntimeError(f"{done} notices handled but only {persisted} cases persisted")
    finally:
        await runtime.stop()
        await _drop(settings, runtime.db.name)
    return done / elapsed, latencies


async def _drop(settings: PlatformSettings, name: str) -> None:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient = AsyncMongoClient(settings.mongo_url)
    try:
        await client.drop_database(name)
    finally:
        await client.close()


async def run(settings: PlatformSettings, report: Report) -> None:
    await kafka.ensure_topics(settings)
    topic = f"{settings.topic_prefix}.partner.court.inbound"
    await fill(settings, topic)
    baseline = await raw_baseline(settings, topic)
    figure, latencies = await service_figure(settings, topic)
    report.add(
        Row(
            f"legal aid notices Kafka -> persisted case ({len(latencies)}/{N_NOTICES} in time)",
            figure,
            "notices/s",
            baseline,
            "raw aiokafka consume loop, same topic",
            extra={"p50 ms": percentile(latencies, 50), "p99 ms": percentile(latencies, 99)},
        )
    )


def main() -> None:
    """Standalone: `python -c 'import bench.legal_aid as b; b.main()'` (make bench calls `run`)."""
    asyncio.run(run(bench_platform(), Report()))


if __name__ == "__main__":
    main()
