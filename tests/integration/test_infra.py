"""The local infra manager against real processes: Kafka (KRaft) and FerretDB.

Uses its own home directory and free ports, so it neither touches nor collides with a developer's
``caseflow infra up`` instance.  Downloads come from the shared cache (fetched on first use).
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from caseflow_cli import infra
from caseflow_cli.infra import InfraError, InfraSettings
from tests.integration.helpers import free_ports

pytestmark = pytest.mark.integration


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfraSettings]:
    kafka_port, controller_port, mongo_port = free_ports(3)
    s = InfraSettings(
        home=tmp_path_factory.mktemp("infra-home"),
        kafka_port=kafka_port,
        kafka_controller_port=controller_port,
        mongo_port=mongo_port,
        start_timeout=90,
    )
    try:
        yield s
    finally:
        infra.down(s)


async def test_up_starts_ready_servers_and_they_work(settings: InfraSettings) -> None:
    st = await asyncio.to_thread(infra.up, settings)
    assert st.all_ready, st.to_dict()
    assert st.kafka.running and st.kafka.pid and st.ferretdb.running and st.ferretdb.pid
    assert st.kafka_bootstrap == f"127.0.0.1:{settings.kafka_port}"
    assert st.mongo_url == f"mongodb://127.0.0.1:{settings.mongo_port}/"

    # Kafka: produce / consume round trip on an explicitly created topic.
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    topic = f"infra-test-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=st.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()

    producer = AIOKafkaProducer(bootstrap_servers=st.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"hello", key=b"case-1")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=st.kafka_bootstrap,
        group_id=f"g-{topic}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        msg = await asyncio.wait_for(consumer.getone(), 30)
        await consumer.commit()
    finally:
        await consumer.stop()
    assert (msg.key, msg.value) == (b"case-1", b"hello")

    # FerretDB: insert / find through the MongoDB wire protocol.
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient = AsyncMongoClient(st.mongo_url, serverSelectionTimeoutMS=5000)
    try:
        coll = client["infra_test"]["cases"]
        await coll.insert_one({"_id": "case-1", "status": "opened"})
        doc = await coll.find_one({"_id": "case-1"})
        assert doc == {"_id": "case-1", "status": "opened"}
    finally:
        await client.close()


async def test_up_again_is_idempotent_and_fast(settings: InfraSettings) -> None:
    first = await asyncio.to_thread(infra.up, settings)
    started = time.monotonic()
    again = await asyncio.to_thread(infra.up, settings)
    assert time.monotonic() - started < 10
    assert again.all_ready
    assert (again.kafka.pid, again.ferretdb.pid) == (first.kafka.pid, first.ferretdb.pid)


async def test_status_reports_log_paths(settings: InfraSettings) -> None:
    st = await asyncio.to_thread(infra.status, settings)
    assert st.kafka.log_path.is_file() and st.ferretdb.log_path.is_file()
    assert st.kafka.port == settings.kafka_port and st.ferretdb.port == settings.mongo_port


async def test_down_stops_processes(settings: InfraSettings) -> None:
    st = await asyncio.to_thread(infra.up, settings)
    pids = [st.kafka.pid, st.ferretdb.pid]
    await asyncio.to_thread(infra.down, settings)
    assert all(pid is not None and _pid_gone(pid) for pid in pids)
    assert not settings.pid_file("kafka").exists() and not settings.pid_file("ferretdb").exists()
    after = await asyncio.to_thread(infra.status, settings)
    assert not after.kafka.running and not after.ferretdb.running
    await asyncio.to_thread(infra.down, settings)  # idempotent


async def test_port_in_use_is_refused(tmp_path: Path) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    taken = listener.getsockname()[1]
    controller_port, mongo_port = free_ports(2)
    s = InfraSettings(
        home=tmp_path / "home", kafka_port=taken, kafka_controller_port=controller_port, mongo_port=mongo_port
    )
    try:
        with pytest.raises(InfraError, match=rf"port {taken} \(kafka\) is already in use"):
            await asyncio.to_thread(infra.up, s)
        assert not s.pid_file("kafka").exists()
    finally:
        listener.close()
        infra.down(s)


def test_settings_reject_duplicate_and_invalid_ports(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="must be different"):
        InfraSettings(home=tmp_path, kafka_port=40000, mongo_port=40000)
    with pytest.raises(ValidationError):
        InfraSettings(home=tmp_path, kafka_port=70000)
