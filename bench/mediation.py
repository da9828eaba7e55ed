"""Mediation: partner referrals per second from the police inbound Kafka topic to a persisted dispute.

The topic is pre-filled with N `DisputeReferred` events (警调对接, spread over the five pilot cities' regions).
The figure runs the service's own consumer (inbound guard, decode, inbox, committee coverage check, command
bus: idempotency check, load, decide, append of registration + acknowledgement, read-model update) until every
dispute is persisted, with the outbox relay publishing alongside; the baseline is a raw aiokafka consume loop
over the same topic in the same run. Both are timed from the first record received to the last one done, so
the consumer group join is left out of each. p50/p99 are per-referral handling latencies.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import shared.contracts  # noqa: F401  (registers every event type)
from bench.common import Report, Row, bench_platform, percentile
from services.mediation import domain, views
from services.mediation.config import Settings
from services.mediation.consumers import MediationConsumers
from services.mediation.handlers import MediationService
from services.mediation.reference import CommitteeRegistry
from shared import kafka
from shared.contracts.partners import DisputeReferred, ReferralKind
from shared.envelope import Envelope
from shared.partners import inbound_guard
from shared.runtime import ServiceRuntime
from shared.settings import PlatformSettings

N_REFERRALS = 500
TIMEOUT = 40.0  # keeps the whole benchmark under 60 s; a slower run reports the rate of what it persisted
REGIONS = ("431002001000", "500114001000", "340302001000")  # towns with a police-stationed committee
TYPES = ("neighbourhood", "damages", "consumer", "contract_debt")


def referral(i: int) -> Envelope:
    ref = f"110-20260302-{i:05d}"
    payload = DisputeReferred(
        partner_reference=ref,
        kind=ReferralKind.POLICE_110,
        dispute_type=TYPES[i % len(TYPES)],
        region=REGIONS[i % len(REGIONS)],
        parties=[f"p-{2 * i:032x}", f"p-{2 * i + 1:032x}"],
        summary="110接警: 邻里因停车位发生口角, 民警现场处置后移交调解",
        referred_at=datetime.now(UTC),
    )
    return Envelope.wrap(payload, source="partner/police", subject=ref, correlationid=f"b-{i}", actor="partner:police")


async def fill(settings: PlatformSettings, topic: str) -> None:
    producer = kafka.producer(settings)
    await producer.start()
    try:
        futures = []
        for i in range(N_REFERRALS):
            key, value, headers = referral(i).to_kafka()
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
        while seen < N_REFERRALS and time.monotonic() < deadline:
            for records in (await raw.getmany(timeout_ms=500, max_records=500)).values():
                if not first:
                    first = time.perf_counter()
                seen += len(records)
        elapsed = time.perf_counter() - first
    finally:
        await raw.stop()
    if seen < N_REFERRALS:
        raise RuntimeError(f"raw loop saw {seen}/{N_REFERRALS} referrals")
    return N_REFERRALS / elapsed


async def service_figure(settings: PlatformSettings, topic: str) -> tuple[float, list[float]]:
    runtime = ServiceRuntime("mediation", settings)
    cases = runtime.read_model("disputes", domain.decider, views.render, indexes=("status", "regions"))
    service = MediationService(
        runtime.command_bus(domain.decider, cases),
        cases,
        CommitteeRegistry.from_file(),
        Settings(platform=settings, sweep_interval_seconds=0),
    )
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

    handlers = {t: timed(h) for t, h in MediationConsumers(service).partner_handlers().items()}
    runtime.subscribe("partners", [topic], handlers, accept=inbound_guard)
    await runtime.start()
    try:
        deadline = time.monotonic() + TIMEOUT
        while len(latencies) < N_REFERRALS and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        done = len(latencies)
        elapsed = time.perf_counter() - first[0] if first else float("inf")
        persisted = await cases.collection.count_documents({"status": "registered"})
        if persisted < done:
            raise RuntimeError(f"{done} referrals handled but only {persisted} disputes registered")
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
    topic = f"{settings.topic_prefix}.partner.police.inbound"
    await fill(settings, topic)
    baseline = await raw_baseline(settings, topic)
    figure, latencies = await service_figure(settings, topic)
    report.add(
        Row(
            f"mediation referrals Kafka -> persisted dispute ({len(latencies)}/{N_REFERRALS} in time)",
            figure,
            "referrals/s",
            baseline,
            "raw aiokafka consume loop, same topic",
            extra={"p50 ms": percentile(latencies, 50), "p99 ms": percentile(latencies, 99)},
        )
    )


def main() -> None:
    """Standalone: `python -c 'import bench.mediation as b; b.main()'` (make bench calls `run`)."""
    asyncio.run(run(bench_platform(), Report()))


if __name__ == "__main__":
    main()
