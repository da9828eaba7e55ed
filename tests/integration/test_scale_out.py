"""Scale-out on one machine: two instances of each department service that consumes events (mediation, legal aid,
notary) share the partitions of its consumer groups, one leaves under load, and the result is what one instance
would have produced: every partner request handled once, answered once where the flow answers, nothing lost."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI

from integrations.router import PartnerRouter
from services.legal_aid.config import Settings as LegalAidSettings
from services.legal_aid.handlers import notice_case_id
from services.legal_aid.main import create_app as legal_aid_app
from services.mediation.config import Settings as MediationSettings
from services.mediation.handlers import referral_dispute_id
from services.mediation.main import create_app as mediation_app
from services.notary.config import Settings as NotarySettings
from services.notary.domain import commission_stream
from services.notary.main import create_app as notary_app
from shared import kafka
from shared.contracts.partners import (
    CommissionKind,
    DefenceKind,
    DisputeReferred,
    NotaryCommissioned,
    NotifiedDefenceRequested,
    ProceedingStage,
    ReferralKind,
)
from shared.envelope import Envelope
from shared.events import Event
from shared.settings import PlatformSettings
from shared.topics import Topics
from tests.integration.helpers import drop_schemas, eventually, read_topic

pytestmark = pytest.mark.integration

REQUESTS = 60


@dataclass(frozen=True)
class Flow:
    """One partner request a department consumes, the stream it lands on and what must be there exactly once."""

    service: str
    partner: str
    build: Callable[[PlatformSettings], FastAPI]
    request: Callable[[str, int], Event]  # (reference, i) → the partner's request
    stream_of: Callable[[str], str]  # reference → the department's stream
    opened: str  # the event type (last part) each stream holds exactly once
    answer: str | None  # the event type the partner gets back once per request (None: the flow answers later)
    databases: tuple[str, ...]


def _dispute(ref: str, i: int) -> Event:
    return DisputeReferred(
        partner_reference=ref, kind=ReferralKind.POLICE_110, dispute_type="neighbourhood", region="431002001000",
        parties=["p-" + "1" * 32, "p-" + "2" * 32], summary="邻里噪音纠纷, 民警现场调处后移交人民调解",
        referred_at=datetime.now(UTC),
    )  # fmt: skip


def _defence(ref: str, i: int) -> Event:
    return NotifiedDefenceRequested(
        partner_reference=ref, kind=DefenceKind.NOTIFIED_DEFENCE, defendant_ref=f"p-{i:032x}", region="431002001000",
        stage=ProceedingStage.INVESTIGATION, charge="theft", notified_at=datetime.now(UTC) - timedelta(minutes=5),
    )  # fmt: skip


def _commission(ref: str, i: int) -> Event:
    now = datetime.now(UTC)
    return NotaryCommissioned(
        partner_reference=ref, kind=CommissionKind.SERVICE_OF_DOCUMENTS, region="431002001000",
        details="请公证处协助送达法律文书并现场记录", due_by=now + timedelta(days=10), commissioned_at=now,
    )  # fmt: skip


FLOWS = {
    "mediation": Flow(
        "mediation", "police", lambda p: mediation_app(MediationSettings(platform=p, sweep_interval_seconds=0)),
        _dispute, lambda ref: referral_dispute_id("police", ref), "dispute_registered",
        "caseflow.mediation.referral_acknowledged", ("mediation", "router"),
    ),
    "legal_aid": Flow(
        "legal_aid", "police", lambda p: legal_aid_app(LegalAidSettings(platform=p)), _defence,
        lambda ref: notice_case_id("police", ref, "notified_defence"), "defence_notified", None,
        ("legal_aid", "router"),
    ),
    "notary": Flow(
        "notary", "court", lambda p: notary_app(NotarySettings(platform=p)), _commission, commission_stream,
        "commission_accepted", "caseflow.notary.commission_accepted", ("notary", "router"),
    ),
}  # fmt: skip


def envelopes_for(flow: Flow) -> list[Envelope]:
    out = []
    for i in range(REQUESTS):
        ref = f"{flow.service}-so-20261129-{i:05d}"
        out.append(
            Envelope.wrap(
                flow.request(ref, i),
                source=f"partner/{flow.partner}",
                subject=ref,
                correlationid=f"corr-{ref}",
                actor=f"partner:{flow.partner}",
            )  # fmt: skip
        )
    return out


async def send_steadily(platform: PlatformSettings, topic: str, envelopes: list[Envelope], per_second: float) -> None:
    producer = kafka.producer(platform)
    await producer.start()
    try:
        for env in envelopes:
            key, value, headers = env.to_kafka()
            await producer.send_and_wait(topic, value=value, key=key, headers=headers)
            await asyncio.sleep(1 / per_second)
    finally:
        await producer.stop()


def handled(app) -> int:  # type: ignore[no-untyped-def]
    return sum(c.stats.handled for c in app.state.runtime.consumers)


@pytest.mark.parametrize("flow", sorted(FLOWS))
async def test_two_instances_share_partner_requests_and_one_leaving_under_load_loses_nothing(platform, flow):
    flow = FLOWS[flow]
    topics = Topics(platform.topic_prefix)
    inbound = topics.partner_inbound(flow.partner)
    first, second = flow.build(platform), flow.build(platform)
    router = asyncio.create_task(PartnerRouter(platform).run())
    envelopes = envelopes_for(flow)
    streams = {env.subject: flow.stream_of(env.subject) for env in envelopes}
    try:
        async with first.router.lifespan_context(first):
            leaving = contextlib.AsyncExitStack()
            await leaving.enter_async_context(second.router.lifespan_context(second))
            try:
                await send_steadily(platform, inbound, envelopes[:30], per_second=20)
                await eventually(
                    lambda: handled(first) > 0 and handled(second) > 0,
                    timeout=60,
                    what=lambda: f"both instances handling (handled {handled(first)} / {handled(second)})",
                )
                # the second instance leaves while referrals keep coming: its partitions move to the first
                sending = asyncio.create_task(send_steadily(platform, inbound, envelopes[30:], per_second=20))
                await asyncio.sleep(0.5)
            finally:
                await leaving.aclose()
            await sending

            store = first.state.runtime.store

            async def opened_streams() -> list[str]:
                return [ref for ref, sid in streams.items() if (await store.read_stream(sid)).events]

            async def all_opened() -> bool:
                return len(await opened_streams()) == REQUESTS

            try:
                await eventually(all_opened, timeout=90, what="every request handled")
            except AssertionError:
                lost = sorted(set(streams) - set(await opened_streams()))
                stats = [c.stats for c in first.state.runtime.consumers]
                raise AssertionError(f"{len(lost)} not handled, e.g. {lost[:3]}; first instance {stats}") from None
            for ref, sid in streams.items():  # each request opened its stream once, whichever instance took it
                types = Counter(e.type.rsplit(".", 1)[1] for e in (await store.read_stream(sid)).events)
                assert types[flow.opened] == 1, (ref, types)

            if flow.answer is not None:
                outbound = topics.partner_outbound(flow.partner)
                records = await read_topic(platform, outbound, expect=REQUESTS, timeout=60)
                answers = [e for r in records if (e := Envelope.from_kafka(r.value, r.headers)).type == flow.answer]
                by_ref: dict[str, set[str]] = {}
                for e in answers:
                    by_ref.setdefault(e.data["partner_reference"], set()).add(e.id)
                assert sorted(by_ref) == sorted(streams)  # every request answered
                assert all(len(ids) == 1 for ids in by_ref.values())  # redeliveries repeat an id, never a new answer
            assert handled(second) > 0 and handled(first) > 0
    finally:
        router.cancel()
        with contextlib.suppress(BaseException):
            await router
        await drop_schemas(platform, *flow.databases)
