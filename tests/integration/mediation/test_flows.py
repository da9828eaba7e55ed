"""Mediation flows on the real Kafka broker and PostgreSQL: court and police linkage, intake referral, the
30-day confirmation window, and bad partner input."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from integrations.router import PartnerRouter
from services.mediation.config import Settings
from services.mediation.handlers import referral_dispute_id
from services.mediation.main import create_app
from shared import kafka
from shared.calendar import deadline_for_days
from shared.contracts.intake import RequestReferred
from shared.contracts.partners import ConfirmationOutcome, DisputeReferred, JudicialConfirmationDecided, ReferralKind
from shared.envelope import Envelope
from shared.topics import Topics
from tests.conftest import token
from tests.integration.helpers import drop_schemas, eventually, read_topic

pytestmark = pytest.mark.integration

P1, P2 = "p-" + "1" * 32, "p-" + "2" * 32


@contextlib.asynccontextmanager
async def running(platform, *, router: bool = False):
    app = create_app(Settings(platform=platform, sweep_interval_seconds=0))
    tasks = []
    try:
        async with app.router.lifespan_context(app):
            if router:
                tasks.append(asyncio.create_task(PartnerRouter(platform).run()))
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://mediation") as client:
                client.headers.update(token(platform, "dept:mediation", ["mediation:read", "mediation:write"]))
                yield app, client
    finally:
        for t in tasks:
            t.cancel()
            with contextlib.suppress(BaseException):
                await t
        await drop_schemas(platform, "mediation", "router")


async def send(platform, topic: str, *envelopes: Envelope) -> None:
    producer = kafka.producer(platform)
    await producer.start()
    try:
        for env in envelopes:
            key, value, headers = env.to_kafka()
            await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()


def referral(partner: str, kind: ReferralKind, ref: str, corr: str, **kw) -> Envelope:
    payload = DisputeReferred(
        partner_reference=ref,
        kind=kind,
        dispute_type=kw.pop("dispute_type", "contract_debt"),
        region=kw.pop("region", "431002001000"),  # 郴州市北湖区人民路街道
        parties=[P1, P2],
        summary="借款到期未还, 原告诉请返还借款五万元",
        referred_at=datetime.now(UTC),
    )
    return Envelope.wrap(
        payload,
        source=kw.pop("source", f"partner/{partner}"),
        subject=ref,
        correlationid=corr,
        actor=f"partner:{partner}",
    )


def types(records) -> list[str]:
    return [dict(r.headers)["ce_type"].decode().rsplit(".", 1)[1] for r in records]


async def status_of(app, dispute_id: str) -> str | None:
    doc = await app.state.mediation.cases.get(dispute_id)
    return doc["status"] if doc else None


async def test_court_pre_litigation_referral_to_confirmation_round_trip(platform):
    topics = Topics(platform.topic_prefix)
    ref = "(2026)湘1002民诉前调88号"
    dispute_id = referral_dispute_id("court", ref)
    async with running(platform, router=True) as (app, client):
        first = referral("court", ReferralKind.COURT_PRE_LITIGATION, ref, "corr-court-88")
        await send(platform, topics.partner_inbound("court"), first, first)  # the duplicate changes nothing
        await eventually(lambda: _is(app, dispute_id, "registered"), what="referral registered")

        r = await client.post(f"/disputes/{dispute_id}/assign", json={})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "assigned"
        doc = await app.state.mediation.cases.get(dispute_id)
        assert doc["committee_id"] == "431002-court"  # the stationed court committee for 北湖区 debt disputes
        r = await client.post(f"/disputes/{dispute_id}/sessions", json={"minutes": "双方同意分期还款"})
        assert r.status_code == 200, r.text
        r = await client.post(
            f"/disputes/{dispute_id}/agreement",
            json={"terms": "被告于三个月内分三期偿还五万元"},
            headers={"Idempotency-Key": "agree-0001"},
        )
        assert r.status_code == 200 and r.json()["status"] == "agreement", r.text
        again = await client.post(
            f"/disputes/{dispute_id}/agreement", json={"terms": "whatever"}, headers={"Idempotency-Key": "agree-0001"}
        )
        assert again.json()["duplicate"] is True
        r = await client.post(f"/disputes/{dispute_id}/request-confirmation", json={})
        assert r.status_code == 200 and r.json()["status"] == "confirmation_requested", r.text

        outbound = await read_topic(platform, topics.partner_outbound("court"), expect=3, timeout=20)
        assert types(outbound) == ["referral_acknowledged", "outcome_notified", "confirmation_requested"]
        ack = Envelope.from_kafka(outbound[0].value, outbound[0].headers)
        assert ack.data["decision"] == "accepted" and ack.data["partner_reference"] == ref
        assert {dict(m.headers)["ce_correlationid"].decode() for m in outbound} == {"corr-court-88"}

        ruling = JudicialConfirmationDecided(
            partner_reference="(2026)湘1002民特12号",
            dispute_id=dispute_id,
            outcome=ConfirmationOutcome.CONFIRMED,
            decided_at=datetime.now(UTC),
        )
        await send(
            platform,
            topics.partner_inbound("court"),
            Envelope.wrap(
                ruling,
                source="partner/court",
                subject=ruling.partner_reference,
                correlationid="corr-court-88",
                actor="partner:court",
            ),
        )
        await eventually(lambda: _is(app, dispute_id, "confirmed"), what="court ruling recorded")
        outbound = await read_topic(platform, topics.partner_outbound("court"), expect=4, timeout=20)
        assert types(outbound)[-1] == "outcome_notified"
        assert Envelope.from_kafka(outbound[-1].value, outbound[-1].headers).data["outcome"] == "confirmed"
        assert dict(outbound[-1].headers)["ce_correlationid"] == b"corr-court-88"

        view = (await client.get(f"/disputes/{dispute_id}")).json()
        assert view["flags"]["confirmation_window"] == "met"
        assert view["history"].count("caseflow.mediation.dispute_registered") == 1
        listed = (
            await client.get("/disputes", params={"source": "court_pre_litigation", "region": "431002000000"})
        ).json()
        assert [d["dispute_id"] for d in listed["items"]] == [dispute_id]


async def test_police_referral_agreement_goes_back_to_police_and_bad_input_is_dead_lettered(platform):
    topics = Topics(platform.topic_prefix)
    ref = "110-20260302-0417"
    dispute_id = referral_dispute_id("police", ref)
    async with running(platform, router=True) as (app, client):
        good = referral("police", ReferralKind.POLICE_110, ref, "corr-110", dispute_type="neighbourhood")
        unknown_type = referral("police", ReferralKind.POLICE_110, "110-x-1", "corr-x1", dispute_type="ufo_sighting")
        impostor = referral("police", ReferralKind.POLICE_110, "110-x-2", "corr-x2", source="partner/court")
        wrong_kind = referral("police", ReferralKind.COURT_PRE_LITIGATION, "110-x-3", "corr-x3")
        no_type = unknown_type.model_copy(
            update={"id": "no-type-1", "data": {k: v for k, v in unknown_type.data.items() if k != "dispute_type"}}
        )
        await send(platform, topics.partner_inbound("police"), good, unknown_type, impostor, wrong_kind, no_type)
        ghost_ruling = JudicialConfirmationDecided(
            partner_reference="r-1",
            dispute_id="md-court-nope",
            outcome=ConfirmationOutcome.CONFIRMED,
            decided_at=datetime.now(UTC),
        )
        await send(
            platform,
            topics.partner_inbound("court"),
            Envelope.wrap(
                ghost_ruling, source="partner/court", subject="r-1", correlationid="c", actor="partner:court"
            ),
        )
        # an intake referral arrives on the intake topic too
        intake = RequestReferred(
            to_department="mediation",
            matter="物业费纠纷",
            person_ref=P1,
            region="440203001000",
            dispute_type="property_management",
        )
        await send(
            platform,
            topics.department("intake"),
            Envelope.wrap(
                intake, source="caseflow/intake", subject="in-2026-77", correlationid="in-2026-77", actor="dept:intake"
            ),
        )
        await eventually(lambda: _is(app, dispute_id, "registered"), what="police referral registered")

        r = await client.post(
            f"/disputes/{dispute_id}/assign", json={"committee_id": "431002-police", "mediator_id": "m-431002-police-1"}
        )
        assert r.status_code == 200, r.text
        r = await client.post(f"/disputes/{dispute_id}/agreement", json={"terms": "甲方赔偿乙方医药费800元"})
        assert r.status_code == 200, r.text

        acks: list[Envelope] = []

        async def outcome_back() -> bool:
            outbound = await read_topic(platform, topics.partner_outbound("police"), expect=7, timeout=3)
            acks[:] = [Envelope.from_kafka(m.value, m.headers) for m in outbound]
            return any(e.type.endswith("outcome_notified") for e in acks)

        await eventually(outcome_back, timeout=30, what="the outcome on the police outbound topic")
        by_ref = {(e.type.rsplit(".", 1)[1], e.data["partner_reference"]): e for e in acks}
        # refused police messages are also told back to the police, with the reason
        told = [e.data["reason"] for e in acks if e.type.endswith("partner_event_rejected")]
        assert any("does not match the sending partner" in r for r in told), told
        assert by_ref[("referral_acknowledged", ref)].data["decision"] == "accepted"
        declined = by_ref[("referral_acknowledged", "110-x-1")].data
        assert declined["decision"] == "declined" and "unknown dispute type" in declined["reason"]
        result = by_ref[("outcome_notified", ref)]
        assert result.data["outcome"] == "agreement" and result.correlationid == "corr-110"

        dead = await read_topic(platform, topics.deadletter, expect=4, timeout=20)
        reasons = sorted(dict(m.headers)["dlq_reason"].decode() for m in dead)
        assert any("dispute_type: Field required" in r for r in reasons), reasons
        assert any("does not match the sending partner" in r for r in reasons), reasons
        assert any("cannot refer a court_pre_litigation" in r for r in reasons), reasons
        assert any("no such dispute" in r for r in reasons), reasons

        intake_id = referral_dispute_id("intake", "in-2026-77")
        await eventually(lambda: _is(app, intake_id, "registered"), what="intake referral registered")
        doc = await app.state.mediation.cases.get(intake_id)
        assert doc["source"] == "intake" and doc["intake_case_id"] == "in-2026-77"


async def test_thirty_day_window_is_computed_and_flagged_missed(platform):
    now = datetime.now(UTC).replace(microsecond=0)  # PostgreSQL keeps microseconds; whole seconds compare plainly
    async with running(platform) as (app, client):
        r = await client.post(
            "/disputes",
            json={
                "dispute_type": "neighbourhood",
                "region": "340321100205",  # 怀远县城关镇东关村
                "parties": [{"person_ref": P1}, {"person": {"name": "张三", "id_number": "11010519491231002X"}}],
                "claim": "宅前通道被占",
                "registered_at": (now - timedelta(days=60)).isoformat(),
            },
            headers={"Idempotency-Key": "walkin-0001"},
        )
        assert r.status_code == 201, r.text
        dispute_id = r.json()["dispute_id"]
        r = await client.post(f"/disputes/{dispute_id}/assign", json={"at": (now - timedelta(days=59)).isoformat()})
        assert r.status_code == 200, r.text
        signed = now - timedelta(days=45)  # 30 days, even moved off the longest holiday, have passed
        r = await client.post(f"/disputes/{dispute_id}/agreement", json={"terms": "恢复通道", "at": signed.isoformat()})
        assert r.status_code == 200, r.text

        view = (await client.get(f"/disputes/{dispute_id}")).json()
        # 人民调解法 art. 33 with 民法典 arts. 201-203: to 24:00 China time of day 30, off rest days
        assert datetime.fromisoformat(view["confirmation_deadline"]) == deadline_for_days(signed, 30)
        assert view["flags"] == {"time_limit": "met", "confirmation_window": "missed", "follow_up": None}
        overdue = (await client.get("/disputes", params={"overdue": "true"})).json()
        assert [d["dispute_id"] for d in overdue["items"]] == [dispute_id]

        r = await client.post(f"/disputes/{dispute_id}/request-confirmation", json={})
        assert r.status_code == 409
        assert r.json()["errors"][0]["field"] == "confirmation_deadline"
        r = await client.post("/deadlines/sweep")
        assert r.json()["lapsed"] == [dispute_id]
        assert (await client.post("/deadlines/sweep")).json()["lapsed"] == []
        doc = await app.state.mediation.cases.get(dispute_id)
        assert doc["window_lapsed"] is True
        assert doc["history"][-1] == "caseflow.mediation.confirmation_window_lapsed"


async def _is(app, dispute_id: str, status: str) -> bool:
    return await status_of(app, dispute_id) == status


async def test_worklists_and_filters_on_postgres(platform):
    now = datetime.now(UTC).replace(microsecond=0)

    def ago(days: float) -> str:
        return (now - timedelta(days=days)).isoformat()

    async with running(platform) as (app, client):

        async def walk_in(region: str, dispute_type: str, days_ago: float) -> str:
            body = {"dispute_type": dispute_type, "region": region, "parties": [{"person_ref": P1}], "claim": "c"}
            r = await client.post("/disputes", json={**body, "registered_at": ago(days_ago)})
            assert r.status_code == 201, r.text
            return r.json()["dispute_id"]

        waiting = await walk_in("420704001000", "neighbourhood", 3)  # 鄂州: awaiting assignment
        assigned = await walk_in("420704001000", "marriage_family", 2)
        closing = await walk_in("440203001000", "neighbourhood", 40)  # 韶关: window closes in 3 days
        medical = await walk_in("340302001000", "medical", 60)  # 蚌埠: complex, follow-up overdue
        for d, at in ((assigned, ago(1)), (closing, ago(39)), (medical, ago(59))):
            assert (await client.post(f"/disputes/{d}/assign", json={"at": at})).status_code == 200
        await client.post(f"/disputes/{closing}/agreement", json={"terms": "t", "at": ago(27)})
        await client.post(f"/disputes/{medical}/agreement", json={"terms": "赔偿", "at": ago(40)})
        assert (await app.state.mediation.cases.get(medical))["committee_id"] == "340300-medical"

        async def ids(path: str, **params) -> list[str]:
            r = await client.get(path, params=params)
            assert r.status_code == 200, r.text
            return [d["dispute_id"] for d in r.json()["items"]]

        assert await ids("/worklists/awaiting-assignment") == [waiting]
        assert await ids("/worklists/sessions-due") == [assigned]
        assert await ids("/worklists/confirmation-closing") == [closing]
        assert await ids("/worklists/confirmation-closing", within_days=1) == []
        assert await ids("/worklists/follow-ups-due") == [medical]
        assert set(await ids("/disputes", overdue="true")) == {medical}  # window and follow-up both missed
        assert set(await ids("/disputes", overdue="false")) == {waiting, assigned, closing}
        assert set(await ids("/disputes", region="420700000000")) == {waiting, assigned}
        assert await ids("/disputes", committee="340300-medical", status="agreement") == [medical]
        view = (await client.get(f"/disputes/{medical}")).json()
        assert view["complex"] is True and view["flags"]["follow_up"] == "missed"
        r = await client.post(f"/disputes/{medical}/follow-up", json={"fulfilment": "fulfilled"})
        assert r.status_code == 200, r.text
        assert await ids("/worklists/follow-ups-due") == []
        assert (await client.get(f"/disputes/{medical}")).json()["flags"]["follow_up"] == "missed"  # done late

        # 随单评价 (seed 004): a party rates the dispute once it is archived, once
        early = await client.post(f"/disputes/{medical}/evaluate", json={"satisfaction": 4})
        assert early.status_code == 409 and "after it is closed" in early.json()["detail"]
        assert (await client.post(f"/disputes/{medical}/archive", json={})).status_code == 200
        rated = await client.post(f"/disputes/{medical}/evaluate", json={"satisfaction": 4})
        assert rated.status_code == 200 and rated.json()["events"] == ["caseflow.mediation.dispute_evaluated"]
        assert (await client.get(f"/disputes/{medical}")).json()["satisfaction"] == 4
        again = await client.post(f"/disputes/{medical}/evaluate", json={"satisfaction": 5})
        assert again.status_code == 409 and again.json()["errors"][0]["field"] == "satisfaction"


async def test_registry_changes_are_published_and_survive_a_restart(platform):
    topics = Topics(platform.topic_prefix)
    admin = token(platform, "dept:mediation", ["mediation:admin"])
    body = {
        "committee_id": "420703-traffic",
        "name": "鄂州市华容区道路交通事故纠纷人民调解委员会",
        "kind": "trade",
        "regions": ["420703000000"],
        "dispute_types": ["traffic"],
    }
    async with running(platform) as (_app, client):
        assert (await client.post("/committees", json=body, headers=admin)).status_code == 201
        mediator = {"mediator_id": "m-420703-traffic-1", "display_name": "孙调解员", "specialisms": ["traffic"]}
        r = await client.post("/committees/420703-traffic/mediators", json=mediator, headers=admin)
        assert r.status_code == 201, r.text
        published = await read_topic(platform, topics.department("mediation"), expect=2, timeout=20)
        assert types(published) == ["committee_registered", "mediator_registered"]

        restarted = create_app(Settings(platform=platform, sweep_interval_seconds=0))
        async with restarted.router.lifespan_context(restarted):
            registry = restarted.state.mediation.registry
            assert registry.committee("420703-traffic").regions == ("420703000000",)
            assert registry.mediator("m-420703-traffic-1").active is True
            assert registry.pick("420703100203", "traffic")[0].id == "420703-traffic"
