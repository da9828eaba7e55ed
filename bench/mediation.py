"""Mediation: partner referrals per second from the police inbound Kafka topic to a persisted dispute.

The topic is pre-filled with N `DisputeReferred` events (警调对接, spread over the five pilot cities' regions).
The figure runs the service's own consumer (inbound guard, decode, inbox, committee coverage check, command
bus: idempotency check, load, decide, append of registration + acknowledgement, read-model update) until every
dispute is persisted, with the outbox relay publishing alongside; the baseline is a raw aiokafka consume loop
over the same topic in the same run. Both are timed from the first record received to the last one done, so
the consumer group join is left out of each. p50/p99 are per-referral handling latencies. A second row runs the
walk-in `POST /disputes` command over HTTP (bench.http_command).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import shared.contracts  # noqa: F401  (registers every event type)
from bench import http_command
from bench.common import Report, bench_platform
from bench.partner_inbound import Subject, measure
from services.mediation import consumers
from services.mediation.bootstrap import assemble
from services.mediation.config import Settings
from services.mediation.main import create_app
from services.mediation.schemas import RegisterIn
from shared.contracts.partners import DisputeReferred, ReferralKind
from shared.envelope import Envelope
from shared.settings import PlatformSettings

N_REFERRALS = 500
REGIONS = ("431002001000", "500114001000", "340302001000")  # towns with a police-stationed committee
TYPES = ("neighbourhood", "damages", "consumer", "contract_debt")
WALK_IN = {  # 怀远县城关镇东关村: a village committee covers it
    "dispute_type": "neighbourhood",
    "region": "340321100205",
    "parties": [{"person_ref": "p-" + "1" * 32}, {"person": {"name": "张三", "id_number": "11010519491231002X"}}],
    "claim": "宅前通道被占",
}


def walk_in(i: int) -> dict[str, Any]:
    return {
        **WALK_IN,
        "parties": [WALK_IN["parties"][0], {"person": {"name": "张三", "id_number": http_command.citizen(i)}}],
    }


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


def subject(settings: PlatformSettings) -> Subject:
    mediation = assemble(Settings(platform=settings, sweep_interval_seconds=0))
    handlers = dict(consumers.partner_handlers(mediation))
    return Subject(mediation.runtime, handlers, mediation.cases, {"status": "registered"})


async def run(settings: PlatformSettings, report: Report) -> None:
    await measure(
        settings,
        report,
        label="mediation referrals Kafka -> persisted dispute",
        unit="referrals/s",
        partner="police",
        envelopes=[referral(i) for i in range(N_REFERRALS)],
        subject=subject,
    )
    await http_command.measure_post(
        report, settings, service="mediation", scope="mediation:write", path="/disputes", model=RegisterIn,
        body=walk_in, app=lambda own: create_app(Settings(platform=own, sweep_interval_seconds=0)),
    )  # fmt: skip


def main() -> None:
    """Standalone: `python -c 'import bench.mediation as b; b.main()'` (make bench calls `run`)."""
    asyncio.run(run(bench_platform(), Report()))


if __name__ == "__main__":
    main()
