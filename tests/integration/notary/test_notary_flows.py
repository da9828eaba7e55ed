"""The notary service on the real Kafka + PostgreSQL: a waived application from 申请 to 出证, certificate numbers
under 20 concurrent issues, and court commissions and document feedback in from Kafka and back out to the court."""

import asyncio
import contextlib
from datetime import UTC, datetime

import httpx
import pytest

from integrations.router import PartnerRouter
from services.notary.config import Settings
from services.notary.domain import register_stream
from services.notary.main import create_app
from shared import kafka
from shared.contracts.legal_aid import NotaryFeeWaiverGranted
from shared.contracts.partners import CommissionKind, NotarialDocumentFeedback, NotaryCommissioned
from shared.envelope import Envelope
from shared.topics import Topics
from tests.conftest import token
from tests.integration.helpers import drop_schemas, eventually, read_topic

pytestmark = pytest.mark.integration

ALICE = "p-" + "a1" * 16
BOB = "p-" + "b2" * 16
BIRTH_MATERIALS = ["id_card", "household_register", "birth_medical_certificate"]


@contextlib.asynccontextmanager
async def running(platform):
    app = create_app(Settings(platform=platform))
    try:
        async with app.router.lifespan_context(app):
            clerk = token(platform, "dept:notary", ["notary:read", "notary:write"])
            transport = httpx.ASGITransport(app)
            async with httpx.AsyncClient(transport=transport, base_url="http://notary", headers=clerk) as c:
                yield app, c
    finally:
        await drop_schemas(platform, "notary")


async def produce(platform, topic: str, env: Envelope) -> None:
    producer = kafka.producer(platform)
    await producer.start()
    try:
        key, value, headers = env.to_kafka()
        await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()


async def apply(c, *, applicant=ALICE, applicant_data=None, matter="birth", materials=BIRTH_MATERIALS, **extra) -> dict:
    body = {"region": "431002001001", "office": "GZ4310", "matter": matter}
    body |= {"applicant": applicant_data} if applicant_data else {"applicant_ref": applicant}
    r = await c.post("/applications", json={**body, "materials_supplied": materials, **extra})
    assert r.status_code == 201, r.text
    return r.json()


async def issued_application(c) -> dict:
    app_id = (await apply(c))["application_id"]
    for step, body in (("accept", None), ("assess-fee", {}), ("issue", {})):
        r = await c.post(f"/applications/{app_id}/{step}", json=body)
        assert r.status_code == 200, r.text
    return r.json()


