"""Legal aid: notified-defence notices per second from the court's inbound Kafka topic to a persisted case,
and the walk-in `POST /applications` command over HTTP (bench.http_command).

The topic is pre-filled with N notices. The figure runs the service's own consumer (inbound guard, decode,
inbox, command bus: idempotency check, load, decide, append, read-model update) until every case is persisted;
the baseline is a raw aiokafka consume loop over the same topic in the same run. Both are timed from the first
record received to the last one done, so the consumer group join is left out of each. p50/p99 are per-notice
handling latencies (message decoded → case and view written).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import shared.contracts  # noqa: F401  (registers every event type)
from bench import http_command
from bench.common import Report, bench_platform
from bench.partner_inbound import Subject, measure
from services.legal_aid import consumers
from services.legal_aid.bootstrap import assemble
from services.legal_aid.config import Settings
from services.legal_aid.main import create_app
from services.legal_aid.schemas import ApplicationBody
from shared.contracts.partners import DefenceKind, NotifiedDefenceRequested, ProceedingStage
from shared.envelope import Envelope
from shared.settings import PlatformSettings

N_NOTICES = 500
APPLICATION = {  # 蚌埠 wage claim: region served by a city profile, income below its threshold
    "region": "340304000000",
    "matter_type": "wages",
    "matter": "unpaid wages at a building site",
    "applicant": {"name": "张三", "id_number": "431002198506121230"},
    "opposing_parties": [{"name": "李四", "id_number": "11010519491231002X"}],
    "household_income_per_head": 1200,
}


def application(i: int) -> dict[str, Any]:
    return {
        **APPLICATION,
        "applicant": {"name": "张三", "id_number": http_command.citizen(i, "340304")},
        "opposing_parties": [{"name": "李四", "id_number": http_command.citizen(i, "110105")}],
    }


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


def subject(settings: PlatformSettings) -> Subject:
    legal_aid = assemble(Settings(platform=settings))
    return Subject(legal_aid.runtime, dict(consumers.partner_handlers(legal_aid)), legal_aid.cases, {})


async def run(settings: PlatformSettings, report: Report) -> None:
    await measure(
        settings,
        report,
        label="legal aid notices Kafka -> persisted case",
        unit="notices/s",
        partner="court",
        envelopes=[notice(i) for i in range(N_NOTICES)],
        subject=subject,
    )
    await http_command.measure_post(
        report, settings, service="legal_aid", scope="legal_aid:apply", path="/applications", model=ApplicationBody,
        body=application, app=lambda own: create_app(Settings(platform=own)),
    )  # fmt: skip


def main() -> None:
    """Standalone: `python -c 'import bench.legal_aid as b; b.main()'` (make bench calls `run`)."""
    asyncio.run(run(bench_platform(), Report()))


if __name__ == "__main__":
    main()
