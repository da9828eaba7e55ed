"""Scale-out on one machine: two instances of a department service share the partitions of its consumer groups,
one leaves under load, and the result is what one instance would have produced — every referral registered once,
acknowledged once, nothing lost."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from datetime import UTC, datetime

import pytest
from pymongo import AsyncMongoClient

from integrations.router import PartnerRouter
from services.mediation.config import Settings
from services.mediation.handlers import referral_dispute_id
from services.mediation.main import create_app
from shared import kafka
from shared.contracts.partners import DisputeReferred, ReferralKind
from shared.envelope import Envelope
from shared.settings import PlatformSettings
from shared.topics import Topics
from tests.integration.helpers import eventually, read_topic

pytestmark = pytest.mark.integration

REFERRALS = 60
ACK = "caseflow.mediation.referral_acknowledged"


def referral(i: int) -> Envelope:
    ref = f"110-431002-20261129-{i:05d}"
    payload = DisputeReferred(
        partner_reference=ref,
        kind=ReferralKind.POLICE_110,
        dispute_type="neighbourhood",
        region="431002001000",
        parties=["p-" + "1" * 32, "p-" + "2" * 32],
        summary="邻里噪音纠纷, 民警现场调处后移交人民调解",
        referred_at=datetime.now(UTC),
    )
    return Envelope.wrap(payload, source="partner/police", subject=ref, correlationid=f"corr-{i}", actor="partner:x")


async def send_steadily(platform: PlatformSettings, envelopes: list[Envelope], per_second: float) -> None:
    producer = kafka.producer(platform)
    await producer.start()
    try:
        for env in envelopes:
            key, value, headers = env.to_kafka()
            await producer.send_and_wait(
                Topics(platform.topic_prefix).partner_inbound("police"), value=value, key=key, headers=headers
            )
            await asyncio.sleep(1 / per_second)
    finally:
        await producer.stop()


def handled(app) -> int:  # type: ignore[no-untyped-def]
    return sum(c.stats.handled for c in app.state.runtime.consumers)


async def test_two_mediation_instances_share_referrals_and_one_leaving_under_load_loses_nothing(platform):
    topics = Topics(platform.topic_prefix)
    first, second = (create_app(Settings(platform=platform, sweep_interval_seconds=0)) for _ in range(2))
    router = asyncio.create_task(PartnerRouter(platform).run())
    envelopes = [referral(i) for i in range(REFERRALS)]
    try:
        async with first.router.lifespan_context(first):
            leaving = contextlib.AsyncExitStack()
            await leaving.enter_async_context(second.router.lifespan_context(second))
            try:
                await send_steadily(platform, envelopes[:30], per_second=20)
                await eventually(
                    lambda: handled(first) > 0 and handled(second) > 0,
                    timeout=60,
                    what=lambda: f"both instances handling (handled {handled(first)} / {handled(second)})",
                )
                # the second instance leaves while referrals keep coming: its partitions move to the first
                sending = asyncio.create_task(send_steadily(platform, envelopes[30:], per_second=20))
                await asyncio.sleep(0.5)
            finally:
                await leaving.aclose()
            await sending

            async def all_registered() -> bool:
                found = await first.state.cases.find({"status": "registered"}, limit=REFERRALS + 10)
                return len(found) >= REFERRALS

            async def missing() -> str:
                found = {d["_id"] for d in await first.state.cases.find({}, limit=REFERRALS + 10)}
                lost = [e.subject for e in envelopes if referral_dispute_id("police", e.subject) not in found]
                stats = [c.stats for c in first.state.runtime.consumers]
                return f"{len(lost)} not registered, e.g. {lost[:3]}; first instance consumers {stats}"

            try:
                await eventually(all_registered, timeout=90, what="every referral registered")
            except AssertionError:
                raise AssertionError(await missing()) from None
            docs = await first.state.cases.find({}, limit=REFERRALS + 10)
            expected = {referral_dispute_id("police", env.subject) for env in envelopes}
            assert sorted(d["_id"] for d in docs) == sorted(expected)  # each once, none extra
            for dispute_id in sorted(expected)[:: REFERRALS // 6]:  # spot-check the streams: one registration each
                stream = await first.state.runtime.store.read_stream(dispute_id)
                types = Counter(e.type.rsplit(".", 1)[1] for e in stream.events)
                assert types["dispute_registered"] == 1 and types["referral_acknowledged"] == 1, (dispute_id, types)

            records = await read_topic(platform, topics.partner_outbound("police"), expect=REFERRALS, timeout=60)
            acks = [Envelope.from_kafka(r.value, r.headers) for r in records]
            acks = [e for e in acks if e.type == ACK]
            by_ref: dict[str, set[str]] = {}
            for e in acks:
                by_ref.setdefault(e.data["partner_reference"], set()).add(e.id)
            assert sorted(by_ref) == sorted(env.subject for env in envelopes)  # every referral acknowledged
            assert all(len(ids) == 1 for ids in by_ref.values())  # redeliveries repeat an id, never a new ack
            assert handled(second) > 0 and handled(first) > 0
    finally:
        router.cancel()
        with contextlib.suppress(BaseException):
            await router
        mongo: AsyncMongoClient = AsyncMongoClient(platform.mongo_url)
        for db in ("mediation", "router"):
            await mongo.drop_database(f"{platform.topic_prefix}_{db}")
        await mongo.close()
