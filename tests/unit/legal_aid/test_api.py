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
        assert granted["decision"] == "granted" and "threshold 1,900.00 (2.5 × 760.00 低保" in granted["reason"]
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
        assert view["provider_id"] == "bb-lawyer-001" and view["quality_score"] == 88 and view["subsidy"] == "1200.00"
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


def problem_fields(r: httpx.Response) -> dict[str, str]:
    assert r.headers["content-type"].startswith("application/problem+json"), r.text
    return {e["field"]: e["reason"] for e in r.json()["errors"]}


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("apply", WAGES | {"household_income_per_head": 1899.999}),
        ("apply", WAGES | {"household_income_per_head": "1899.999"}),
        ("apply", WAGES | {"household_income_per_head": 0.1 + 0.2}),  # 0.30000000000000004
        ("review", {"household_income_per_head": 1200.001}),
        ("subsidy", {"amount": 800.005}),
        ("fee-waivers", {"notary_matter": "birth", "waiver": 0.333}),
    ],
)
async def test_an_amount_finer_than_a_fen_is_refused_and_nothing_is_stored(service, route, body):
    """Seed 004's threshold and every amount are in yuan to the fen (分): a third decimal is refused with 422
    problem+json naming the field and the rule, and no event is written."""
    app, store, _ = service
    async with client(app) as c:
        cid = None
        if route != "apply":
            cid = (await c.post("/applications", json=WAGES)).json()["id"]
        if route == "fee-waivers":
            assert (await c.post(f"/applications/{cid}/review", json={})).status_code == 200
        if route == "subsidy":
            for step, step_body in [
                ("review", {}),
                ("assign", {"provider_id": "bb-lawyer-001"}),
                ("close", {"outcome": "mediated"}),
                ("quality-review", {"score": 90, "method": "file_review"}),
            ]:
                assert (await c.post(f"/applications/{cid}/{step}", json=step_body)).status_code == 200
        before = types(store)
        path = "/applications" if route == "apply" else f"/applications/{cid}/{route}"
        r = await c.post(path, json=body)
        assert r.status_code == 422
        field = {"subsidy": "amount", "fee-waivers": "waiver"}.get(route, "household_income_per_head")
        assert "at most two decimal places" in problem_fields(r)[field]
    assert types(store) == before


async def test_amounts_are_exact_decimals_in_the_events(service):
    """Seed 004 (2.5 × 低保): the income typed in, the threshold applied and the subsidy are exact decimals in the
    events (JSON strings), and the reason states both amounts to the fen."""
    app, store, _ = service
    async with client(app) as c:
        cid = (await c.post("/applications", json=WAGES | {"household_income_per_head": "1899.99"})).json()["id"]
        reviewed = (await c.post(f"/applications/{cid}/review", json={})).json()
        assert "1,899.99 yuan/month < threshold 1,900.00 (2.5 × 760.00 低保, 蚌埠市 Bengbu)" in reviewed["reason"]
    received, review = store.all_events()
    assert received.data["household_income_per_head"] == "1899.99"
    assert review.data["threshold"] == "1900.00" and review.data["decision"] == "granted"


async def test_an_unknown_exemption_ground_is_refused_and_nothing_is_stored(service):
    """法律援助法 arts. 32, 42 and seed 001 list the grounds that skip the economic test: any other is a 422 naming
    the field, with nothing stored (the vault included)."""
    app, store, _ = service
    async with client(app) as c:
        r = await c.post("/applications", json=WAGES | {"special_groups": ["brave_act", "celebrity"]})
        assert r.status_code == 422
        assert "special_groups.1" in problem_fields(r)
        cid = (await c.post("/applications", json=WAGES)).json()["id"]
        r = await c.post(f"/applications/{cid}/review", json={"special_groups": ["poverty"]})
        assert r.status_code == 422 and "special_groups.0" in problem_fields(r)
    assert types(store) == ["application_received"]


async def test_an_exemption_ground_granted_over_http_cites_its_article(service):
    """法律援助法 art. 32(4): a victim of domestic violence skips the economic test, whatever the income."""
    app, _, _ = service
    family = WAGES | {"matter_type": "family", "household_income_per_head": 90000, "special_groups": ["abuse_victim"]}
    async with client(app) as c:
        cid = (await c.post("/applications", json=family)).json()["id"]
        reviewed = (await c.post(f"/applications/{cid}/review", json={})).json()
    assert reviewed["decision"] == "granted" and "法律援助法 art. 32(4)" in reviewed["reason"]


async def test_supplement_pause_over_http(service):
    """法律援助法 art. 43: while the applicant supplements materials the review deadline is paused, not missed; on
    receipt it runs again for the days left (applied Mon 2 March, asked the same day, received Wed 11 March)."""
    app, store, clock = service
    async with client(app) as c:
        cid = (await c.post("/applications", json=WAGES)).json()["id"]
        r = await c.post(f"/applications/{cid}/supplement-request", json={"missing": "工资条"})
        assert r.status_code == 200 and r.json()["awaiting_supplement"] is True
        clock.advance(days=9)
        paused = (await c.get(f"/applications/{cid}")).json()["deadlines"][0]
        assert (paused["status"], paused["due_at"]) == ("paused", None)
        assert (await c.get("/applications", params={"overdue": "true"})).json() == []
        assert (await c.post(f"/applications/{cid}/review", json={})).status_code == 409
        resumed = (await c.post(f"/applications/{cid}/supplement")).json()
        assert resumed["deadlines"][0]["due_at"] == "2026-03-19T00:00:00+08:00"  # 12..18 March, to 24:00
        assert types(store)[-2:] == ["supplement_requested", "supplement_received"]


async def test_a_notice_dated_outside_the_calendar_is_422_and_nothing_is_stored(service):
    """A date outside the calendar's covered years cannot start a deadline: 422 naming the field and the rule."""
    app, store, _ = service
    async with client(app, ["partner:court"], subject="partner:court") as court:
        r = await court.post(
            "/notices", json=court_notice("(2024)皖0304刑初9号", notified_at="2024-12-20T08:00:00+08:00")
        )
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
        [error] = r.json()["errors"]
        assert (
            error["field"] == "notified_defence.notified_at"
            and "holiday calendar covers (2025, 2026, 2027)" in error["reason"]
        )
    assert store.all_events() == []


async def test_a_deadline_running_past_the_calendar_is_422_and_nothing_is_stored(service):
    """The calendar never guesses: an application on 28 Dec 2027 would have its review end in 2028, a year whose
    holidays are unknown, so it is refused (outside_calendar) rather than given a guessed deadline."""
    app, store, clock = service
    clock.advance(days=666)  # 2027-12-28, 17:00 in China
    async with client(app) as c:
        r = await c.post("/applications", json=WAGES)
    assert r.status_code == 422 and r.json()["title"] == "outside_calendar"
    assert "2028-01-04" in r.json()["detail"] and "2025, 2026, 2027" in r.json()["detail"]
    assert store.all_events() == []
