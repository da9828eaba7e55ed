"""The local infra manager against real processes: Kafka (KRaft) and PostgreSQL 15.

Uses its own home directory and free ports, so it neither touches nor collides with a developer's
``caseflow infra up`` instance.  Downloads come from the shared cache (fetched on first use).  The database
isolation tests use the session's test servers (``infra_up``), whose provisioning every ``up`` repeats.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest
from psycopg import errors, sql
from pydantic import ValidationError

from caseflow_cli import infra
from caseflow_cli.infra import InfraError, InfraSettings, databases, postgres
from tests.integration.helpers import free_ports

pytestmark = pytest.mark.integration


def _pid_gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.NoSuchProcess:
        return True


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfraSettings]:
    kafka_port, controller_port, postgres_port, zipkin_port = free_ports(4)
    s = InfraSettings(
        home=tmp_path_factory.mktemp("infra-home"),
        kafka_port=kafka_port,
        kafka_controller_port=controller_port,
        postgres_port=postgres_port,
        zipkin_port=zipkin_port,
        start_timeout=90,
    )
    try:
        yield s
    finally:
        infra.wipe(s)  # also the PostgreSQL cluster, which lives under /var/tmp when the server user is not us


async def test_up_starts_ready_servers_and_they_work(settings: InfraSettings) -> None:
    st = await asyncio.to_thread(infra.up, settings)
    assert st.all_ready, st.to_dict()
    assert st.kafka.running and st.kafka.pid and st.postgres.running and st.postgres.pid
    assert st.kafka_bootstrap == f"127.0.0.1:{settings.kafka_port}"
    password = databases.load_passwords(settings.credentials_file)["caseflow_admin"]
    assert st.database_url == f"postgresql://caseflow_admin:{password}@127.0.0.1:{settings.postgres_port}/caseflow"
    assert st.to_dict()["database_url"] == st.database_url
    assert st.zipkin is not None and st.zipkin.ready and st.zipkin_url == f"http://127.0.0.1:{settings.zipkin_port}"
    ui = httpx.get(f"{st.zipkin_url}/zipkin/", timeout=5)
    assert ui.status_code == 200 and "zipkin" in ui.text.lower()

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

    # PostgreSQL: a service role writes and reads its own database.
    async with await psycopg.AsyncConnection.connect(infra.database_url_for(settings, "intake")) as conn:
        await conn.execute("CREATE TABLE cases (id text PRIMARY KEY, status text NOT NULL)")
        await conn.execute("INSERT INTO cases VALUES ('case-1', 'opened')")
        cur = await conn.execute("SELECT id, status, current_user, current_database() FROM cases")
        assert await cur.fetchall() == [("case-1", "opened", "intake", "intake")]


async def test_up_again_is_idempotent_and_fast(settings: InfraSettings) -> None:
    first = await asyncio.to_thread(infra.up, settings)
    started = time.monotonic()
    again = await asyncio.to_thread(infra.up, settings)
    assert time.monotonic() - started < 10
    assert again.all_ready
    assert (again.kafka.pid, again.postgres.pid) == (first.kafka.pid, first.postgres.pid)


async def test_status_reports_log_paths(settings: InfraSettings) -> None:
    st = await asyncio.to_thread(infra.status, settings)
    assert st.kafka.log_path.is_file() and st.postgres.log_path.is_file()
    assert st.kafka.port == settings.kafka_port and st.postgres.port == settings.postgres_port
    assert "database system is ready to accept connections" in st.postgres.log_path.read_text()


async def test_kill_9_and_restart_recovers_committed_rows(settings: InfraSettings) -> None:
    """What the fault suite does to the database: kill -9 (postmaster and backends), then start it again; the
    stale postmaster.pid does not block the start, crash recovery keeps every committed row."""
    await asyncio.to_thread(infra.up, settings)
    url = infra.database_url_for(settings, "notary")
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("CREATE TABLE IF NOT EXISTS crash (n int)")
        await conn.execute("INSERT INTO crash SELECT generate_series(1, 1000)")
    killed = await asyncio.to_thread(infra.kill_server, settings, infra.POSTGRES)
    assert killed is not None and _pid_gone(killed)
    assert (postgres.data_dir(settings) / "postmaster.pid").exists()  # left behind by the kill
    assert not (await asyncio.to_thread(infra.status, settings)).postgres.running

    pid = await asyncio.to_thread(infra.start_server, settings, infra.POSTGRES)
    assert pid != killed
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute("SELECT count(*) FROM crash")
        assert await cur.fetchone() == (1000,)
    assert "automatic recovery in progress" in settings.log_file(infra.POSTGRES).read_text()


async def test_down_stops_processes(settings: InfraSettings) -> None:
    st = await asyncio.to_thread(infra.up, settings)
    pids = [st.kafka.pid, st.postgres.pid]
    await asyncio.to_thread(infra.down, settings)
    assert all(pid is not None and _pid_gone(pid) for pid in pids)
    assert not settings.pid_file("kafka").exists() and not settings.pid_file("postgres").exists()
    after = await asyncio.to_thread(infra.status, settings)
    assert not after.kafka.running and not after.postgres.running
    await asyncio.to_thread(infra.down, settings)  # idempotent


async def test_port_in_use_is_refused(tmp_path: Path) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    taken = listener.getsockname()[1]
    controller_port, postgres_port = free_ports(2)
    s = InfraSettings(
        home=tmp_path / "home", kafka_port=taken, kafka_controller_port=controller_port, postgres_port=postgres_port,
        zipkin=False,
    )  # fmt: skip
    try:
        with pytest.raises(InfraError, match=rf"port {taken} \(kafka\) is already in use"):
            await asyncio.to_thread(infra.up, s)
        assert not s.pid_file("kafka").exists()
        s = InfraSettings(
            home=tmp_path / "home", kafka_port=controller_port, kafka_controller_port=postgres_port,
            postgres_port=taken, zipkin=False,
        )  # fmt: skip
        with pytest.raises(InfraError, match=rf"port {taken} \(postgres\) is already in use.*POSTGRES_PORT"):
            await asyncio.to_thread(infra.up, s)
        assert not s.pid_file("postgres").exists() and not s.pid_file("kafka").exists()
    finally:
        listener.close()
        infra.wipe(s)


def test_settings_reject_duplicate_and_invalid_ports(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="must be different"):
        InfraSettings(home=tmp_path, kafka_port=40000, postgres_port=40000)
    with pytest.raises(ValidationError):
        InfraSettings(home=tmp_path, kafka_port=70000)
    with pytest.raises(ValidationError, match="ZIPKIN_PORT and CASEFLOW_INFRA_POSTGRES_PORT must be different"):
        InfraSettings(home=tmp_path, zipkin_port=40000, postgres_port=40000)
    assert InfraSettings(home=tmp_path, zipkin=False, zipkin_port=40000, postgres_port=40000).servers == (
        "kafka", "postgres"
    )  # fmt: skip


# ---- database isolation on the session's test servers ----------------------------------------------------------


def _login(infra_settings: InfraSettings, role: str, database: str) -> str:
    return databases.url(infra_settings, role, database)


def test_each_service_role_reaches_only_its_own_database(
    infra_up: infra.InfraStatus, infra_settings: InfraSettings
) -> None:
    assert infra_up.postgres.ready
    with psycopg.connect(infra_up.database_url) as conn:  # the superuser reaches everything
        assert conn.execute("SELECT current_user, current_database()").fetchone() == ("caseflow_admin", "caseflow")
        owners = dict(conn.execute("SELECT datname, pg_get_userbyid(datdba) FROM pg_database").fetchall())
    assert {s: owners.get(s) for s in infra.DATABASE_SERVICES} == {s: s for s in infra.DATABASE_SERVICES}

    for service in infra.DATABASE_SERVICES:
        with psycopg.connect(infra.database_url_for(infra_settings, service)) as conn:
            assert conn.execute("SELECT current_user, current_database()").fetchone() == (service, service)
    for database in ("legal_aid", "caseflow", "postgres", "template1"):
        with pytest.raises(psycopg.OperationalError, match=f'permission denied for database "{database}"'):
            psycopg.connect(_login(infra_settings, "intake", database), connect_timeout=5)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(databases.url(infra_settings, "intake", "intake", password="not-the-password"))


def test_a_role_cannot_read_another_services_tables_even_if_let_in(
    infra_up: infra.InfraStatus, infra_settings: InfraSettings
) -> None:
    """Defence in depth: were CONNECT granted by mistake, `public` is still closed to other roles."""
    table = f"secret_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(infra.database_url_for(infra_settings, "legal_aid"), autocommit=True) as owner:
        owner.execute(sql.SQL("CREATE TABLE public.{} (v text)").format(sql.Identifier(table)))
        owner.execute(sql.SQL("INSERT INTO public.{} VALUES ('legal aid only')").format(sql.Identifier(table)))
    with psycopg.connect(infra_up.database_url, autocommit=True) as admin:
        admin.execute("GRANT CONNECT ON DATABASE legal_aid TO intake")
    try:
        with psycopg.connect(_login(infra_settings, "intake", "legal_aid")) as intruder:
            with pytest.raises(errors.InsufficientPrivilege, match="permission denied for schema public"):
                intruder.execute(sql.SQL("SELECT v FROM public.{}").format(sql.Identifier(table)))
    finally:
        with psycopg.connect(infra_up.database_url, autocommit=True) as admin:
            admin.execute("REVOKE CONNECT ON DATABASE legal_aid FROM intake")
        with psycopg.connect(infra.database_url_for(infra_settings, "legal_aid"), autocommit=True) as owner:
            owner.execute(sql.SQL("DROP TABLE public.{}").format(sql.Identifier(table)))
    with pytest.raises(psycopg.OperationalError, match='permission denied for database "legal_aid"'):
        psycopg.connect(_login(infra_settings, "intake", "legal_aid"), connect_timeout=5)
