"""Legal aid on the real Kafka broker and PostgreSQL: notices in, assignment notices out, HTTP API, dead letters."""

import asyncio
import contextlib
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from integrations.router import PartnerRouter
from services.legal_aid.config import Settings
from services.legal_aid.main import create_app
from shared import kafka
from shared.contracts.common import Department
from shared.contracts.intake import RequestReferred
from shared.contracts.partners import DefenceKind, NotifiedDefenceRequested, ProceedingStage
from shared.envelope import Envelope
from shared.topics import Topics
from tests.conftest import token
from tests.integration.helpers import drop_schemas, eventually, read_topic

pytestmark = pytest.mark.integration

DEFENDANT = "p-" + "d" * 32
ID_A, ID_B = "11010519491231002X", "110101199003077774"


def defence_notice(reference: str, **kw) -> NotifiedDefenceRequested:
    data = {
        "partner_reference": reference,
        "kind": DefenceKind.NOTIFIED_DEFENCE,
        "defendant_ref": DEFENDANT,
        "region": "340304000000",
        "stage": ProceedingStage.TRIAL,
        "charge": "theft",
        "notified_at": datetime.now(UTC) - timedelta(hours=1),
        **kw,
    }
    return NotifiedDefenceRequested(**data)


async def send(platform, topic: str, env: Envelope, value: bytes | None = None) -> None:
    producer = kafka.producer(platform)
    await producer.start()
    try:
        key, v, headers = env.to_kafka()
        await producer.send_and_wait(topic, value=value if value is not None else v, key=key, headers=headers)
    finally:
        await producer.stop()


@contextlib.asynccontextmanager
async def running(platform):
    app = create_app(Settings(platform=platform))
    try:
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://la") as client:
                yield app, client
    finally:
        await drop_schemas(platform, "legal_aid", "router")


def staff(platform) -> dict[str, str]:
    return token(platform, "dept:legal_aid", ["legal_aid:apply", "legal_aid:review", "legal_aid:write"])


async def test_court_notice_on_kafka_to_assignment_notice_on_the_courts_outbound_topic(platform):
    topics = Topics(platform.topic_prefix)
    async with running(platform) as (app, client):
        router = PartnerRouter(platform)
        router_task = asyncio.create_task(router.run())
        try:
            env = Envelope.wrap(
                defence_notice("(2026)皖0304刑初7号"),
                source="partner/court",
                subject="(2026)皖0304刑初7号",
                correlationid="corr-court-7",
                actor="partner:court",
            )
            await send(platform, topics.partner_inbound("court"), env)
            cases = app.state.legal_aid.cases

            async def opened() -> bool:
                return bool(await cases.find({"organ": "court"}))

            await eventually(opened, timeout=20, what="case opened from the court notice")
            case = (await cases.find({"organ": "court"}))[0]
            assert case["status"] == "granted" and case["kind"] == "notified_defence"
            resp = await client.get(f"/applications/{case['_id']}", headers=staff(platform))
            assert [d["name"] for d in resp.json()["deadlines"]] == ["assignment"]
            assert resp.json()["deadlines"][0]["status"] in ("pending", "due")

            resp = await client.post(
                f"/applications/{case['_id']}/assign",
                json={"provider_id": "bb-lawyer-001"},
                headers={**staff(platform), "Idempotency-Key": "assign-court-7"},
            )
            assert resp.status_code == 200, resp.text
            assert resp.json()["status"] == "assigned"
            assert resp.json()["deadlines"][0]["status"] == "met"

            records = await read_topic(platform, topics.partner_outbound("court"), expect=1, timeout=20)
            notices = [Envelope.from_kafka(r.value, r.headers) for r in records]
            assert [n.type for n in notices] == ["caseflow.legal_aid.assignment_notified"]
            assert notices[0].correlationid == "corr-court-7"
            assert notices[0].data["partner_reference"] == "(2026)皖0304刑初7号"
            assert notices[0].data["provider_id"] == "bb-lawyer-001"
            assert notices[0].data["aid_case_id"] == case["_id"]
        finally:
            router_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await router_task


