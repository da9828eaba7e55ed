"""Test fixtures. Integration tests share one real Kafka broker and one PostgreSQL cluster, started once per run.

The servers run from `caseflow_cli.infra` with their own home (`.cache/test-infra`) and ports, so a running
`make run` is not disturbed; they are stopped when the session that started them ends (set
CASEFLOW_TEST_KEEP_INFRA=1 to keep them up between runs while iterating). Two runs side by side need their own
ports and home: CASEFLOW_TEST_KAFKA_PORT, CASEFLOW_TEST_KAFKA_CONTROLLER_PORT, CASEFLOW_TEST_POSTGRES_PORT,
CASEFLOW_TEST_ZIPKIN_PORT (Zipkin, started only for the tests that read traces) and CASEFLOW_TEST_INFRA_HOME.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from caseflow_cli import acl, infra
from shared.auth import issue_token
from shared.settings import PlatformSettings
from tests.integration.helpers import Principals, free_ports

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


async def _warm_group_coordinator(client: dict[str, Any], timeout: float = 120) -> None:
    """A fresh broker creates its offsets topic on the first group join; do that once, not inside a test.
    `client`: aiokafka connection options (bootstrap, and SASL for the secure broker)."""
    admin = AIOKafkaAdminClient(**client)
    await admin.start()
    try:
        if "warm-up" not in await admin.list_topics():
            await admin.create_topics([NewTopic("warm-up", 1, 1)])
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer("warm-up", **client, group_id="warm-up")
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        while not consumer.assignment():
            if time.monotonic() > deadline:
                raise RuntimeError("Kafka group coordinator not available in time")
            await consumer.getmany(timeout_ms=500)
    finally:
        await consumer.stop()


def _test_infra_settings(*, zipkin: bool = False) -> infra.InfraSettings:
    """The session's servers; Zipkin only for the tests that read traces (`zipkin_up`), started on first use."""
    return infra.InfraSettings(
        home=os.environ.get("CASEFLOW_TEST_INFRA_HOME", os.path.join(REPO, ".cache", "test-infra")),
        # below Linux's ephemeral range (32768-60999): a client socket's local port never takes a server's port
        kafka_port=int(os.environ.get("CASEFLOW_TEST_KAFKA_PORT", "29092")),
        kafka_controller_port=int(os.environ.get("CASEFLOW_TEST_KAFKA_CONTROLLER_PORT", "29093")),
        postgres_port=int(os.environ.get("CASEFLOW_TEST_POSTGRES_PORT", "29432")),
        zipkin_port=int(os.environ.get("CASEFLOW_TEST_ZIPKIN_PORT", "29411")),
        zipkin=zipkin,
        secure=False,  # the plain servers most tests use, whatever CASEFLOW_INFRA_SECURE says
    )


@pytest.fixture(scope="session")
def infra_settings() -> infra.InfraSettings:
    return _test_infra_settings()


@pytest.fixture(scope="session")
def infra_up(infra_settings: infra.InfraSettings) -> Iterator[infra.InfraStatus]:
    already_running = infra.status(infra_settings).all_ready
    status = infra.up(infra_settings)
    asyncio.run(_warm_group_coordinator(acl.client_options(infra_settings)))
    yield status
    # stop only what this session started: a concurrent run (or a developer's) keeps its servers
    if not already_running and not os.environ.get("CASEFLOW_TEST_KEEP_INFRA"):
        infra.down(infra_settings)


@pytest.fixture(scope="session")
def zipkin_up(infra_up: infra.InfraStatus) -> Iterator[str]:
    """Zipkin beside the session's Kafka and PostgreSQL (port CASEFLOW_TEST_ZIPKIN_PORT); yields its base URL."""
    settings = _test_infra_settings(zipkin=True)
    already_running = infra.read_pid(settings, infra.ZIPKIN) is not None
    infra.start_server(settings, infra.ZIPKIN)
    yield f"http://{infra.HOST}:{settings.zipkin_port}"
    if not already_running and not os.environ.get("CASEFLOW_TEST_KEEP_INFRA"):
        infra.terminate(settings, infra.ZIPKIN)


@pytest.fixture(scope="session")
def secure_infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[infra.InfraSettings]:
    """A second Kafka (SASL/SCRAM listener, ACL authoriser) + PostgreSQL on free ports, for the tests that prove
    the broker enforces each principal's grants; started on first use, stopped at the end of the session."""
    kafka_port, controller_port, postgres_port = free_ports(3)
    settings = infra.InfraSettings(
        home=tmp_path_factory.mktemp("secure-infra"),
        kafka_port=kafka_port,
        kafka_controller_port=controller_port,
        postgres_port=postgres_port,
        secure=True,
        start_timeout=120,
        zipkin=False,
    )
    try:
        status = infra.up(settings)
        assert status.all_ready and status.secure
        asyncio.run(_warm_group_coordinator(acl.client_options(settings)))
        yield settings
    finally:
        infra.wipe(settings)  # also its PostgreSQL cluster, relocated to /var/tmp when the server user is not us


@pytest.fixture
def principals(secure_infra: infra.InfraSettings) -> Principals:
    """A fresh topic prefix on the secure broker, its topics created and its ACLs applied."""
    prefix = f"s{uuid.uuid4().hex[:10]}"
    acl.apply_acls(secure_infra, prefix)
    return Principals(secure_infra, prefix)


@pytest.fixture
def platform(infra_up: infra.InfraStatus) -> PlatformSettings:
    """Settings pointing at the test servers, with a topic prefix of its own (tests never share topics)."""
    return PlatformSettings(
        kafka_bootstrap=infra_up.kafka_bootstrap,
        database_url=infra_up.database_url,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}",
        partitions=3,
    )


@pytest.fixture
def database_url(infra_up: infra.InfraStatus) -> str:
    """The test cluster's superuser URL (`caseflow_admin`, database `caseflow`); a test keeps its tables in a
    schema named after its topic prefix (`shared.db.schema_for`)."""
    return infra_up.database_url


def token(settings: PlatformSettings, subject: str, scopes: list[str]) -> dict[str, str]:
    """Authorization header for a test principal."""
    return {"Authorization": f"Bearer {issue_token(settings, subject, scopes)}"}
