"""`caseflow dlq` on the real Kafka: legal aid dead-letters a court notice for a city it has no profile for; the
operator lists and shows it, fixes the profiles, replays it (once: a second replay is refused, the replay log
says when), and legal aid opens the case from the replayed message."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from caseflow_cli.main import app
from services.legal_aid.config import Settings
from services.legal_aid.handlers import notice_case_id
from services.legal_aid.main import create_app
from services.legal_aid.reference import HERE
from shared.envelope import Envelope
from shared.topics import Topics
from tests.integration.helpers import drop_schemas, eventually, read_topic
from tests.integration.legal_aid.test_legal_aid_flow import defence_notice, send

pytestmark = pytest.mark.integration

REFERENCE = "(2026)京0101刑初9号"
BEIJING = "110101000000"  # no legal aid city profile until the fix below
runner = CliRunner(env={"COLUMNS": "240"})


def cli(platform, *args: str, **kw) -> object:
    env = {"CASEFLOW_KAFKA_BOOTSTRAP": platform.kafka_bootstrap, "CASEFLOW_TOPIC_PREFIX": platform.topic_prefix}
    return runner.invoke(app, ["dlq", *args], env=env, **kw)


def fixed_profiles(tmp_path: Path) -> Path:
    profiles = json.loads((HERE / "profiles.json").read_text(encoding="utf-8"))
    profiles["cities"].append(
        {"code": "110100", "name": "北京市 Beijing", "minimum_living_standard": 1395.0, "multiplier": 1.0}
    )
    path = tmp_path / "profiles.json"
    path.write_text(json.dumps(profiles, ensure_ascii=False), encoding="utf-8")
    return path


async def refused_then_replayed(platform, tmp_path: Path) -> None:
    topics = Topics(platform.topic_prefix)
    notice = Envelope.wrap(
        defence_notice(REFERENCE, region=BEIJING), source="partner/court", subject=REFERENCE,
        correlationid="corr-bj-9", actor="partner:court",
    )  # fmt: skip
    legal_aid = create_app(Settings(platform=platform))
    async with legal_aid.router.lifespan_context(legal_aid):
        await send(platform, topics.partner_inbound("court"), notice)
        await read_topic(platform, topics.deadletter, expect=1, timeout=20)

    listed = await asyncio.to_thread(cli, platform, "list", "--json")
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.output)
    assert row["topic"] == topics.partner_inbound("court") and row["event_type"] == notice.type
    assert row["event_id"] == notice.id and row["error"] == "region_not_served" and row["replayed_at"] is None
    assert f"no legal aid city profile serves region {BEIJING}" in row["reason"]
    table = await asyncio.to_thread(cli, platform, "list")
    assert table.exit_code == 0 and f"{topics.partner_inbound('court')}: 1" in table.output
    shown = await asyncio.to_thread(cli, platform, "show", row["id"])
    assert shown.exit_code == 0, shown.output
    full = json.loads(shown.output)
    assert full["value"]["partner_reference"] == REFERENCE and full["key"] == REFERENCE
    headers = dict(full["headers"])
    assert headers["ce_correlationid"] == "corr-bj-9", headers
    assert headers["dlq_consumer"] == "legal_aid" and headers["dlq_error"] == "region_not_served", headers

    fixed = create_app(Settings(platform=platform, profiles_file=fixed_profiles(tmp_path)))
    async with fixed.router.lifespan_context(fixed):
        declined = await asyncio.to_thread(cli, platform, "replay", row["id"], input="n\n")
        assert declined.exit_code == 1, declined.output
        replayed = await asyncio.to_thread(cli, platform, "replay", row["id"], "--yes")
        assert replayed.exit_code == 0 and f"replayed {row['id']}" in replayed.output, replayed.output
        case_id = notice_case_id("court", REFERENCE, "notified_defence")

        async def opened() -> bool:
            return await fixed.state.legal_aid.cases.get(case_id) is not None

        await eventually(opened, timeout=30, what="the case opened from the replayed notice")
        twice = await asyncio.to_thread(
            cli, platform, "replay", "--all", "--topic", topics.partner_inbound("court"), "-y"
        )
        assert twice.exit_code == 0 and "nothing to replay" in twice.output, twice.output
        inbound = await read_topic(platform, topics.partner_inbound("court"), expect=2, timeout=10)
        assert len(inbound) == 2 and dict(inbound[-1].headers)["dlq_replayed_from"] == row["id"].encode()
        again = await asyncio.to_thread(cli, platform, "replay", row["id"], "--again", "--yes")
        assert again.exit_code == 0, again.output
        await asyncio.sleep(2)  # the consumer drops it: its inbox holds the event id now
        stored = await fixed.state.runtime.store.read_stream(case_id)
        assert len(stored.events) == 1 and stored.events[0].correlationid == "corr-bj-9"
        assert all(c.stats.dead_lettered == 0 for c in fixed.state.runtime.consumers)
    after = json.loads((await asyncio.to_thread(cli, platform, "list", "--json")).output)
    assert [r["id"] for r in after] == [row["id"]] and after[0]["replayed_at"] is not None


def test_a_dead_letter_is_listed_shown_and_replayed_once_after_a_fix(platform, tmp_path):
    try:
        asyncio.run(refused_then_replayed(platform, tmp_path))
    finally:
        asyncio.run(drop_schemas(platform, "legal_aid"))
