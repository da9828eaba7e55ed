"""aiokafka clients configured from `PlatformSettings`: one place for bootstrap, security and producer safety."""

from __future__ import annotations

import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.settings import PlatformSettings
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


def consumer(settings: PlatformSettings, *topics: str, group_id: str | None, **overrides: Any) -> AIOKafkaConsumer:
    opts = {
        **client_options(settings),
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
        **overrides,
    }
    return AIOKafkaConsumer(*topics, **opts)


async def ensure_topics(settings: PlatformSettings, names: list[str] | None = None) -> None:
    """Create the platform's topics if missing (idempotent; partition count and prefix are configuration)."""
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
                num_partitions=settings.partitions,
                replication_factor=settings.replication_factor,
                topic_configs={"cleanup.policy": "compact"} if n in topics.compacted() else {},
            )
            for n in missing
        ]
        try:
            await admin.create_topics(new)
        except TopicAlreadyExistsError:
            pass  # another process created them between our list and create
        log.info("created topics %s", missing)
    finally:
        await admin.close()
