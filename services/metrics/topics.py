"""The metrics writers' own topics: their names, consumer groups, partitioning and creation.

All are named `<prefix>.metrics.writer-*`, the only topics the metrics principal's ACLs let it create:
the by-case topic (every source event again, keyed by correlation id), the changelog (each case's fold state, in
the case's by-case partition) and the partials topic (each by-case partition's share of every published cell).
"""

from __future__ import annotations

from functools import lru_cache

from aiokafka.partitioner import DefaultPartitioner

from shared import kafka
from shared.settings import PlatformSettings

Positions = dict[tuple[str, int], int]  # (topic, partition) → next offset to read
TABLE = "cases"
# the partials topic is read from its start by every new reducer and every writer given partitions: compacted
# segments of ten minutes keep that read to the latest share per key plus a short tail
PARTIALS_CONFIG = {"cleanup.policy": "compact", "segment.ms": "600000", "min.cleanable.dirty.ratio": "0.1"}
_PARTITIONER = DefaultPartitioner()


def app_id(platform: PlatformSettings) -> str:
    """The faust writer's app id, also its consumer group."""
    return f"{platform.topic_prefix}.metrics.writer"


def changelog_topic(platform: PlatformSettings) -> str:
    """Correlation id → the case's pickled fold state (compacted), in the case's by-case partition."""
    return f"{app_id(platform)}-{TABLE}-changelog"


def by_case_topic(platform: PlatformSettings) -> str:
    """Every source event again, keyed by its correlation id (`services.metrics.route`): one case, one partition."""
    return f"{app_id(platform)}-by-case"


def partials_topic(platform: PlatformSettings) -> str:
    """Each by-case partition's share of every published cell (`services.metrics.partials`); one partition."""
    return f"{app_id(platform)}-partials"


def route_group(platform: PlatformSettings) -> str:
    """The routers' consumer group on the source topics."""
    return f"{app_id(platform)}-route"


def reduce_group(platform: PlatformSettings) -> str:
    """The reducers' consumer group on the partials topic (one member active: the topic has one partition)."""
    return f"{app_id(platform)}-reduce"


@lru_cache(maxsize=65536)  # a case's events come in bursts: murmur2 in pure Python was 3% of a writer's time
def partition_of(key: bytes, partitions: int) -> int:
    """The by-case partition of a case (key: its correlation id): Kafka's default partitioner (murmur2 of the key),
    the changelog uses the same partition, so a case's state and its events share a partition number."""
    return _PARTITIONER(key, list(range(partitions)), None)  # type: ignore[no-any-return]


async def ensure_writer_topics(platform: PlatformSettings) -> None:
    """The writers' internal topics, with leaders, before anyone uses them (created by the metrics principal: its
    ACLs let it create `<prefix>.metrics.writer-*`, and no one else's)."""
    await kafka.ensure_topics(platform)
    await kafka.ensure_topics(platform, [by_case_topic(platform)])
    await kafka.ensure_topics(platform, [changelog_topic(platform)], compacted=True)
    await kafka.ensure_topics(platform, [partials_topic(platform)], partitions=1, config=PARTIALS_CONFIG)
