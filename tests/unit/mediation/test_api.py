"""The HTTP API over in-memory fakes: validation, scopes, problem+json refusals, idempotency, partner referrals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.mediation.config import Settings
from services.mediation.handlers import referral_dispute_id
from services.mediation.main import create_app
from shared.auth import issue_token
from shared.calendar import CHINA
from shared.settings import PlatformSettings
from tests.fakes import FixedClock, memory_adapters

NOW = datetime(2026, 5, 6, 8, 0, tzinfo=UTC)
P1, P2 = "p-" + "c" * 32, "p-" + "d" * 32


@pytest.fixture
def platform() -> PlatformSettings:
    return PlatformSettings()


@pytest.fixture
def adapters() -> dict[str, Any]:
    return memory_adapters(FixedClock(NOW))


@pytest.fixture
def app(platform, adapters):
    return create_app(Settings(platform=platform, sweep_interval_seconds=0), **adapters)


@pytest.fixture
def store(adapters):
    return adapters["store"]


def auth(platform, sub="dept:mediation", scopes=("mediation:read", "mediation:write")) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(platform, sub, list(scopes))}"}


@pytest.fixture
async def client(app, platform):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://m") as c:
        c.headers.update(auth(platform))
        yield c


COURT_REFERRAL = {
    "partner_reference": "(2026)粤0204民诉前调7号",
    "kind": "court_pre_litigation",
    "dispute_type": "property_management",
    "region": "440204001000",
    "parties": [P1, P2],
    "summary": "物业费拖欠",
    "referred_at": NOW.isoformat(),
}
WALK_IN = {
    "dispute_type": "marriage_family",
    "region": "420703100203",  # 鄂州市华容区华容镇龙港村
    "parties": [{"person_ref": P1}, {"person": {"name": "李四", "id_number": "11010519491231002X"}}],
    "claim": "赡养费纠纷",
}


async def test_walk_in_registration_keeps_personal_data_out_of_the_dispute(client):
    r = await client.post("/disputes", json=WALK_IN)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "registered" and body["events"] == ["caseflow.mediation.dispute_registered"]
    view = (await client.get(f"/disputes/{body['dispute_id']}")).json()
    assert view["parties"][0] == P1 and view["parties"][1].startswith("p-")
    assert "李四" not in str(view) and view["flags"]["time_limit"] == "due"
    # 16:00 on 6 May China time: day 30 is Fri 5 June, ending at 24:00 China time (民法典 arts. 201, 203)
    assert datetime.fromisoformat(view["due_by"]) == datetime(2026, 6, 6, tzinfo=CHINA)


@pytest.mark.parametrize(
    "patch,field",
    [
        ({"region": "4207"}, "region"),
        ({"dispute_type": ""}, "dispute_type"),
        ({"parties": []}, "parties"),
        ({"parties": [{"person_ref": "bob"}]}, "parties.0.person_ref"),
        ({"parties": [{}]}, "parties.0"),
        ({"source": "police_110"}, "source"),
        ({"source": "petition"}, "body"),  # a petition referral without the office's reference
        ({"registered_at": "2026-05-01T08:00:00"}, "registered_at"),  # no timezone
        ({"registered_at": "2024-12-20T08:00:00+08:00"}, "registered_at"),  # outside the holiday calendar
    ],
)
async def test_bad_registration_is_422_naming_the_field(client, patch, field):
    r = await client.post("/disputes", json={**WALK_IN, **patch})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert any(e["field"] == field for e in r.json()["errors"]), r.json()


async def test_future_acts_and_uncovered_disputes_are_refused(client):
    r = await client.post("/disputes", json={**WALK_IN, "registered_at": (NOW + timedelta(days=1)).isoformat()})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "at"
    r = await client.post("/disputes", json={**WALK_IN, "region": "340304000000"})  # 禹会区: no family committee
    assert r.status_code == 409 and "no mediation committee" in r.json()["detail"]
    r = await client.post("/disputes", json={**WALK_IN, "region": "110101001001"})  # Beijing: not served at all
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "region"


async def test_scopes_are_enforced(client, platform):
    assert (await client.get("/disputes/x", headers={"Authorization": ""})).status_code == 401
    reader = auth(platform, scopes=("mediation:read",))
    assert (await client.post("/disputes", json=WALK_IN, headers=reader)).status_code == 403
    police = auth(platform, "partner:police", ("partner:police",))
    assert (await client.get("/committees", headers=police)).status_code == 403


async def test_idempotency_key_replays_the_first_outcome(client, store):
    h = {"Idempotency-Key": "reg-000001"}
    first = (await client.post("/disputes", json=WALK_IN, headers=h)).json()
    second = (await client.post("/disputes", json=WALK_IN, headers=h)).json()
    assert second["dispute_id"] == first["dispute_id"] and second["duplicate"] is True
    assert len(store.commits) == 1


async def test_a_key_reused_on_another_dispute_is_refused_and_on_another_route_is_another_key(client, store):
    a = (await client.post("/disputes", json=WALK_IN)).json()["dispute_id"]
    b = (await client.post("/disputes", json=WALK_IN)).json()["dispute_id"]
    key = {"Idempotency-Key": "assign-key-0001"}
    first = await client.post(f"/disputes/{a}/assign", json={}, headers=key)
    assert first.status_code == 200 and "Idempotent-Replay" not in first.headers
    retry = await client.post(f"/disputes/{a}/assign", json={}, headers=key)
    assert retry.json()["duplicate"] is True and retry.headers["Idempotent-Replay"] == "true"
    before = len(store.commits)
    r = await client.post(f"/disputes/{b}/assign", json={}, headers=key)
    assert r.status_code == 409 and r.json()["title"] == "idempotency_key_reused"
    assert r.json()["errors"][0]["field"] == "Idempotency-Key"
    assert len(store.commits) == before and (await client.get(f"/disputes/{b}")).json()["status"] == "registered"
    session = await client.post(f"/disputes/{a}/sessions", json={"minutes": "首次调解"}, headers=key)
    assert session.status_code == 200 and session.json()["duplicate"] is False  # another route: another key


async def test_an_act_recorded_later_counts_at_its_time_but_never_in_the_future(client):
    d = (await client.post("/disputes", json=WALK_IN)).json()["dispute_id"]
    assert (await client.post(f"/disputes/{d}/assign", json={})).status_code == 200
    r = await client.post(
        f"/disputes/{d}/sessions", json={"minutes": "m", "at": (NOW + timedelta(hours=1)).isoformat()}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "at"
    r = await client.post(f"/disputes/{d}/sessions", json={"minutes": "m", "at": "2026-05-06T07:00:00"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "at"  # no timezone
    within_skew = (NOW + timedelta(minutes=4)).isoformat()
    assert (await client.post(f"/disputes/{d}/sessions", json={"minutes": "m", "at": within_skew})).status_code == 200
    view = (await client.get(f"/disputes/{d}")).json()
    assert view["sessions"] == 1 and view["status"] == "in_mediation"


async def test_organs_choosing_the_same_key_never_meet(client, platform):
    """Each organ's key names its own referral: another organ's same key is not a replay of (or a refusal naming)
    its dispute; an organ reusing its key for another referral is refused."""
    key = {"Idempotency-Key": "referral-0001"}
    court = auth(platform, "partner:court", ("partner:court",)) | key
    police = auth(platform, "partner:police", ("partner:police",)) | key
    by_court = {**COURT_REFERRAL, "partner_reference": "(2026)粤0204民诉前调8号"}
    by_police = {**by_court, "partner_reference": "110-0001", "kind": "police_110", "dispute_type": "neighbourhood"}
    by_police["region"] = "431002001000"
    c = await client.post("/referrals", json=by_court, headers=court)
    p = await client.post("/referrals", json=by_police, headers=police)
    assert c.status_code == p.status_code == 201, (c.text, p.text)
    assert c.json()["dispute_id"] == referral_dispute_id("court", by_court["partner_reference"])
    assert p.json()["dispute_id"] == referral_dispute_id("police", "110-0001")
    assert "Idempotent-Replay" not in p.headers
    again = await client.post("/referrals", json=by_court, headers=court)
    assert again.json() == c.json() and again.headers["Idempotent-Replay"] == "true"
    other = await client.post("/referrals", json={**by_court, "partner_reference": "(2026)9号"}, headers=court)
    assert other.status_code == 409 and other.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_lifecycle_refusals_are_problem_json(client):
    dispute_id = (await client.post("/disputes", json=WALK_IN)).json()["dispute_id"]
    r = await client.post(f"/disputes/{dispute_id}/agreement", json={"terms": "x"})
    assert r.status_code == 409 and r.json()["errors"] == [
        {"field": "mediator_id", "reason": "an agreement needs an assigned mediator; none is assigned"}
    ]
    r = await client.post(f"/disputes/{dispute_id}/assign", json={"committee_id": "440200-medical"})
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "committee_id"
    r = await client.post(f"/disputes/{dispute_id}/assign", json={"committee_id": "no-such"})
    assert r.status_code == 404
    r = await client.post(f"/disputes/{dispute_id}/assign", json={})
    assert r.status_code == 200 and r.json()["status"] == "assigned"
    r = await client.post(f"/disputes/{dispute_id}/follow-up", json={"fulfilment": "maybe"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "fulfilment"
    r = await client.post(f"/disputes/{dispute_id}/archive", json={})
    assert r.status_code == 409 and r.json()["title"] == "invalid_transition"
    assert (await client.post("/disputes/md-nope/archive", json={})).status_code == 404
    r = await client.post("/disputes/md-nope/assign", json={})
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "dispute_id"


async def test_partner_referral_over_http_is_acknowledged_and_a_resend_changes_nothing(client, platform, store):
    court = auth(platform, "partner:court", ("partner:court",))
    body = COURT_REFERRAL
    r = await client.post("/referrals", json=body, headers=court)
    assert r.status_code == 201, r.text
    assert r.json()["decision"] == "accepted"
    assert r.json()["dispute_id"] == referral_dispute_id("court", body["partner_reference"])
    again = await client.post("/referrals", json=body, headers=court)
    assert again.json()["dispute_id"] == r.json()["dispute_id"]
    assert len(store.commits) == 1
    declined = await client.post(
        "/referrals", json={**body, "partner_reference": "r2", "dispute_type": "ufo"}, headers=court
    )
    assert declined.json()["decision"] == "declined" and "unknown dispute type" in declined.json()["reason"]
    r = await client.post("/referrals", json={**body, "kind": "police_110"}, headers=court)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "kind"
    r = await client.post("/referrals", json={k: v for k, v in body.items() if k != "dispute_type"}, headers=court)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "dispute_type"
    assert (await client.post("/referrals", json=body)).status_code == 403  # staff are no referring organ


async def test_committees_by_region_and_type(client):
    r = await client.get("/committees", params={"region": "340302001000", "dispute_type": "minor_criminal"})
    ids = [c["id"] for c in r.json()["items"]]
    assert ids == ["340302001-town", "340302-procuratorate"]  # the most local first
    assert r.json()["dispute_types"]["medical"] == "医疗纠纷"
    assert (await client.get("/committees", params={"region": "12"})).status_code == 422


async def test_unknown_worklist_is_422(client):
    assert (await client.get("/worklists/everything")).status_code == 422
    assert (await client.get("/worklists/awaiting-assignment")).status_code == 200


async def test_procuratorate_reconciliation_over_http_through_court_ruling_to_archive(client, platform, store):
    """检调对接: referral → assignment to the stationed room → agreement → court rules over HTTP → archive."""
    procuratorate = auth(platform, "partner:procuratorate", ("partner:procuratorate",))
    body = {
        "partner_reference": "鄂城检刑和解〔2026〕3号",
        "kind": "procuratorate_reconciliation",
        "dispute_type": "minor_criminal",
        "region": "420704001000",
        "parties": [P1, P2],
        "summary": "轻伤害案件, 双方有和解意愿",
        "referred_at": NOW.isoformat(),
        "correlation_id": "corr-proc-3",
    }
    ack = (await client.post("/referrals", json=body, headers=procuratorate)).json()
    assert ack["decision"] == "accepted" and ack["correlation_id"] == "corr-proc-3"
    d = ack["dispute_id"]
    assert (await client.post(f"/disputes/{d}/assign", json={})).json()["status"] == "assigned"
    assert (await client.get(f"/disputes/{d}")).json()["committee_id"] == "420704-procuratorate"
    r = await client.post(f"/disputes/{d}/agreement", json={"terms": "赔偿医疗费一万元, 被害人出具谅解书"})
    assert r.json()["events"] == ["caseflow.mediation.agreement_signed", "caseflow.mediation.outcome_notified"]
    assert (await client.post(f"/disputes/{d}/request-confirmation", json={})).status_code == 200
    ruling = {"outcome": "rejected", "reason": "超出司法确认范围", "decided_at": NOW.isoformat()}
    assert (await client.post(f"/disputes/{d}/confirmation-ruling", json=ruling)).status_code == 403  # staff
    court = auth(platform, "partner:court", ("partner:court",))
    r = await client.post(f"/disputes/{d}/confirmation-ruling", json=ruling, headers=court)
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    notices = [e for e in store.all_events() if e.type.endswith("outcome_notified")]
    assert [n.data["outcome"] for n in notices] == ["agreement", "rejected"]
    assert {n.data["recipient"] for n in notices} == {"procuratorate"}
    assert {n.correlationid for n in notices} == {"corr-proc-3"}
    r = await client.post(f"/disputes/{d}/archive", json={})
    assert r.status_code == 200 and r.json()["status"] == "archived"  # two parties, not a complex type: no visit


async def test_registry_changes_are_events_and_steer_assignment(client, platform):
    admin = auth(platform, scopes=("mediation:read", "mediation:write", "mediation:admin"))
    assert (
        await client.post("/committees/340300-labour/mediators", json={"mediator_id": "m-x1", "display_name": "x"})
    ).status_code == 403
    body = {
        "committee_id": "340311-property",
        "name": "蚌埠市淮上区物业纠纷人民调解委员会",
        "kind": "trade",
        "regions": ["340311000000"],
        "dispute_types": ["property_management"],
    }
    r = await client.post("/committees", json={**body, "dispute_types": ["ufo"]}, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "dispute_types"
    r = await client.post("/committees", json=body, headers=admin)
    assert r.status_code == 201 and r.json()["events"] == ["caseflow.mediation.committee_registered"]
    mediator = {
        "mediator_id": "m-340311-property-1",
        "display_name": "钱调解员",
        "specialisms": ["property_management"],
    }
    r = await client.post("/committees/340311-property/mediators", json=mediator, headers=admin)
    assert r.status_code == 201 and [m["id"] for m in r.json()["mediators"]] == ["m-340311-property-1"]
    r = await client.post(
        "/committees/340311-property/mediators", json={**mediator, "specialisms": ["medical"]}, headers=admin
    )
    assert r.status_code == 409  # the id is taken on this committee with other details

    walk_in = {**WALK_IN, "region": "340311100000", "dispute_type": "property_management"}
    d = (await client.post("/disputes", json=walk_in)).json()["dispute_id"]  # covered only by the new committee
    r = await client.post(f"/disputes/{d}/assign", json={"mediator_id": "m-340311-property-1"})
    assert r.status_code == 200 and (await client.get(f"/disputes/{d}")).json()["committee_id"] == "340311-property"

    # a seed committee is adopted into a stream on its first change, its mediators with it
    medical = {**WALK_IN, "region": "340302001000", "dispute_type": "medical"}
    d = (await client.post("/disputes", json=medical)).json()["dispute_id"]
    r = await client.post(
        "/committees/340300-medical/mediators/m-340300-medical-1/deactivate", json={"reason": "调离"}, headers=admin
    )
    assert r.status_code == 200
    assert r.json()["events"] == ["caseflow.mediation.mediator_deactivated"]
    assert {m["id"]: m["active"] for m in r.json()["mediators"]}["m-340300-medical-1"] is False
    r = await client.post(f"/disputes/{d}/assign", json={"mediator_id": "m-340300-medical-1"})
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "mediator_id"
    r = await client.post("/disputes", json=medical)  # the city's only medical mediator left: nobody covers it
    assert r.status_code == 409 and "active mediator" in r.json()["detail"]
    r = await client.post(
        "/committees/340300-medical/mediators/m-nobody/deactivate", json={"reason": "x"}, headers=admin
    )
    assert r.status_code == 404


async def test_the_dispute_list_pages_by_cursor_through_ties(client):
    made = {(await client.post("/disputes", json=WALK_IN)).json()["dispute_id"] for _ in range(5)}
    seen, after = [], None
    while True:  # every dispute registered at the same instant: the id breaks the tie
        page = (await client.get("/disputes", params={"limit": 2, **({"after": after} if after else {})})).json()
        seen += [d["dispute_id"] for d in page["items"]]
        if (after := page["next"]) is None:
            break
    assert sorted(seen) == sorted(made) and len(seen) == len(made)
