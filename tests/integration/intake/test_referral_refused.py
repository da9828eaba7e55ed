"""A refused referral comes back to its sender on the real broker: intake refers a request legal aid cannot take
(a region no city profile serves: here legal aid runs without Chenzhou's profile, as a city whose aid centre is not
on the platform yet, while intake serves it); legal aid answers with `referral_refused`; intake's request becomes
"referral refused" with the reason, on its worklist; nothing is dead-lettered."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from services.intake.config import Settings as IntakeSettings
from services.intake.main import create_app as intake_app
from services.legal_aid.config import Settings as LegalAidSettings
from services.legal_aid.main import create_app as legal_aid_app
from services.legal_aid.reference import HERE
from shared.envelope import Envelope
from shared.topics import Topics
from tests.conftest import token
from tests.integration.helpers import drop_schemas, eventually, read_topic

pytestmark = pytest.mark.integration

TOWN = "431002000000"  # 郴州市北湖区: served by intake; legal aid runs here without Chenzhou's profile


def profiles_without_chenzhou(tmp_path: Path) -> Path:
    profiles = json.loads((HERE / "profiles.json").read_text(encoding="utf-8"))
    profiles["cities"] = [c for c in profiles["cities"] if not TOWN.startswith(c["code"][:4])]
    path = tmp_path / "profiles.json"
    path.write_text(json.dumps(profiles, ensure_ascii=False), encoding="utf-8")
    return path


async def test_a_referral_legal_aid_cannot_take_comes_back_to_intake_with_the_reason(platform, tmp_path):
    topics = Topics(platform.topic_prefix)
    intake, legal_aid = (
        intake_app(IntakeSettings(platform=platform)),
        legal_aid_app(LegalAidSettings(platform=platform, profiles_file=profiles_without_chenzhou(tmp_path))),
    )
    headers = token(platform, "dept:intake", ["intake:read", "intake:write"])
    try:
        async with intake.router.lifespan_context(intake), legal_aid.router.lifespan_context(legal_aid):
            transport = httpx.ASGITransport(app=intake)
            async with httpx.AsyncClient(transport=transport, base_url="http://intake", headers=headers) as c:
                body = {"channel": "hotline_12348", "region": TOWN, "kind": "help", "topic": "labour"}
                r = await c.post("/requests", json=body)
                assert r.status_code == 201, r.text
                rid = r.json()["request_id"]
                r = await c.post(f"/requests/{rid}/refer", json={"to_department": "legal_aid", "matter": "欠薪半年"})
                assert r.status_code == 200 and r.json()["status"] == "referred", r.text

                async def refused() -> bool:
                    return (await c.get(f"/requests/{rid}")).json()["status"] == "referral_refused"

                await eventually(refused, timeout=30, what="intake's request refused back by legal aid")
                view = (await c.get(f"/requests/{rid}")).json()
                assert view["refused_by"] == "legal_aid" and view["refusal_code"] == "region_not_served"
                assert f"no legal aid city profile serves region {TOWN}" in view["refusal_reason"]
                worklist = (await c.get("/requests", params={"status": "referral_refused"})).json()
                assert [i["request_id"] for i in worklist["items"]] == [rid]
                again = await c.post(
                    f"/requests/{rid}/refer",
                    json={"to_department": "mediation", "matter": "劳动争议", "dispute_type": "labour"},
                )
                assert again.status_code == 200 and again.json()["status"] == "referred", again.text

            records = await read_topic(platform, topics.department("legal_aid"), expect=1, timeout=10)
            [answer] = [Envelope.from_kafka(m.value, m.headers) for m in records]
            assert answer.type == "caseflow.platform.referral_refused" and answer.correlationid == rid
            assert answer.data["referral_case_id"] == rid and answer.data["field"] == "region"
            assert await legal_aid.state.legal_aid.cases.count({}) == 0
            assert intake.state.runtime.consumers[0].stats.dead_lettered == 0
            assert all(c.stats.dead_lettered == 0 for c in legal_aid.state.runtime.consumers)
    finally:
        await drop_schemas(platform, "intake", "legal_aid")