async def test_bad_kafka_input_is_dead_lettered_with_a_reason_and_referrals_open_applications(platform):
    topics = Topics(platform.topic_prefix)
    async with running(platform) as (app, _client):
        good = defence_notice("P-1")
        no_defendant = good.model_dump(mode="json")
        del no_defendant["defendant_ref"]
        base = {"subject": "P-1", "correlationid": "c-1", "actor": "partner:police"}
        missing = Envelope.wrap(good, source="partner/police", **base)
        await send(platform, topics.partner_inbound("police"), missing, value=json.dumps(no_defendant).encode())
        unknown_court = Envelope.wrap(
            defence_notice("C-9", region="110101000000"), source="partner/court", **{**base, "subject": "C-9"}
        )
        await send(platform, topics.partner_inbound("court"), unknown_court)
        impostor = Envelope.wrap(defence_notice("X-1"), source="partner/police", **{**base, "subject": "X-1"})
        await send(platform, topics.partner_inbound("court"), impostor)
        referral = Envelope.wrap(
            RequestReferred(
                to_department=Department.LEGAL_AID,
                matter="wages unpaid for six months",
                person_ref="p-" + "e" * 32,
                region="431002001001",
            ),
            source="caseflow/intake",
            subject="in-42",
            correlationid="corr-intake-42",
            actor="dept:intake",
        )
        await send(platform, topics.department("intake"), referral)

        dead = await read_topic(platform, topics.deadletter, expect=3, timeout=20)
        reasons = {dict(r.headers)["ce_subject"].decode(): dict(r.headers)["dlq_reason"].decode() for r in dead}
        assert "defendant_ref" in reasons["P-1"]
        assert "no legal aid city profile serves region 110101000000" in reasons["C-9"]
        assert "does not match the sending partner" in reasons["X-1"]

        async def referred() -> bool:
            return bool(await app.state.legal_aid.cases.find({"referral_case_id": "in-42"}))

        await eventually(referred, timeout=20, what="application opened from the referral")
        doc = (await app.state.legal_aid.cases.find({"referral_case_id": "in-42"}))[0]
        assert doc["channel"] == "intake_referral" and doc["matter_type"] == "unspecified"
        stored = await app.state.runtime.store.read_stream(doc["_id"])
        assert stored.events[0].correlationid == "corr-intake-42"
        nothing_half_written = await app.state.legal_aid.cases.find({"organ": {"$in": ["court", "police"]}})
        assert nothing_half_written == []


async def test_http_application_review_assign_and_bad_input(platform):
    async with running(platform) as (_app, client):
        h = staff(platform)
        body = {
            "region": "340304000000",
            "matter_type": "wages",
            "matter": "unpaid wages at a building site",
            "applicant": {"name": "张三", "id_number": ID_A},
            "opposing_parties": [{"name": "李四", "id_number": ID_B}],
            "household_income_per_head": 1200,
        }
        for bad, field in [
            ({**body, "household_income_per_head": -5}, "household_income_per_head"),
            ({**body, "household_income_per_head": "much"}, "household_income_per_head"),
            ({**body, "household_income_per_head": 1199.999}, "household_income_per_head"),  # a fraction of a fen
            ({**body, "region": "110101000000"}, "region"),
        ]:
            resp = await client.post("/applications", json=bad, headers=h)
            assert resp.status_code == 422, resp.text
            assert resp.headers["content-type"].startswith("application/problem+json")
            assert field in {e["field"] for e in resp.json()["errors"]}
        assert (await client.get("/applications", headers=h)).json() == []  # nothing half-written

        resp = await client.post("/applications", json=body, headers={**h, "Idempotency-Key": "apply-0001"})
        assert resp.status_code == 201, resp.text
        case = resp.json()
        again = await client.post("/applications", json=body, headers={**h, "Idempotency-Key": "apply-0001"})
        assert again.json()["id"] == case["id"]
        assert ID_A not in resp.text and "张三" not in resp.text
        assert [d["name"] for d in case["deadlines"]] == ["review"]

        resp = await client.post(f"/applications/{case['id']}/assign", json={"provider_id": "bb-lawyer-001"}, headers=h)
        assert resp.status_code == 409 and "cannot assign a case in state 'applied'" in resp.json()["detail"]

        apply_only = token(platform, "dept:legal_aid", ["legal_aid:apply"])
        resp = await client.post(f"/applications/{case['id']}/review", json={}, headers=apply_only)
        assert resp.status_code == 403

        resp = await client.post(f"/applications/{case['id']}/review", json={}, headers=h)
        assert resp.status_code == 200 and resp.json()["decision"] == "granted"
        assert "1,200.00 yuan/month < threshold 1,900.00 (2.5 × 760.00 低保" in resp.json()["reason"]

        resp = await client.post(f"/applications/{case['id']}/assign", json={"provider_id": "bb-lawyer-002"}, headers=h)
        assert resp.status_code == 200 and resp.json()["provider_id"] == "bb-lawyer-002"
        providers = {p["id"]: p for p in (await client.get("/providers", headers=h)).json()}
        assert providers["bb-lawyer-002"]["open_cases"] == 1 and not providers["bb-lawyer-002"]["available"]

        # a second granted case: bb-lawyer-002 is at capacity (1), a lawyer of another city does not serve it
        second = (
            await client.post("/applications", json={**body, "special_groups": ["seriously_ill"]}, headers=h)
        ).json()
        await client.post(f"/applications/{second['id']}/review", json={}, headers=h)
        resp = await client.post(
            f"/applications/{second['id']}/assign", json={"provider_id": "bb-lawyer-002"}, headers=h
        )
        assert resp.status_code == 409 and resp.json()["errors"][0]["field"] == "provider_id"
        assert "capacity" in resp.json()["detail"]
        resp = await client.post(
            f"/applications/{second['id']}/assign", json={"provider_id": "cz-lawyer-001"}, headers=h
        )
        assert resp.status_code == 409 and "does not serve" in resp.json()["detail"]

        # the worklist: the second case's assignment is pending, nothing is overdue
        listed = (await client.get("/applications", params={"status": "granted"}, headers=h)).json()
        assert [c["id"] for c in listed] == [second["id"]]
        assert (await client.get("/applications", params={"overdue": "true"}, headers=h)).json() == []
        soon = (datetime.now(UTC) + timedelta(days=5)).isoformat()
        due = (await client.get("/applications", params={"due_before": soon}, headers=h)).json()
        assert [c["id"] for c in due] == [second["id"]]

        # a partner may send notices only in its own name
        court = token(platform, "partner:court", ["partner:court"])
        notice = {
            "kind": "notified_defence",
            "organ": "police",
            "partner_reference": "GA-77",
            "region": "340304000000",
            "defendant_ref": DEFENDANT,
            "stage": "investigation",
            "charge": "fraud",
            "notified_at": datetime.now(UTC).isoformat(),
        }
        assert (await client.post("/notices", json=notice, headers=court)).status_code == 403
        missing = {k: v for k, v in notice.items() if k != "defendant_ref"} | {"organ": "court"}
        resp = await client.post("/notices", json=missing, headers=court)
        assert resp.status_code == 422 and any("defendant_ref" in e["field"] for e in resp.json()["errors"])
        resp = await client.post("/notices", json={**notice, "organ": "court"}, headers=court)
        assert resp.status_code == 201 and resp.json()["status"] == "granted"


