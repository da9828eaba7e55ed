"""Intake API over in-memory fakes (event store, read model, vault): scopes, the lifecycle, problem+json."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.intake.config import Settings
from services.intake.main import create_app
from shared.pii import ERASED
from shared.settings import PlatformSettings
from tests.conftest import token
from tests.fakes import memory_adapters

SETTINGS = PlatformSettings()
COUNTY = "431002000000"


class Clock:
    """The fixture's clock, moved by tests through `now[0]`."""

    def __init__(self, now: list[datetime]) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now[0]


@pytest.fixture
def service():
    now = [datetime(2026, 3, 2, 9, 0, tzinfo=UTC)]
    adapters = memory_adapters(Clock(now))
    app = create_app(Settings(platform=SETTINGS), **adapters)
    return app, adapters["store"], now


def client(app, scopes=("intake:read", "intake:write", "intake:admin")) -> httpx.AsyncClient:
    headers = token(SETTINGS, "dept:intake", list(scopes))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers)


def walk_in(**extra: Any) -> dict[str, Any]:
    return {
        "channel": "walk_in",
        "level": "county",
        "region": COUNTY,
        "kind": "consultation",
        "topic": "labour",
    } | extra


async def test_walk_in_story_through_the_api(service):
    app, store, now = service
    async with client(app) as c:
        r = await c.post("/requests", json=walk_in())
        assert r.status_code == 201
        rid = r.json()["request_id"]
        assert r.json()["correlation_id"] == rid
        now[0] += timedelta(minutes=9)
        assert (await c.post(f"/requests/{rid}/answer", json={"on_the_spot": True})).json()["status"] == "answered"
        assert (await c.post(f"/requests/{rid}/close")).json()["outcome"] == "answered"
        r = await c.post(f"/requests/{rid}/evaluate", json={"satisfaction": 4})
        assert r.json()["satisfaction"] == 4 and r.json()["status"] == "evaluated"
        assert (await c.get(f"/requests/{rid}")).json()["status"] == "evaluated"
    types = [e.type.rsplit(".", 1)[1] for e in store.all_events()]
    assert types == ["request_received", "request_answered", "request_closed", "request_evaluated"]
    assert store.all_events()[2].data["handling_seconds"] == 540


async def test_scopes_are_enforced(service):
    app, store, _ = service
    async with client(app, ["intake:read"]) as reader:
        r = await reader.post("/requests", json=walk_in())
        assert r.status_code == 403 and "intake:write" in r.json()["detail"]
    async with client(app, ["intake:write"]) as writer:
        assert (await writer.post(f"/advisors/{'431002001001'}/assign", json={"advisor_id": "a1"})).status_code == 403
        assert (await writer.delete(f"/persons/p-{'a' * 32}")).status_code == 403
        assert (await writer.get("/requests")).status_code == 403
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as anonymous:
        r = await anonymous.get("/requests")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert store.all_events() == []


async def test_invalid_transition_is_a_409_problem_naming_state_and_command(service):
    app, _, _ = service
    async with client(app) as c:
        rid = (await c.post("/requests", json=walk_in())).json()["request_id"]
        r = await c.post(f"/requests/{rid}/close")
        assert r.status_code == 409
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["title"] == "invalid_transition"
        assert r.json()["detail"] == "cannot close a case in state 'received'"


async def test_person_is_kept_out_of_events_and_read_back_from_the_vault(service):
    app, store, _ = service
    person = {"name": "赵六", "id_number": "431002198506121230", "phone": "13800138000"}
    async with client(app) as c:
        rid = (await c.post("/requests", json=walk_in(person=person))).json()["request_id"]
        seen = (await c.get(f"/requests/{rid}/person")).json()
        assert seen["name"] == "赵六"
        assert (await c.delete(f"/persons/{seen['person_ref']}")).status_code == 204
        assert (await c.get(f"/requests/{rid}/person")).json()["id_number"] == ERASED
    stored = str([e.data for e in store.all_events()])
    assert "赵六" not in stored and "431002198506121230" not in stored and seen["person_ref"] in stored


async def test_web_question_reply_and_hotline_call(service):
    app, store, now = service
    async with client(app) as c:
        q = (await c.post("/web/questions", json={"region": COUNTY, "topic": "inheritance"})).json()
        assert q["channel"] == "web_12348" and q["level"] is None
        now[0] += timedelta(minutes=301)
        assert (await c.post(f"/requests/{q['request_id']}/reply")).json()["reply_minutes"] == 301
        call = (await c.post("/calls", json={"region": COUNTY})).json()
        now[0] += timedelta(seconds=40)
        abandoned = (await c.post(f"/calls/{call['call_id']}/abandon")).json()
        assert abandoned["status"] == "abandoned" and abandoned["wait_seconds"] == 40
        assert (await c.post(f"/calls/{call['call_id']}/answer")).status_code == 409
    assert "caseflow.intake.call_abandoned" in [e.type for e in store.all_events()]


