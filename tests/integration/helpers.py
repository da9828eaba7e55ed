"""Helpers for integration tests: wait for a condition, read a topic to the end, act as a broker principal."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiokafka import ConsumerRecord
from pydantic import SecretStr

from caseflow_cli import acl, postgres
from caseflow_cli.infra import InfraSettings
from shared import kafka
from shared.db import Database, schema_for
from shared.settings import PlatformSettings


def free_ports(n: int) -> list[int]:
    """`n` distinct loopback ports that were free a moment ago (for servers a test starts on its own)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass(frozen=True)
class Principals:
    """The secure broker seen by each principal: `as_("police")` is what the police system gets from its
    CASEFLOW_KAFKA_* configuration (own SCRAM user, the ACLs of `caseflow_cli.acl.grants_for(prefix)`)."""

    infra: InfraSettings
    prefix: str

    def as_(self, user: str, password: str | None = None) -> PlatformSettings:
        return PlatformSettings(
            kafka_bootstrap=f"127.0.0.1:{self.infra.kafka_port}",
            kafka_security_protocol="SASL_PLAINTEXT",
            kafka_sasl_mechanism=acl.MECHANISM,
            kafka_username=user,
            kafka_password=SecretStr(password or acl.load_credentials(self.infra.credentials_file)[user]),
            database_url=SecretStr(postgres.url(self.infra, postgres.ADMIN, postgres.ADMIN_DB)),
            topic_prefix=self.prefix,
            partitions=3,
        )

    @property
    def admin(self) -> PlatformSettings:
        """Operations' view (super user): for reading the dead-letter topic and checking what arrived."""
        return self.as_(acl.ADMIN)


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], timeout: float = 30, what: str | Callable[[], str] = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what() if callable(what) else what}")
        await asyncio.sleep(0.1)


async def read_topic(
    settings: PlatformSettings, topic: str, *, expect: int, timeout: float = 30
) -> list[ConsumerRecord]:
    """Every record on `topic` from the start, waiting until at least `expect` arrived."""
    consumer = kafka.consumer(settings, topic, group_id=None, isolation_level="read_uncommitted")
    await consumer.start()
    out: list[ConsumerRecord] = []
    try:
        deadline = time.monotonic() + timeout
        while len(out) < expect and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                out.extend(records)
    finally:
        await consumer.stop()
    return out


async def drop_schemas(settings: PlatformSettings, *services: str) -> None:
    """Drop the schemas the named services made for this test's prefix (the shared server keeps none of ours)."""
    for service in services:
        await Database(settings.database_url.get_secret_value(), schema_for(settings, service)).drop()


async def count_rows(db: Database, table: str) -> int:
    """Rows in one of a service's tables (a test's view of what was stored)."""
    async with db.pool.connection() as conn:
        cur = await conn.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - the test names the table
        row = await cur.fetchone()
    return int(row[0]) if row else 0