async def test_http_lifecycle_to_subsidy_with_fee_waiver_and_a_detainee_forwarded_late(platform):
    topics = Topics(platform.topic_prefix)
    async with running(platform) as (_app, client):
        h = staff(platform)
        body = {
            "channel": "web",
            "region": "431002001001",
            "matter_type": "maintenance",
            "matter": "child maintenance",
            "applicant": {"name": "王五", "id_number": ID_A},
            "household_income_per_head": 700,  # Chenzhou sample threshold 630: refused
        }
        case = (await client.post("/applications", json=body, headers=h)).json()
        refused = (await client.post(f"/applications/{case['id']}/review", json={}, headers=h)).json()
        assert refused["status"] == "refused" and "700.00 yuan/month ≥ threshold 630.00" in refused["reason"]
        cid = case["id"]
        steps = [
            ("contest", {"grounds": "lost my job last month"}, "contested"),
            ("review", {"household_income_per_head": 300}, "granted"),
            ("fee-waivers", {"notary_matter": "power_of_attorney", "waiver": 1.0}, "granted"),
            ("assign", {"provider_id": "cz-worker-001"}, "assigned"),
            ("close", {"outcome": "mediated"}, "closed"),
            ("evaluate", {"satisfaction": 5}, "closed"),  # 随单评价 (seed 004), once closed
            ("quality-review", {"score": 88, "method": "client_follow_up"}, "quality_reviewed"),
            ("subsidy", {"amount": 1200}, "subsidy_paid"),
        ]
        for step, payload, status in steps:
            resp = await client.post(f"/applications/{cid}/{step}", json=payload, headers=h)
            assert resp.status_code == 200 and resp.json()["status"] == status, (step, resp.text)
        resp = await client.post(f"/applications/{cid}/contest", json={"grounds": "again"}, headers=h)
        assert resp.status_code == 409
        resp = await client.post(f"/applications/{cid}/evaluate", json={"satisfaction": 1}, headers=h)
        assert resp.status_code == 409 and resp.json()["errors"][0]["field"] == "satisfaction"  # once only
        view = (await client.get(f"/applications/{cid}", headers=h)).json()
        assert {d["name"]: d["status"] for d in view["deadlines"]} == {"review": "met", "assignment": "met"}
        assert view["quality_score"] == 88 and view["fee_waivers"][0]["notary_matter"] == "power_of_attorney"
        assert view["satisfaction"] == 5

        # the waiver reaches the legal aid topic for the notary service
        async def waiver_published() -> bool:
            records = await read_topic(platform, topics.department("legal_aid"), expect=1, timeout=3)
            return any(dict(r.headers)["ce_type"] == b"caseflow.legal_aid.notary_fee_waiver_granted" for r in records)

        await eventually(waiver_published, timeout=20, what="fee waiver on the legal aid topic")

        police = token(platform, "partner:police", ["partner:police"])
        received = datetime.now(UTC) - timedelta(hours=40)
        detainee = {
            "kind": "detainee_application",
            "organ": "police",
            "partner_reference": "GA-D-1",
            "region": "340304000000",
            "applicant_ref": DEFENDANT,
            "matter": "defence in a theft case",
            "received_at": received.isoformat(),
            "forwarded_at": (received + timedelta(hours=30)).isoformat(),
        }
        resp = await client.post("/notices", json=detainee, headers={**police, "Idempotency-Key": "ga-d-1-key"})
        assert resp.status_code == 201, resp.text
        deadlines = {d["name"]: d["status"] for d in resp.json()["deadlines"]}
        assert deadlines == {"forwarding": "missed", "review": "pending"}
        assert resp.json()["kind"] == "detainee_forwarded" and resp.json()["status"] == "applied"
