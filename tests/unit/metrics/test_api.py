"""The query API over an in-memory engine (no Kafka): values, scorecard, series, timeline, progress, errors."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from services.metrics.config import Settings
from services.metrics.main import create_app
from shared.settings import PlatformSettings
from tests.conftest import token
from tests.unit.metrics.helpers import CHENZHOU_VILLAGE, TODAY_NOON, assigned, env, notified

NOW = TODAY_NOON  # the app's clock, pinned: its calendar day holds every event below
CHENZHOU = "431000000000"


@pytest.fixture
async def client():
    settings = Settings(follow=False, platform=PlatformSettings(topic_prefix="unitmetrics"))
    app = create_app(settings, clock=lambda: NOW)
    engine = app.state.engine
    engine.apply(notified("la-1", at=NOW - timedelta(hours=2)), NOW)
    engine.apply(assigned("la-1", NOW - timedelta(hours=1)), NOW)
    engine.apply(notified("la-2", at=NOW - timedelta(hours=2)), NOW)
    headers = token(settings.platform, "dept:ops", ["metrics:read"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers) as c:
        yield c


async def test_value_with_numerator_denominator_target_and_status(client):
    r = await client.get("/indicators/criminal_aid_coverage", params={"region": CHENZHOU, "period": "last-24h"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["numerator"], body["denominator"], body["value"], body["status"]) == (1, 2, 50.0, "not_met")
    assert body["target"]["value"] == 100 and body["name_zh"] == "刑事法律援助覆盖率"


async def test_scorecard_lists_every_indicator_and_series_has_points(client):
    r = await client.get(f"/regions/{CHENZHOU}/scorecard", params={"period": "last-7d"})
    assert r.status_code == 200
    cards = {c["indicator"]: c for c in r.json()}
    assert len(cards) == 23 and cards["criminal_aid_coverage"]["denominator"] == 2
    assert cards["mediation_success"]["status"] == "no_data"
    s = await client.get("/indicators/criminal_aid_coverage/series", params={"region": CHENZHOU, "points": 3})
    assert [p["period"][:4] for p in s.json()] == ["day:"] * 3 and s.json()[-1]["denominator"] == 2


async def test_timeline_by_case_id_or_partner_reference_and_progress(client):
    tl = (await client.get("/cases/ref-la-1/timeline")).json()
    assert tl["correlation_id"] == "la-1" and [d["status"] for d in tl["deadlines"]] == ["met"]
    p = (await client.get("/cases/la-2/progress")).json()
    assert p["status"] == "defence_notified" and p["next_step"]["step_zh"] == "3日内指派"
    assert (await client.get("/cases/nope/timeline")).status_code == 404


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/indicators/bogus", {"region": CHENZHOU}, 404, "indicator"),
        ("/indicators/criminal_aid_coverage", {"region": "999999000000"}, 404, "region"),
        ("/indicators/criminal_aid_coverage", {"region": "4310"}, 422, "query.region"),
        ("/indicators/criminal_aid_coverage", {"region": CHENZHOU, "period": "week:1"}, 422, "period"),
    ],
)
async def test_unknown_indicator_region_period_are_named(client, path, params, status, field):
    r = await client.get(path, params=params)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == field


async def test_scope_is_required(client):
    r = await client.get("/indicators", headers={"Authorization": "Bearer x"})
    assert r.status_code == 401
    ok = await client.get("/indicators")
    assert {i["id"] for i in ok.json()} >= {"throughput", "advisor_hours"}
    assert CHENZHOU_VILLAGE


async def test_city_scorecards_show_every_indicator_with_its_target_for_each_reference_city(client):
    """Seeds 000–004 (DOMAIN.md reference data): the five reference cities, each with every indicator, the target
    that holds there (its own seed's, else the national default) and whether it is met."""
    r = await client.get("/scorecards", params={"period": "year"})
    assert r.status_code == 200
    cities = {c["profile"]: c for c in r.json()}
    assert set(cities) == {"431000", "420700", "440200", "500114", "340300"}
    for city in cities.values():
        assert len(city["cards"]) == 23 and city["region"] == city["profile"] + "000000"
        assert all(c["target"] is not None for c in city["cards"] if c["indicator"] != "throughput")
    shaoguan = {c["indicator"]: c for c in cities["440200"]["cards"]}
    assert shaoguan["aid_by_lawyers"]["target"]["value"] == 80 and shaoguan["aid_by_lawyers"]["target_from"] == "440200"
    assert shaoguan["advisor_hours"]["target"]["per"] == "year"
    chenzhou = {c["indicator"]: c for c in cities["431000"]["cards"]}
    assert chenzhou["criminal_aid_coverage"]["status"] == "not_met"  # la-2 has no lawyer assigned
    assert cities["500114"]["seed"] == "003" and {c["target_from"] for c in cities["500114"]["cards"]} <= {
        "default",
        None,
    }


async def test_advisor_villages_lists_each_village_and_refuses_a_day(client):
    """Seed 000 (每月提供不少于1次、4小时的现场法律服务): a region's villages with their hours for the month against
    4 h, those under target listed; a day has no per-village requirement (422 naming the period)."""
    r = await client.get("/regions/431002100000/advisor-villages", params={"period": "month"})
    assert r.status_code == 200
    body = r.json()
    assert body["required_hours"] == 4 and len(body["villages"]) == 14
    assert body["under_target"] == sorted(v["village"] for v in body["villages"])  # no hours logged yet
    assert "000" in body["source"]
    day = await client.get("/regions/431002100000/advisor-villages", params={"period": "day:2026-03-02"})
    assert day.status_code == 422 and day.json()["errors"][0]["field"] == "period"


async def test_a_replica_catching_up_marks_values_rebuilding_and_answers_settled_timelines(tmp_path):
    """A follower not yet caught up (its state rebuilt on start) marks every value as rebuilding, not complete;
    a closed case moved to the settled store (docs/decisions/0013) answers its timeline and progress as before."""
    settings = Settings(state_dir=tmp_path, platform=PlatformSettings(topic_prefix="unitmetrics"))
    app = create_app(settings, clock=lambda: NOW)  # follows, but its follower is never started here
    engine = app.state.engine
    engine.apply(notified("la-1", at=NOW - timedelta(hours=3)), NOW)
    engine.apply(assigned("la-1", NOW - timedelta(hours=2)), NOW)
    engine.apply(env("caseflow.legal_aid.case_closed", "la-1", NOW - timedelta(hours=1), outcome="concluded",
                     closed_at=NOW - timedelta(hours=1)), NOW)  # fmt: skip
    assert engine.evict_settled(NOW) == 1 and engine.cases == {}
    headers = token(settings.platform, "dept:ops", ["metrics:read"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers) as c:
        r = await c.get("/indicators/criminal_aid_coverage", params={"region": CHENZHOU, "period": "last-24h"})
        assert r.json()["rebuilding"] is True and r.json()["denominator"] == 1
        assert all(card["rebuilding"] for card in (await c.get(f"/regions/{CHENZHOU}/scorecard")).json())
        tl = (await c.get("/cases/ref-la-1/timeline")).json()
        assert tl["correlation_id"] == "la-1" and [d["status"] for d in tl["deadlines"]] == ["met"]
        assert (await c.get("/cases/la-1/progress")).json()["status"] == "case_closed"
        app.state.folder.ready.set()  # caught up
        r = await c.get("/indicators/criminal_aid_coverage", params={"region": CHENZHOU, "period": "last-24h"})
        assert r.json()["rebuilding"] is False
    engine.settled.close(remove=True)
