"""End-to-end referral latency (警调对接): police inbound → mediation `referral_acknowledged` → police outbound.

The mediation app runs in-process (its partner consumer, command bus and outbox relay) beside the partner router
(integrations/router.py), on topics and schemas of their own, once with mediation's store empty and once with it
preloaded (bench.preload, lent to mediation under its schema name). The police side sends `DisputeReferred` events
onto its inbound topic at a steady RATE, well under mediation's measured capacity so the figure is latency, not
queueing, and reads its outbound topic; each referral's latency runs from just before its send to the moment its
acknowledgement is read there. A few referrals first warm every consumer group up and are not counted.

Standalone: `python -c 'import bench.referral as b; b.main()'` (make bench calls `run`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime

import shared.contracts  # noqa: F401  (registers every event type)
from bench import preload
from bench.common import Report, Row, bench_platform, percentile
from bench.http_command import views_ready
from integrations.router import PartnerRouter
from services.mediation.config import Settings
from services.mediation.main import create_app
from shared import kafka
from shared.contracts.partners import DisputeReferred, ReferralKind
from shared.db import Database, schema_for
from shared.envelope import Envelope
from shared.settings import PlatformSettings
from shared.topics import Topics

ACK = "caseflow.mediation.referral_acknowledged"
WARM = 5
N = 400
RATE = 20.0  # referrals/s
DRAIN_SECONDS = 60.0  # after the last send


def referral(ref: str) -> Envelope:
    payload = DisputeReferred(
        partner_reference=ref,
        kind=ReferralKind.POLICE_110,
        dispute_type="neighbourhood",
        region="431002001000",  # a town with a police-stationed committee
        parties=["p-" + "1" * 32, "p-" + "2" * 32],
        summary="110接警: 邻里因停车位发生口角, 民警现场处置后移交调解",
        referred_at=datetime.now(UTC),
    )
    return Envelope.wrap(payload, source="partner/police", subject=ref, correlationid=ref, actor="partner:police")


class Police:
    """The partner's side: sends referrals, reads acknowledgements, notes when each arrives."""

    def __init__(self, settings: PlatformSettings) -> None:
        self.topics = Topics(settings.topic_prefix)
        self.producer = kafka.producer(settings)
        self.reader = kafka.consumer(
            settings, self.topics.partner_outbound("police"), group_id=f"{settings.topic_prefix}.police"
        )
        self.sent: dict[str, float] = {}
        self.acked: dict[str, float] = {}

    async def send(self, ref: str) -> None:
        key, value, headers = referral(ref).to_kafka()
        self.sent[ref] = time.perf_counter()
        await self.producer.send_and_wait(self.topics.partner_inbound("police"), value=value, key=key, headers=headers)

    async def read(self) -> None:
        while True:
            for records in (await self.reader.getmany(timeout_ms=100)).values():
                now = time.perf_counter()
                for r in records:
                    env = Envelope.from_kafka(r.value, r.headers)
                    if env.type == ACK:
                        self.acked.setdefault(env.data["partner_reference"], now)

    async def wait_for(self, refs: list[str], timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while any(r not in self.acked for r in refs) and time.perf_counter() < deadline:
            await asyncio.sleep(0.02)


async def round_trips(own: PlatformSettings) -> tuple[list[str], Police]:
    """Send WARM then N referrals at RATE through mediation and the router; the police side's record of them."""
    await kafka.ensure_topics(own)
    app = create_app(Settings(platform=own, sweep_interval_seconds=0))
    police = Police(own)
    router = asyncio.create_task(PartnerRouter(own).run())
    refs: list[str] = []
    try:
        async with app.router.lifespan_context(app):
            await police.producer.start()
            await police.reader.start()
            reader = asyncio.create_task(police.read())
            try:
                warm = [f"110-warm-{i}" for i in range(WARM)]
                for ref in warm:
                    await police.send(ref)
                await police.wait_for(warm, timeout=90)
                if any(r not in police.acked for r in warm):
                    raise RuntimeError("no acknowledgement came back for the warm-up referrals")
                refs = [f"110-e2e-{i:05d}" for i in range(N)]
                start = time.perf_counter()
                for i, ref in enumerate(refs):
                    await asyncio.sleep(max(0.0, start + i / RATE - time.perf_counter()))
                    await police.send(ref)
                await police.wait_for(refs, timeout=DRAIN_SECONDS)
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
                await police.reader.stop()
                await police.producer.stop()
    finally:
        router.cancel()
        with contextlib.suppress(BaseException):
            await router
        await Database.for_service(own, "router").drop()
    return refs, police


async def run(settings: PlatformSettings, report: Report) -> None:
    pre = await preload.ensure(settings, report)
    empty = settings.model_copy(update={"topic_prefix": f"{settings.topic_prefix}e2e"})
    try:
        results = [("empty store", *await round_trips(empty))]
    finally:
        await Database.for_service(empty, "mediation").drop()
    full = settings.model_copy(update={"topic_prefix": f"{settings.topic_prefix}e2ep"})
    async with preload.borrowed(settings, schema_for(full, "mediation"), pre):
        await views_ready(create_app(Settings(platform=full, sweep_interval_seconds=0)))
        results.append((f"preloaded {pre.label}", *await round_trips(full)))
    missing = []
    for variant, refs, police in results:
        lat = [(police.acked[r] - police.sent[r]) * 1000 for r in refs if r in police.acked]
        report.add(
            Row(
                f"end-to-end referral police inbound -> mediation ack -> police outbound, p99 at {RATE:g}/s"
                f" [{variant}]",
                percentile(lat, 99),
                "ms",
                goal="p99 ≤ 500 ms",
                extra={
                    "p50 ms": percentile(lat, 50),
                    "max ms": max(lat, default=float("nan")),
                    "sent": N,
                    "acknowledged": len(lat),
                },  # fmt: skip
            )
        )
        if len(lat) < N:
            missing.append(f"{variant}: only {len(lat)}/{N} acknowledged")
    if missing:
        raise RuntimeError(f"within {DRAIN_SECONDS:g}s of the last send: {'; '.join(missing)}")


def main() -> None:
    asyncio.run(run(bench_platform(), Report()))


if __name__ == "__main__":
    main()
