"""`caseflow lag` on the real Kafka: a group that committed everything, then fell five records behind."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiokafka import TopicPartition
from typer.testing import CliRunner

from caseflow_cli.main import app
from shared import kafka
from shared.topics import Topics

pytestmark = pytest.mark.integration


def test_lag_shows_each_partition_behind_its_end(platform):
    topic = Topics(platform.topic_prefix).department("intake")
    group = f"{platform.topic_prefix}.intake.lag-test"

    async def setup() -> None:
        await kafka.ensure_topics(platform)
        producer = kafka.producer(platform)
        await producer.start()
        try:
            for i in range(6):  # consumed and committed below
                await producer.send_and_wait(topic, value=b"{}", key=f"a-{i}".encode(), partition=i % 3)
            consumer = kafka.consumer(platform, group_id=group)
            await consumer.start()
            try:
                tps = [TopicPartition(topic, p) for p in range(3)]
                ends = await consumer.end_offsets(tps)
                consumer.assign(tps)
                await consumer.commit(ends)
            finally:
                await consumer.stop()
            for i in range(5):  # not consumed: the lag
                await producer.send_and_wait(topic, value=b"{}", key=f"b-{i}".encode(), partition=0 if i < 3 else 2)
        finally:
            await producer.stop()

    asyncio.run(setup())
    env = {
        "CASEFLOW_KAFKA_BOOTSTRAP": platform.kafka_bootstrap,
        "CASEFLOW_TOPIC_PREFIX": platform.topic_prefix,
        "CASEFLOW_DATABASE_URL": platform.database_url.get_secret_value(),
    }
    r = CliRunner().invoke(app, ["lag", "--json"], env=env)
    assert r.exit_code == 0, r.output
    rows = {(x["group"], x["partition"]): x for x in json.loads(r.output) if x["topic"] == topic}
    assert {p: rows[(group, p)]["lag"] for p in range(3)} == {0: 3, 1: 0, 2: 2}
    assert all(rows[(group, p)]["end"] - rows[(group, p)]["committed"] == rows[(group, p)]["lag"] for p in range(3))
    table = CliRunner().invoke(app, ["lag"], env=env)
    assert table.exit_code == 0 and "total lag 5 over 1 groups" in table.output


def test_lag_with_kafka_unreachable_exits_4():
    r = CliRunner().invoke(app, ["lag", "--timeout", "5"], env={"CASEFLOW_KAFKA_BOOTSTRAP": "127.0.0.1:9"})
    assert r.exit_code == 4, r.output
