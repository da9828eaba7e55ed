"""Legal aid API over in-memory fakes (event store, read model, vault, clock): a case's story, scopes, keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.legal_aid import consumers
from services.legal_aid.config import Settings
from services.legal_aid.handlers import notice_case_id
from services.legal_aid.main import create_app
from shared.contracts.partners import NotifiedDefenceRequested
from shared.envelope import Envelope
from shared.settings import PlatformSettings
from tests.conftest import token
from tests.fakes import FixedClock, memory_adapters

SETTINGS = PlatformSettings()
STAFF = ("legal_aid:apply", "legal_aid:review", "legal_aid:write")
ID_A, ID_B = "11010519491231002X", "110101199003077774"
WAGES = {  # 蚌埠 wage claim: income 1200 is below the city's threshold (760 × 2.5)
    "region": "340304000000",
    "matter_type": "wages",
    "matter": "unpaid wages at a building site",
    "applicant": {"name": "张三", "id_number": ID_A},
    "opposing_parties": [{"name": "李四", "id_number": ID_B}],
    "household_income_per_head": 1200,
}


@pytest.fixture
def service():
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))  # 17:00 in China: the review period ends 9 March
    adapters = memory_adapters(clock)
    app = create_app(Settings(platform=SETTINGS), **adapters)
    return app, adapters["store"], clock


def client(app, scopes=STAFF, subject="dept:legal_aid") -> httpx.AsyncClient:
    headers = token(SETTINGS, subject, list(scopes))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers)


def types(store) -> list[str]:
    return [e.type.rsplit(".", 1)[1] for e in store.all_events()]


def court_notice(reference: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "notified_defence",
        "organ": "court",
        "partner_reference": reference,
        "region": "340304000000",
        "defendant_ref": "p-" + "d" * 32,
        "stage": "trial",
        "charge": "theft",
        "notified_at": "2026-03-02T08:00:00+00:00",
    } | extra


async def test_an_application_from_apply_to_subsidy(service):
    app, store, clock = service
    async with client(app) as c:
        r = await c.post("/applications", json=WAGES)
        assert r.status_code == 201, r.text
        case = r.json()
        assert case["status"] == "applied" and case["applied_at"] == "2026-03-02T09:00:00Z"
        assert [(d["name"], d["status"]) for d in case["deadlines"]] == [("review", "pending")]
        assert "张三" not in r.text and ID_A not in r.text
        cid = case["id"]
        clock.advance(days=2)
        granted = (await c.post(f"/applications/{cid}/review", json={})).json()
        assert granted["decision"] == "granted" and "1900.00" in granted["reason"]
        assert {d["name"]: d["status"] for d in granted["deadlines"]} == {"review": "met", "assignment": "pending"}
        steps = [
            ("assign", {"provider_id": "bb-lawyer-001"}, "assigned"),
            ("close", {"outcome": "mediated"}, "closed"),
            ("quality-review", {"score": 88, "method": "client_follow_up"}, "quality_reviewed"),
            ("subsidy", {"amount": 1200}, "subsidy_paid"),
        ]
        for step, body, status in steps:
            r = await c.post(f"/applications/{cid}/{step}", json=body)
            assert r.status_code == 200 and r.json()["status"] == status, (step, r.text)
        view = (await c.get(f"/applications/{cid}")).json()
        assert view["provider_id"] == "bb-lawyer-001" and view["quality_score"] == 88 and view["subsidy"] == 1200
        assert view["assigned_at"] == "2026-03-04T09:00:00Z"  # every step counts at the app's clock
    assert types(store) == [
        "application_received",
        "application_reviewed",
        "provider_assigned",
        "case_closed",
        "quality_reviewed",
        "subsidy_paid",
    ]


async def test_a_fee_waiver_for_a_matter_notary_does_not_publish_is_422_and_nothing_stored(service):
    """Legal aid waives notary fees for aided persons (seed 003: 减免困难群众公证收费; seed 000) only for matters
    in notary's published catalogue: an unknown one is refused at the front door, not dead-lettered at notary."""
    app, store, _ = service
    async with client(app) as c:
        cid = (await c.post("/applications", json=WAGES)).json()["id"]
        await c.post(f"/applications/{cid}/review", json={})
        before = types(store)
        r = await c.post(f"/applications/{cid}/fee-waivers", json={"notary_matter": "entrustment"})
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
        errors = r.json()["errors"]
        assert any(e["field"].endswith("notary_matter") and "unknown notary matter" in e["reason"] for e in errors)
        assert types(store) == before
        ok = await c.post(f"/applications/{cid}/fee-waivers", json={"notary_matter": "power_of_attorney"})
        assert ok.status_code == 200, ok.text
    assert types(store)[-1] == "notary_fee_waiver_granted"