async def test_aid_recipient_application_from_apply_to_issue_with_every_refusal(platform):
    async with running(platform) as (app, c):
        topics = Topics(platform.topic_prefix)
        waiver = NotaryFeeWaiverGranted(
            aid_case_id="la-77", person_ref=ALICE, notary_matter="birth", waiver=1.0, granted_at=datetime.now(UTC)
        )
        env = Envelope.wrap(
            waiver, source="caseflow/legal_aid", subject="la-77", correlationid="la-77", actor="dept:legal_aid"
        )
        await produce(platform, topics.department("legal_aid"), env)
        bogus = NotaryFeeWaiverGranted(
            aid_case_id="la-78", person_ref=BOB, notary_matter="space_travel", granted_at=datetime.now(UTC)
        )
        bad_env = Envelope.wrap(bogus, source="caseflow/legal_aid", subject="la-78", correlationid="la-78", actor="x")
        await produce(platform, topics.department("legal_aid"), bad_env)

        # bad input first: nothing is written
        r = await c.post(
            "/applications",
            json={"region": "431002001001", "office": "GZ4310", "matter": "moon", "applicant_ref": ALICE},
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "matter"
        r = await c.post(
            "/applications", json={"region": "43", "office": "GZ4310", "matter": "birth", "applicant_ref": ALICE}
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "region"

        r = await c.post("/applications/na-nope/accept")
        assert r.status_code == 404 and r.json()["errors"][0]["field"] == "application_id"
        person = {"name": "张三", "id_number": "11010519491231002X"}
        walk_in = await apply(c, applicant=None, applicant_data=person)
        assert walk_in["applicant_ref"].startswith("p-") and "张三" not in str(walk_in)

        created = await apply(c, materials=["id_card"], aid_case_id="la-77")
        app_id = created["application_id"]
        assert created["missing"] == ["household_register", "birth_medical_certificate"]
        r = await c.post(f"/applications/{app_id}/issue", json={})
        assert r.status_code == 409 and "applied" in r.json()["detail"]
        r = await c.post(f"/applications/{app_id}/accept")
        assert r.status_code == 409 and r.json()["errors"][0]["field"] == "materials"

        r = await c.post(f"/applications/{app_id}/notice")
        assert r.json()["notice_given"] == ["household_register", "birth_medical_certificate"]
        r = await c.post(f"/applications/{app_id}/notice")
        assert r.status_code == 409 and "second notice" in r.json()["detail"]
        key = {"Idempotency-Key": "supply-once-1"}
        for _ in range(2):  # a retried POST never acts twice
            r = await c.post(
                f"/applications/{app_id}/materials",
                json={"materials": ["household_register", "birth_medical_certificate"]},
                headers=key,
            )
            assert r.status_code == 200
        r = await c.post(f"/applications/{app_id}/accept")
        accepted = r.json()
        assert accepted["status"] == "accepted" and accepted["due_on"] and accepted["working_days_left"] >= 14

        await eventually(lambda: app.state.notary.waivers.find(ALICE, "birth"), what="waiver from legal aid")
        r = await c.post(f"/applications/{app_id}/assess-fee", json={})
        fee = r.json()
        assert (fee["charged_fee"], fee["waived"], fee["aid_linked"]) == ("0.00", True, True)
        assert fee["aid_link_verified"] is True

        r = await c.post(f"/applications/{app_id}/evaluate", json={"satisfaction": 5})
        assert r.status_code == 409 and "after it is closed" in r.json()["detail"]  # 随单评价 once finished
        r = await c.post(f"/applications/{app_id}/issue", json={})
        done = r.json()
        assert done["status"] == "issued" and done["certificate_no"].endswith("证字第000001号") and done["one_trip"]
        r = await c.post(f"/applications/{app_id}/evaluate", json={"satisfaction": 0})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "satisfaction"
        r = await c.post(f"/applications/{app_id}/evaluate", json={"satisfaction": 5})
        assert r.status_code == 200 and r.json()["satisfaction"] == 5

        r = await c.get("/applications", params={"status": "issued", "matter": "birth"})
        assert [i["application_id"] for i in r.json()["items"]] == [app_id]
        r = await c.get("/applications", params={"overdue": "true"})
        assert r.json()["count"] == 0
        stream = await app.state.runtime.store.read_stream(app_id)
        types = [e.type.rsplit(".", 1)[1] for e in stream.events]
        assert types == [
            "application_submitted",
            "materials_notice_issued",
            "materials_supplemented",
            "application_accepted",
            "fee_assessed",
            "certificate_issued",
            "application_evaluated",
        ]

        # someone who is not an aid recipient for this matter claims an aid case: refused, nothing written
        bob_app = (await apply(c, applicant=BOB))["application_id"]
        await c.post(f"/applications/{bob_app}/accept")
        r = await c.post(f"/applications/{bob_app}/assess-fee", json={"waiver_aid_case_id": "la-77"})
        assert r.status_code == 409 and r.json()["errors"][0]["field"] == "waiver"
        assert (await c.get(f"/applications/{bob_app}")).json()["status"] == "accepted"
        # the clerk charges the full fee: the failed claim is recorded as unverified (PostgreSQL's registry says so)
        full_fee = {"waiver_aid_case_id": "la-77", "proceed_without_waiver": True}
        charged = (await c.post(f"/applications/{bob_app}/assess-fee", json=full_fee)).json()
        assert (charged["charged_fee"], charged["aid_linked"], charged["aid_link_verified"]) == ("80.00", True, False)

        dead = await read_topic(platform, topics.deadletter, expect=1)
        assert any(b"space_travel" in dict(m.headers)["dlq_reason"] for m in dead)


async def test_twenty_concurrent_issues_get_unique_gap_free_numbers(platform):
    async with running(platform) as (app, c):

        async def ready_to_issue() -> str:
            app_id = (await apply(c))["application_id"]
            await c.post(f"/applications/{app_id}/accept")
            await c.post(f"/applications/{app_id}/assess-fee", json={})
            return app_id

        ids = await asyncio.gather(*(ready_to_issue() for _ in range(20)))
        # one of them is refused at issue (issued twice): it must not consume a number
        results = await asyncio.gather(
            *(c.post(f"/applications/{i}/issue", json={}) for i in ids),
            c.post(f"/applications/{ids[0]}/issue", json={}, headers={"Idempotency-Key": "other-request-0"}),
        )
        assert sorted(r.status_code for r in results) == [200] * 20 + [409]
        numbers = sorted(r.json()["certificate_no"] for r in results if r.status_code == 200)
        year = datetime.now(UTC).year
        assert numbers == [f"({year})GZ4310证字第{n:06d}号" for n in range(1, 21)]
        register = await app.state.runtime.store.read_stream(register_stream("GZ4310", year))
        assert register.version == 20


async def test_court_commission_and_feedback_in_from_kafka_and_back_out_to_the_court(platform):
    router = PartnerRouter(platform)
    router_task = asyncio.create_task(router.run())
    try:
        async with running(platform) as (app, c):
            topics = Topics(platform.topic_prefix)
            court_in = topics.partner_inbound("court")
            commissioned = NotaryCommissioned(
                partner_reference="(2026)湘1002执45号",
                kind=CommissionKind.EVIDENCE_PRESERVATION,
                region="431002000000",
                details="对被执行人经营场所现场保全证据",
                commissioned_at=datetime.now(UTC),
            )
            env = Envelope.wrap(
                commissioned, source="partner/court", subject="c-45", correlationid="c-45", actor="partner:court"
            )
            await produce(platform, court_in, env)
            impostor = Envelope.wrap(
                commissioned, source="partner/police", subject="c-46", correlationid="c-46", actor="x"
            )
            await produce(platform, court_in, impostor)

            async def commission() -> list:
                return (await c.get("/commissions", params={"status": "accepted"})).json()

            await eventually(commission, what="commission accepted from Kafka")
            cid = (await commission())[0]["commission_id"]
            r = await c.post(f"/commissions/{cid}/report")
            assert r.status_code == 409
            r = await c.post(f"/commissions/{cid}/perform", json={"summary": "已现场保全，制作笔录并拍照"})
            assert r.json()["status"] == "performed"
            r = await c.post(f"/commissions/{cid}/report")
            assert r.json()["status"] == "reported"

            # the same commission over HTTP with the court's token: accepted once, on the same case
            court = token(platform, "partner:court", ["partner:court"])
            body = {**commissioned.model_dump(mode="json"), "partner_reference": "(2026)湘1002执45号"}
            r = await c.post("/commissions", json=body)
            assert r.status_code == 403  # a clerk is not the court
            r = await c.post("/commissions", json=body, headers=court)
            assert r.status_code == 201 and r.json()["commission_id"] == cid and r.json()["status"] == "reported"

            cert = (await issued_application(c))["certificate_no"]
            feedback = NotarialDocumentFeedback(
                partner_reference="(2026)湘1002民初12号",
                certificate_no=cert,
                adopted=False,
                reason="与其他证据矛盾",
                decided_at=datetime.now(UTC),
            )
            unknown = NotarialDocumentFeedback(
                partner_reference="(2026)湘1002民初13号",
                certificate_no="(2026)GZ4310证字第999999号",
                adopted=True,
                decided_at=datetime.now(UTC),
            )
            for p, s in ((feedback, "f-12"), (unknown, "f-13")):
                e = Envelope.wrap(p, source="partner/court", subject=s, correlationid=s, actor="partner:court")
                await produce(platform, court_in, e)

            out: list = []

            async def answered() -> bool:
                out[:] = await read_topic(platform, topics.partner_outbound("court"), expect=4, timeout=3)
                return any(b"court_feedback" in dict(m.headers)["ce_type"] for m in out)

            await eventually(answered, timeout=30, what="the feedback acknowledgement on the court outbound topic")
            kinds = [dict(m.headers)["ce_type"].decode().rsplit(".", 1)[1] for m in out]
            types = sorted(k for k in kinds if k != "partner_event_rejected")
            assert types == ["commission_accepted", "commission_reported", "court_feedback_recorded"]
            assert "partner_event_rejected" in kinds  # the unknown certificate was told back to the court
            fb = next(m for m in out if b"court_feedback" in dict(m.headers)["ce_type"])
            assert b'"adopted":false' in fb.value and "民初12号".encode() in fb.value

            dead = await read_topic(platform, topics.deadletter, expect=2)
            reasons = [dict(m.headers)["dlq_reason"].decode() for m in dead]
            assert any("999999" in r and "certificate" in r for r in reasons)
            assert any("does not match the sending partner" in r for r in reasons)
    finally:
        router_task.cancel()
        with contextlib.suppress(BaseException):
            await router_task


async def test_an_idempotency_key_used_for_one_application_is_refused_for_another(platform):
    """Regression: accepting application B with the key used to accept A answered 200 with A's outcome and left B
    unchanged. A key names one act on one case: on B it is refused (409), B is untouched, on A it replays."""
    async with running(platform) as (_app, c):
        a = (await apply(c))["application_id"]
        b = (await apply(c, applicant=BOB))["application_id"]
        key = {"Idempotency-Key": "accept-0001"}
        first = await c.post(f"/applications/{a}/accept", headers=key)
        assert first.status_code == 200, first.text
        refused = await c.post(f"/applications/{b}/accept", headers=key)
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["title"] == "idempotency_key_reused"
        assert (await c.get(f"/applications/{b}")).json()["status"] == "applied"
        again = await c.post(f"/applications/{a}/accept", headers=key)
        assert again.status_code == 200 and again.json()["status"] == first.json()["status"] == "accepted"
