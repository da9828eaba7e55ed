"""`caseflow rebuild` on the real Kafka: events on a department topic → the replayed state counts the case, and
the records the live writer would dead-letter are reported with their place."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import typer
from typer.testing import CliRunner

from caseflow_cli.rebuild import rebuild_command
from shared import kafka
from shared.contracts.legal_aid import DefenceNotified
from shared.envelope import Envelope
from shared.topics import Topics

pytestmark = pytest.mark.integration
app = typer.Typer()
app.command("rebuild")(rebuild_command)
app.command("noop")(lambda: None)  # a second command keeps typer from collapsing the app into `rebuild`


def test_rebuild_replays_the_topics_and_reports_the_cases(platform):
    now = datetime.now(UTC)
    payload = DefenceNotified(
        kind="notified_defence", region="431002001001", defendant_ref="p-" + "c" * 16, notified_by="court",
        partner_reference="court-rb-1", stage="trial", charge="theft", notified_at=now,
    )  # fmt: skip
    env = Envelope.wrap(payload, source="caseflow/legal_aid", subject="la-rb-1", correlationid="la-rb-1",
                        actor="dept:legal_aid", time=now)  # fmt: skip

    key, value, headers = env.to_kafka()
    unknown = [(n, b"caseflow.legal_aid.unheard_of" if n == "ce_type" else v) for n, v in headers]
    topic = Topics(platform.topic_prefix).department("legal_aid")

    async def produce() -> None:
        await kafka.ensure_topics(platform)
        producer = kafka.producer(platform)
        await producer.start()
        try:  # one case, then a record of a type no contract covers and a truncated one, in the same partition
            for v, h in [(value, headers), (value, unknown), (value[: len(value) // 2], headers)]:
                await producer.send_and_wait(topic, value=v, key=key, headers=h, partition=0)
        finally:
            await producer.stop()

    asyncio.run(produce())
    environment = {
        "CASEFLOW_KAFKA_BOOTSTRAP": platform.kafka_bootstrap,
        "CASEFLOW_DATABASE_URL": platform.database_url.get_secret_value(),
        "CASEFLOW_TOPIC_PREFIX": platform.topic_prefix,
        "CASEFLOW_PARTITIONS": str(platform.partitions),
    }
    r = CliRunner().invoke(app, ["rebuild", "--timeout", "60", "--workers", "2"], env=environment)
    assert r.exit_code == 0, r.output
    assert "rebuilt 1 cases from 3 events" in r.output
    # the bad records are reported with their place, not folded and not a crash
    assert "1 malformed_event, 1 unknown_event_type" in r.output
    assert f"{topic}[0]@1: unknown_event_type" in r.output and f"{topic}[0]@2: malformed_event" in r.output