async def test_deadlines_and_the_worklist_read_the_apps_clock(service):
    app, _, clock = service
    async with client(app) as c:
        cid = (await c.post("/applications", json=WAGES)).json()["id"]
        assert (await c.get("/applications", params={"overdue": "true"})).json() == []
        clock.advance(days=7)  # 9 March, 17:00 in China: the period ends at midnight
        assert (await c.get(f"/applications/{cid}")).json()["deadlines"][0]["status"] == "due"
        clock.advance(days=1)
        assert (await c.get(f"/applications/{cid}")).json()["deadlines"][0]["status"] == "missed"
        overdue = (await c.get("/applications", params={"overdue": "true"})).json()
        assert [case["id"] for case in overdue] == [cid]


async def test_scopes_are_enforced(service):
    app, store, _ = service
    async with client(app, ["legal_aid:read"]) as reader:
        r = await reader.post("/applications", json=WAGES)
        assert r.status_code == 403 and "legal_aid:apply" in r.json()["detail"]
        assert (await reader.get("/applications")).status_code == 200
    async with client(app, ["legal_aid:apply"]) as applicant:
        cid = (await applicant.post("/applications", json=WAGES)).json()["id"]
        assert (await applicant.post(f"/applications/{cid}/review", json={})).status_code == 403
        assert (await applicant.get(f"/applications/{cid}")).status_code == 403
    async with client(app, ["legal_aid:review"]) as reviewer:
        assert (await reviewer.post(f"/applications/{cid}/review", json={})).status_code == 200
        r = await reviewer.post(f"/applications/{cid}/assign", json={"provider_id": "bb-lawyer-001"})
        assert r.status_code == 403 and "legal_aid:write" in r.json()["detail"]
    async with client(app, ["legal_aid:write"]) as staff:
        assert (await staff.post("/notices", json=court_notice("(2026)皖0304刑初1号"))).status_code == 403
    async with client(app, ["partner:court"], subject="partner:court") as court:
        assert (await court.get("/applications")).status_code == 403
        r = await court.post("/notices", json=court_notice("GA-1", organ="police"))
        assert r.status_code == 403 and "cannot send a notice from the police" in r.json()["detail"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as anonymous:
        r = await anonymous.get("/providers")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert types(store) == ["application_received", "application_reviewed"]


async def test_a_retried_application_replays_the_case_it_opened(service):
    app, store, _ = service
    async with client(app) as c:
        key = {"Idempotency-Key": "apply-0001"}
        first = await c.post("/applications", json=WAGES, headers=key)
        again = await c.post("/applications", json=WAGES, headers=key)
        assert first.status_code == again.status_code == 201
        assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replay"] == "true"
        assert "Idempotent-Replay" not in first.headers
        other = await c.post("/applications", json=WAGES)  # no key: a second application
        assert other.json()["id"] != first.json()["id"]
    assert types(store) == ["application_received", "application_received"]


async def test_a_key_reused_on_another_case_is_refused_and_on_another_route_is_another_key(service):
    app, store, _ = service
    async with client(app) as c:
        a = (await c.post("/applications", json=WAGES)).json()["id"]
        b = (await c.post("/applications", json=WAGES)).json()["id"]
        key = {"Idempotency-Key": "review-key-1"}
        assert (await c.post(f"/applications/{a}/review", json={}, headers=key)).json()["status"] == "granted"
        retry = await c.post(f"/applications/{a}/review", json={}, headers=key)
        assert retry.status_code == 200 and retry.headers["Idempotent-Replay"] == "true"
        before = len(store.all_events())
        r = await c.post(f"/applications/{b}/review", json={}, headers=key)
        assert r.status_code == 409 and r.json()["title"] == "idempotency_key_reused"
        assert r.json()["errors"][0]["field"] == "Idempotency-Key"
        assert len(store.all_events()) == before and (await c.get(f"/applications/{b}")).json()["status"] == "applied"
        r = await c.post(f"/applications/{a}/assign", json={"provider_id": "bb-lawyer-001"}, headers=key)
        assert r.status_code == 200 and r.json()["status"] == "assigned"  # another route: another key


async def test_a_court_notice_over_http_and_on_kafka_opens_one_case(service):
    app, store, _ = service
    reference = "(2026)皖0304刑初7号"
    async with client(app, ["partner:court"], subject="partner:court") as court:
        r = await court.post("/notices", json=court_notice(reference))
        assert r.status_code == 201 and r.json()["status"] == "granted" and r.json()["kind"] == "notified_defence"
        assert r.json()["id"] == notice_case_id("court", reference, "notified_defence")
    payload = NotifiedDefenceRequested(**{k: v for k, v in court_notice(reference).items() if k != "organ"})
    env = Envelope.wrap(payload, source="partner/court", subject=reference, correlationid="c-7", actor="partner:court")
    on_notice = consumers.partner_handlers(app.state.legal_aid)[NotifiedDefenceRequested]
    await on_notice(env, payload)
    await on_notice(env, payload)  # redelivered
    assert types(store) == ["defence_notified"]