async def test_idempotency_key_makes_a_retried_post_a_replay(service):
    app, store, _ = service
    async with client(app) as c:
        key = {"Idempotency-Key": "unit-retry-1"}
        a = await c.post("/requests", json=walk_in(), headers=key)
        b = await c.post("/requests", json=walk_in(), headers=key)
        assert a.json()["request_id"] == b.json()["request_id"] and b.headers["Idempotent-Replay"] == "true"
        bad = await c.post("/requests", json=walk_in(), headers={"Idempotency-Key": "x"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert len(store.all_events()) == 1


async def test_an_idempotency_key_reused_on_another_case_is_refused(service):
    app, store, _ = service
    async with client(app) as c:
        a = (await c.post("/requests", json=walk_in())).json()["request_id"]
        b = (await c.post("/requests", json=walk_in())).json()["request_id"]
        key = {"Idempotency-Key": "answer-key-1"}
        assert (await c.post(f"/requests/{a}/answer", headers=key)).status_code == 200
        r = await c.post(f"/requests/{b}/answer", headers=key)
        assert r.status_code == 409 and r.json()["errors"][0]["field"] == "Idempotency-Key"
        assert (await c.get(f"/requests/{b}")).json()["status"] == "received"


async def test_lists_page_by_cursor_to_the_end_without_repeats(service):
    app, _, now = service
    async with client(app) as c:
        made = []
        for _ in range(7):
            now[0] += timedelta(minutes=1)
            made.append((await c.post("/requests", json=walk_in())).json()["request_id"])
        seen, after = [], None
        while True:
            params = {"limit": 3, **({"after": after} if after else {})}
            page = (await c.get("/requests", params=params)).json()
            seen += [r["request_id"] for r in page["items"]]
            after = page["next"]
            if after is None:
                break
        assert seen == made[::-1]  # newest first, each once
        bad = await c.get("/requests", params={"after": "bm90LWEtY3Vyc29y"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "after"


async def test_a_live_web_consultation_is_offered_on_the_web_line_and_a_bad_line_is_refused(service):
    """Seed 002 (网络平台): 实时咨询 — a live consultation waits on line web_12348 like a hotline call; any other
    line is a 422 naming the field, and nothing is stored."""
    app, store, now = service
    async with client(app) as c:
        call = (await c.post("/calls", json={"region": COUNTY, "line": "web_12348"})).json()
        assert call["line"] == "web_12348"
        now[0] += timedelta(seconds=20)
        assert (await c.post(f"/calls/{call['call_id']}/answer")).json()["wait_seconds"] == 20
        before = len(store.commits)
        bad = await c.post("/calls", json={"region": COUNTY, "line": "walk_in"})
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
        assert bad.json()["errors"][0]["field"] == "line"
        assert len(store.commits) == before


async def test_an_advisor_is_assigned_with_a_qualification(service):
    """Seed 000 indicator 18 (律师、基层法律服务工作者担任村（社区）法律顾问的比例): the registry keeps each advisor's
    qualification; an unknown one is a 422."""
    app, _, _ = service
    async with client(app) as c:
        r = await c.post("/advisors/431002001001/assign", json={"advisor_id": "a1", "advisor_kind": "lawyer"})
        assert r.status_code == 200 and r.json()["advisor_kind"] == "lawyer"
        bad = await c.post("/advisors/431002001002/assign", json={"advisor_id": "a2", "advisor_kind": "judge"})
        assert bad.status_code == 422 and "advisor_kind" in bad.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/requests", walk_in(region="110101000000")),  # Beijing: not a region the platform serves
        ("/requests", walk_in(region="431021100000")),  # a town of Guiyang county the reference data does not list
        ("/requests", walk_in(region="430000000000")),  # Hunan province: named for roll-ups, served by no department
        ("/web/questions", {"region": "110101000000", "topic": "labour"}),
        ("/calls", {"region": "110101000000"}),
        ("/advisors/110101001001/assign", {"advisor_id": "adv-110-0001"}),
    ],
)
async def test_a_region_outside_the_reference_data_is_refused_at_the_front_door(service, path, body):
    """A request is received for a region the platform serves (DOMAIN: the five jurisdictions of seeds 000–004
    and their divisions in the reference data): anything else is 422 naming the field and the rule, nothing stored,
    so no department is referred a case for a region it does not serve (issue 20)."""
    app, store, _ = service
    async with client(app) as c:
        r = await c.post(path, json=body)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    [error] = r.json()["errors"]
    assert error["field"].endswith("region") and "reference data" in error["reason"], error
    assert store.all_events() == []


async def test_switchboard_times_count_a_call_when_it_happened(service):
    """A call logged after the fact counts at the switchboard's times; the 30-second rate reads its wait (seed 002)."""
    app, store, now = service
    offered = now[0] - timedelta(days=300)
    async with client(app) as c:
        call = (await c.post("/calls", json={"region": COUNTY, "offered_at": offered.isoformat()})).json()
        assert call["offered_at"].startswith("2025-05-06")
        answered = (offered + timedelta(seconds=12)).isoformat()
        r = await c.post(f"/calls/{call['call_id']}/answer", json={"answered_at": answered})
        assert r.json()["wait_seconds"] == 12
    offered_env = next(e for e in store.all_events() if e.type == "caseflow.intake.call_offered")
    assert offered_env.time == offered  # the metrics count it in last year


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"offered_at": "2026-03-02T10:00:00+00:00"}, "offered_at"),  # an hour ahead of the clock
        ({"offered_at": "2024-12-31T12:00:00+00:00"}, "offered_at"),  # before the previous calendar year
        ({"offered_at": "2026-03-02T09:00:00"}, "offered_at"),  # no timezone
    ],
)
async def test_switchboard_times_out_of_bounds_are_refused(service, body, field):
    app, store, _ = service
    async with client(app) as c:
        r = await c.post("/calls", json={"region": COUNTY, **body})
    assert r.status_code == 422 and field in r.text
    assert store.all_events() == []


async def test_a_call_is_not_answered_before_it_was_offered(service):
    app, store, now = service
    async with client(app) as c:
        call = (await c.post("/calls", json={"region": COUNTY})).json()
        early = (now[0] - timedelta(seconds=5)).isoformat()
        r = await c.post(f"/calls/{call['call_id']}/answer", json={"answered_at": early})
    assert r.status_code == 422 and "answered_at" in r.text
    assert [e.type for e in store.all_events()] == ["caseflow.intake.call_offered"]
