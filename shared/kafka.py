"""aiokafka clients configured from `PlatformSettings`: one place for bootstrap, security and producer safety."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.envelope import Envelope
from shared.settings import PlatformSettings
from shared.telemetry import publishing
from shared.topics import Topics

log = logging.getLogger(__name__)


def client_options(settings: PlatformSettings) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol != "PLAINTEXT":
        opts["sasl_mechanism"] = settings.kafka_sasl_mechanism
        opts["sasl_plain_username"] = settings.kafka_username
        opts["sasl_plain_password"] = settings.kafka_password.get_secret_value() if settings.kafka_password else None
    return opts


def producer(settings: PlatformSettings, **overrides: Any) -> AIOKafkaProducer:
    """Idempotent, acks=all producer: a retried send never duplicates or reorders within a partition."""
    opts = {
        **client_options(settings),
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 5,
        "request_timeout_ms": 15000,
        **overrides,
    }
    return AIOKafkaProducer(**opts)


async def send(
    producer: AIOKafkaProducer, topic: str, env: Envelope, *, key: bytes | None = None
) -> asyncio.Future[Any]:
    """Send an envelope (CloudEvents binary mode, keyed by its subject unless `key`) inside its PRODUCER span, so
    it carries that span's trace context; returns the delivery future (await it for the acknowledgement)."""
    with publishing(env, topic) as sent:
        subject, value, headers = sent.to_kafka()
        return await producer.send(topic, value=value, key=key or subject, headers=headers)


def consumer(settings: PlatformSettings, *topics: str, group_id: str | None, **overrides: Any) -> AIOKafkaConsumer:
    opts = {
        **client_options(settings),
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
        # refresh metadata every 10 s (default 5 min): a partition whose first offset lookup met a broker
        # that did not yet know it leads (NotLeaderForPartition on a new topic) recovers in seconds
        "metadata_max_age_ms": 10_000,
        **overrides,
    }
    return AIOKafkaConsumer(*topics, **opts)


async def wait_for_positions(consumer: AIOKafkaConsumer, partitions: int, timeout: float = 60) -> None:
    """Wait until the consumer is assigned `partitions` partitions and holds a fetch position on each."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(consumer.assignment()) < partitions:
        if loop.time() > deadline:
            raise TimeoutError(f"consumer assigned {len(consumer.assignment())}/{partitions} partitions")
        await asyncio.sleep(0.1)
    for tp in consumer.assignment():
        await asyncio.wait_for(consumer.position(tp), timeout=max(1.0, deadline - loop.time()))


async def partitions_of(consumer: AIOKafkaConsumer, topic: str, timeout: float = 15) -> set[int]:
    """The partition ids of `topic`, refreshing the consumer's metadata until the broker reports them.

    A fresh consumer knows no topic yet (`partitions_for_topic` is None until a metadata refresh). aiokafka has
    no public "refresh metadata" call, so the one private call lives here rather than in every service.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        parts = consumer.partitions_for_topic(topic)
        if parts:
            return set(parts)
        if loop.time() > deadline:
            raise TimeoutError(f"topic {topic} has no partitions after {timeout}s")
        await consumer._client.force_metadata_update()
        if not consumer.partitions_for_topic(topic):
            await asyncio.sleep(0.2)


async def ensure_topics(
    settings: PlatformSettings,
    names: list[str] | None = None,
    *,
    compacted: bool = False,
    partitions: int | None = None,
    config: dict[str, str] | None = None,
    timeout: float = 30,
) -> None:
    """Create the platform's topics if missing and wait until every partition has a leader.

    Idempotent; partition count and prefix are configuration. Waiting for leaders matters: a client that
    starts on a just-created topic can otherwise park a partition on NotLeaderForPartition for minutes.
    Under broker ACLs a service sees only its granted topics and cannot create any; the admin creates them.
    `compacted`: every topic named is compacted (otherwise only the platform's compacted ones are).
    `partitions`, `config`: for the topics named (otherwise the platform's partition count, no further config).
    """
    topics = Topics(settings.topic_prefix)
    wanted = names if names is not None else topics.all()
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in wanted if n not in existing]
        if not missing:
            return
        new = [
            NewTopic(
                name=n,
                num_partitions=partitions or settings.partitions,
                replication_factor=settings.replication_factor,
                topic_configs={
                    **({"cleanup.policy": "compact"} if compacted or n in topics.compacted() else {}),
                    **(config or {}),
                },
            )
            for n in missing
        ]
        try:
            response = await admin.create_topics(new)
        except TopicAlreadyExistsError:
            response = None  # another process created them between our list and create
        created = missing
        if response is not None:
            errors = {name: code for name, code, *_ in response.topic_errors if code not in (0, 36)}
            if errors:
                log.debug("topics not created here (code 29 = not authorised): %s", errors)
            created = [n for n in missing if n not in errors]
        await _wait_for_leaders(admin, created, timeout)
        if created:
            log.info("created topics %s", created)
    finally:
        await admin.close()


async def _wait_for_leaders(admin: AIOKafkaAdminClient, names: list[str], timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    pending = list(names)
    while pending:
        described = await admin.describe_topics(pending)
        pending = [
            t["topic"]
            for t in described
            if t.get("error_code", 0) != 0 or not t["partitions"] or any(p["leader"] < 0 for p in t["partitions"])
        ]
        if not pending:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"topics without partition leaders after {timeout}s: {pending}")
        await asyncio.sleep(0.2)


async def finish(task: asyncio.Task[None] | None, consumer: AIOKafkaConsumer | None, timeout: float = 10) -> None:
    """End a consumer loop whose stop flag is set: let the batch in flight finish (cancel it only if it hangs past
    `timeout` s), then stop the consumer (leaving its group, so the others take its partitions at once)."""
    if task is not None:
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=timeout)
        except (TimeoutError, Exception):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    if consumer is not None:
        with contextlib.suppress(Exception):
            await consumer.stop()
