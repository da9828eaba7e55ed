"""Intake against the real Kafka + PostgreSQL: referral on the topic, concurrency, rebuild, erasure, bad input."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.intake.config import Settings
from services.intake.main import create_app
from shared.pii import ERASED, id_number_problem
from shared.settings import PlatformSettings
from shared.topics import Topics
from tests.conftest import token
from tests.integration.helpers import count_rows, drop_schemas, read_topic

pytestmark = pytest.mark.integration

COUNTY = "431002000000"
VILLAGE = "431002001001"
SCOPES = ["intake:read", "intake:write", "intake:admin"]


def id_number(first17: str = "43100219850612123") -> str:
    """A valid resident ID number (GB 11643 check digit) for the given 17 digits."""
    return next(first17 + c for c in "0123456789X" if id_number_problem(first17 + c) is None)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@asynccontextmanager
async def intake(platform: PlatformSettings) -> AsyncIterator[tuple[httpx.AsyncClient, object, Clock]]:
    clock = Clock()
    app = create_app(Settings(platform=platform), clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = token(platform, "dept:intake", SCOPES)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake", headers=headers) as client:
            yield client, app, clock
    await drop_schemas(platform, "intake")


def walk_in(**extra) -> dict:
    return {"channel": "walk_in", "level": "county", "region": COUNTY, "kind": "help", "topic": "labour", **extra}


async def test_referral_to_legal_aid_is_published_with_case_key_headers_and_correlation(platform):
    async with intake(platform) as (client, _app, _clock):
        person = {"name": "张三", "id_number": id_number(), "phone": "13800138000"}
        r = await client.post("/requests", json=walk_in(person=person), headers={"Idempotency-Key": "walkin-0001"})
        assert r.status_code == 201, r.text
        case = r.json()
        rid = case["request_id"]
        assert case["correlation_id"] == rid and case["person_ref"].startswith("p-")
        assert "张三" not in r.text and person["id_number"] not in r.text

        r = await client.post(f"/requests/{rid}/refer", json={"to_department": "legal_aid", "matter": "unpaid wages"})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "referred" and r.json()["referred_to"] == "legal_aid"

        records = await read_topic(platform, Topics(platform.topic_prefix).department("intake"), expect=2)
        by_type = {dict(rec.headers)["ce_type"].decode(): rec for rec in records}
        referred = by_type["caseflow.intake.request_referred"]
        headers = {k: v.decode() for k, v in referred.headers}
        assert referred.key == rid.encode()
        assert headers["ce_subject"] == rid and headers["ce_correlationid"] == rid
        assert headers["ce_source"] == "caseflow/intake" and headers["ce_actor"] == "dept:intake"
        data = json.loads(referred.value)
        assert data["to_department"] == "legal_aid" and data["region"] == COUNTY
        assert data["person_ref"] == case["person_ref"]
        received = json.loads(by_type["caseflow.intake.request_received"].value)
        assert {received[k] for k in ("channel", "level", "region", "kind")} == {"walk_in", "county", COUNTY, "help"}
        # no personal data in any event
        assert all(
            "张三" not in rec.value.decode() and person["id_number"] not in rec.value.decode() for rec in records
        )


async def test_fifty_concurrent_commands_on_one_case_never_corrupt_it(platform):
    async with intake(platform) as (client, app, _clock):
        r = await client.post(f"/advisors/{VILLAGE}/assign", json={"advisor_id": "lawyer-7"})
        assert r.status_code == 200, r.text
        body = {"advisor_id": "lawyer-7", "hours": 1.5, "kind": "consultation", "served_on": "2026-03-01"}
        results = await asyncio.gather(*(client.post(f"/advisors/{VILLAGE}/services", json=body) for _ in range(50)))
        assert [r.status_code for r in results] == [200] * 50
        village = (await client.get(f"/advisors/{VILLAGE}")).json()
        assert village["services"] == 50 and village["hours"] == pytest.approx(75.0) and village["version"] == 51
        stream = await app.state.runtime.store.read_stream(f"adv-{VILLAGE}")
        assert stream.version == 51 and len({e.id for e in stream.events}) == 51
        state, _ = await app.state.intake.bus.load(f"adv-{VILLAGE}")
        assert state.hours == pytest.approx(75.0)

        # racing answers on one request: exactly one wins, the others are refused naming state and command
        rid = (await client.post("/requests", json=walk_in())).json()["request_id"]
        answers = await asyncio.gather(*(client.post(f"/requests/{rid}/answer") for _ in range(10)))
        assert sorted(r.status_code for r in answers) == [200] + [409] * 9
        assert all("cannot answer a case in state 'answered'" in r.text for r in answers if r.status_code == 409)
        req = await app.state.runtime.store.read_stream(rid)
        assert [e.type.rsplit(".", 1)[1] for e in req.events] == ["request_received", "request_answered"]


async def test_read_models_dropped_and_rebuilt_equal_the_live_ones(platform):
    async with intake(platform) as (client, app, clock):
        rid = (await client.post("/requests", json=walk_in())).json()["request_id"]
        await client.post(f"/requests/{rid}/answer")
        await client.post(f"/requests/{rid}/close")
        await client.post(f"/requests/{rid}/evaluate", json={"satisfaction": 4})
        hot = {"channel": "hotline_12348", "region": "431000000000", "kind": "complaint", "topic": "service_quality"}
        hid = (await client.post("/requests", json=hot)).json()["request_id"]
        assert (await client.post(f"/requests/{hid}/work-order", json={"deadline_hours": 2})).status_code == 200
        web = await client.post("/web/questions", json={"region": COUNTY, "topic": "marriage_family"})
        clock.now += timedelta(minutes=47)
        reply = await client.post(f"/requests/{web.json()['request_id']}/reply")
        assert reply.json()["reply_minutes"] == 47
        call = (await client.post("/calls", json={"region": "431000000000"})).json()
        clock.now += timedelta(seconds=12)
        assert (await client.post(f"/calls/{call['call_id']}/answer")).json()["wait_seconds"] == 12
        await client.post(f"/advisors/{VILLAGE}/assign", json={"advisor_id": "lawyer-7"})

        # overdue: the 2-hour work order passes its deadline
        clock.now += timedelta(hours=3)
        overdue = (await client.get("/requests", params={"overdue": "true"})).json()
        assert [i["request_id"] for i in overdue["items"]] == [hid]
        on_time = (await client.get("/requests", params={"overdue": "false", "channel": "walk_in"})).json()
        assert [i["request_id"] for i in on_time["items"]] == [rid]
        assert (await client.get("/requests", params={"status": "evaluated", "region": "4310"})).json()["count"] == 1

        cases = app.state.intake.cases
        live = sorted(await cases.find({}, limit=1000), key=lambda d: d["_id"])
        assert len(live) == 6  # two requests, a web question, its region's QC month, a call, a village
        assert [d["record"] for d in live if d["_id"].startswith("qc-")] == ["qc_month"]
        rebuilt_count = await cases.rebuild(app.state.runtime.store)
        rebuilt = sorted(await cases.find({}, limit=1000), key=lambda d: d["_id"])
        assert rebuilt_count == 6 and rebuilt == live


async def test_erased_person_reads_erased_and_the_case_still_replays(platform):
    async with intake(platform) as (client, app, _clock):
        person = {"name": "李四", "id_number": id_number("43100219900101456"), "phone": "13900139000"}
        rid = (await client.post("/requests", json=walk_in(person=person))).json()["request_id"]
        await client.post(f"/requests/{rid}/answer")
        seen = (await client.get(f"/requests/{rid}/person")).json()
        assert seen["name"] == "李四" and seen["id_number"] == person["id_number"]

        reader = token(app.state.platform_settings, "dept:intake", ["intake:read", "intake:write"])
        assert (await client.delete(f"/persons/{seen['person_ref']}", headers=reader)).status_code == 403
        assert (await client.delete(f"/persons/{seen['person_ref']}")).status_code == 204
        assert (await client.delete(f"/persons/{seen['person_ref']}")).status_code == 404

        erased = (await client.get(f"/requests/{rid}/person")).json()
        assert erased == {"person_ref": seen["person_ref"], "name": ERASED, "id_number": ERASED, "phone": ERASED}
        state, stream = await app.state.intake.bus.load(rid)
        assert state.status.value == "answered" and state.person_ref == seen["person_ref"] and stream.version == 2
        assert await app.state.intake.cases.rebuild(app.state.runtime.store) == 1
        assert (await client.get(f"/requests/{rid}")).json()["status"] == "answered"
        assert await count_rows(app.state.runtime.db, "persons") == 0


async def test_bad_input_is_refused_with_field_and_reason_and_nothing_is_written(platform):
    async with intake(platform) as (client, app, _clock):
        store = app.state.runtime.store

        async def refused(method: str, url: str, status: int, field: str, reason: str = "", **kw) -> None:
            before = len(await store.read_all(0, 1000))
            r = await client.request(method, url, **kw)
            assert r.status_code == status, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            errors = r.json()["errors"]
            assert any(field in e["field"] and reason in e["reason"] for e in errors), errors
            assert len(await store.read_all(0, 1000)) == before

        bad_id = id_number()[:-1] + ("0" if id_number()[-1] != "0" else "1")
        # shared.api names the byte offset as the field of a JSON decode error (see report); the reason says it
        malformed = {"content": b"{not json", "headers": {"content-type": "application/json"}}
        await refused("POST", "/requests", 422, "", "JSON decode error", **malformed)
        await refused("POST", "/requests", 422, "channel", "walk_in", json=walk_in(channel="fax"))
        await refused("POST", "/requests", 422, "region", "pattern", json=walk_in(region="43100200"))
        await refused("POST", "/requests", 422, "region", "village", json=walk_in(level="village"))  # county code
        bad_person = walk_in(person={"name": "王五", "id_number": bad_id})
        await refused("POST", "/requests", 422, "person.id_number", "check digit should be", json=bad_person)
        assert await count_rows(app.state.runtime.db, "persons") == 0

        rid = (await client.post("/requests", json=walk_in())).json()["request_id"]
        r = await client.post(f"/requests/{rid}/evaluate", json={"satisfaction": 5})
        assert r.status_code == 409 and "cannot evaluate a case in state 'received'" in r.json()["detail"]
        await client.post(f"/requests/{rid}/answer")
        await client.post(f"/requests/{rid}/close")
        await refused("POST", f"/requests/{rid}/evaluate", 422, "satisfaction", "less than or equal to 5",
                      json={"satisfaction": 6})  # fmt: skip
        assert (await client.post(f"/requests/{rid}/evaluate", json={"satisfaction": 5})).status_code == 200
        await refused("POST", f"/requests/{rid}/evaluate", 409, "satisfaction", "already evaluated",
                      json={"satisfaction": 4})  # fmt: skip
        await refused("POST", "/requests/rq-nope/answer", 422, "request_id")
        r = await client.post(f"/requests/rq-{'0' * 32}/answer")
        assert r.status_code == 404

        # a retried POST with the same Idempotency-Key never creates twice
        first = await client.post("/requests", json=walk_in(), headers={"Idempotency-Key": "retry-key-42"})
        again = await client.post("/requests", json=walk_in(), headers={"Idempotency-Key": "retry-key-42"})
        assert first.json()["request_id"] == again.json()["request_id"]
        assert again.headers.get("Idempotent-Replay") == "true"
        assert (await client.get("/requests", params={"limit": 500})).json()["count"] == 2

        # every route declares its scope
        anonymous = await client.get(f"/requests/{rid}", headers={"Authorization": ""})
        assert anonymous.status_code == 401


async def test_with_the_database_gone_commands_answer_503_with_retry_after_and_readyz_names_it(platform):
    from psycopg_pool import AsyncConnectionPool

    async with intake(platform) as (client, app, _clock):
        runtime = app.state.runtime
        live = runtime.db.pool
        # nothing listens on port 9: every connection attempt is refused, as with a stopped server
        runtime.db.pool = AsyncConnectionPool(
            "postgresql://x@127.0.0.1:9/x", min_size=0, max_size=1, timeout=1, open=False
        )
        await runtime.db.pool.open(wait=False)
        try:
            r = await client.post("/requests", json=walk_in(), headers={"Idempotency-Key": "walkin-down-1"})
            assert r.status_code == 503, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert int(r.headers["retry-after"]) > 0
            ready = await client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["postgres"].startswith("down")
            assert ready.json()["checks"]["kafka"] == "ok"
        finally:
            await runtime.db.pool.close()
            runtime.db.pool = live
        r = await client.post("/requests", json=walk_in(), headers={"Idempotency-Key": "walkin-down-1"})
        assert r.status_code == 201, r.text  # the same request once the database is back


async def test_concurrent_web_replies_are_counted_once_each_and_the_quota_holds(platform):
    """Seed 000 (抽取3%进行质检): 40 replies published at once in one region's month get 40 distinct ordinals on the
    counter stream (optimistic concurrency serialises them) and exactly ceil(3% × 40) = 2 draws; a retried reply
    (same Idempotency-Key) counts nothing more."""
    async with intake(platform) as (client, app, _clock):
        posted = await asyncio.gather(
            *(client.post("/web/questions", json={"region": COUNTY, "topic": "labour"}) for _ in range(40))
        )
        ids = [p.json()["request_id"] for p in posted]
        replies = await asyncio.gather(
            *(client.post(f"/requests/{rid}/reply", headers={"Idempotency-Key": f"reply-{rid}"}) for rid in ids)
        )
        assert [r.status_code for r in replies] == [200] * 40
        assert sum(r.json()["qc_drawn"] for r in replies) == 2
        retry = await client.post(f"/requests/{ids[0]}/reply", headers={"Idempotency-Key": f"reply-{ids[0]}"})
        assert retry.headers["Idempotent-Replay"] == "true"
        month = (await client.get(f"/qc/{COUNTY}/2026-03")).json()
        assert (month["published"], month["drawn"], month["quota"]) == (40, 2, 2)
        counter = await app.state.runtime.store.read_stream(f"qc-{COUNTY}-2026-03")
        assert sorted(e.data["ordinal"] for e in counter.events) == list(range(1, 41))
        drawn = next(rid for rid, r in zip(ids, replies, strict=True) if r.json()["qc_drawn"])
        inspected = await client.post(
            f"/requests/{drawn}/inspection",
            json={"result": "needs_correction", "inspector": "qc-3", "reason": "the limitation period is wrong"},
        )
        assert inspected.status_code == 200 and inspected.json()["qc_result"] == "needs_correction"


async def test_a_complaint_runs_to_its_evaluation_and_the_worklist_reads_the_indexed_due_time(platform):
    """Seeds 003 and 001 (投诉受理、处理和反馈), 004 (随单评价): through PostgreSQL's read model."""
    async with intake(platform) as (client, _app, clock):
        complaint = walk_in(kind="complaint", topic="service_quality")
        first = (await client.post("/requests", json=complaint)).json()
        # a week later: 60 days from 2 or 3 March both end on the May holidays, moved to 24:00 on 6 May
        clock.now += timedelta(days=7)
        second = (await client.post("/requests", json=complaint)).json()
        open_ = (await client.get("/complaints", params={"region": "4310"})).json()
        assert [i["request_id"] for i in open_["items"]] == [first["request_id"], second["request_id"]]
        rid = first["request_id"]
        assert (await client.post(f"/requests/{rid}/answer")).status_code == 409
        await client.post(f"/requests/{rid}/complaint/handle", json={"finding": "partly_upheld"})
        replied = (await client.post(f"/requests/{rid}/complaint/reply")).json()
        assert replied["status"] == "replied" and replied["complaint_reply_on_time"] is True
        assert (await client.post(f"/requests/{rid}/close")).json()["outcome"] == "replied"
        assert (await client.post(f"/requests/{rid}/evaluate", json={"satisfaction": 5})).status_code == 200
        clock.now += timedelta(days=70)  # past 60 days however far rest days move the last one
        overdue = (await client.get("/complaints", params={"overdue": "true"})).json()
        assert [i["request_id"] for i in overdue["items"]] == [second["request_id"]]
        assert (await client.get("/complaints", params={"overdue": "false"})).json()["count"] == 0
