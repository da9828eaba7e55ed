"""What metrics folds: every department topic and partner inbound topic, each record decoded to an envelope."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

import shared.contracts  # noqa: F401  (registers every event type)
from shared import kafka
from shared.envelope import Envelope
from shared.events import EventRegistry
from shared.topics import PARTNERS, Topics


def source_topics(topics: Topics) -> list[str]:
    return [*topics.all_department_topics(), *(topics.partner_inbound(p) for p in PARTNERS)]


async def source_partitions(consumer: AIOKafkaConsumer, topics: Topics) -> list[TopicPartition]:
    """Every partition of every source topic (a started consumer's metadata)."""
    return [
        TopicPartition(t, p)
        for t in source_topics(topics)
        for p in sorted(await kafka.partitions_of(consumer, t, timeout=10))
    ]


def decode(msg: ConsumerRecord, registry: EventRegistry) -> Envelope:
    """CloudEvents binary mode → envelope whose data is the payload at the current schema version."""
    env = Envelope.from_kafka(msg.value, msg.headers)
    payload = env.payload(registry)  # unknown type/version or invalid payload raises → dead letter
    if env.schemaversion == payload.version:
        return env
    return env.model_copy(update={"data": payload.model_dump(mode="json"), "schemaversion": payload.version})
