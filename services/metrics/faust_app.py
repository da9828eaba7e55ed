"""The metrics writer's faust app: its configuration, and a seek work-around for faust on aiokafka 0.14.

faust serves the writers for the consumer group alone (it splits the by-case partitions between them and hands
them over on a rebalance) and for batching the stream; the fold state is kept outside it (docs/decisions/0004).
"""

from __future__ import annotations

import ssl
from typing import Any

import faust

from services.metrics.config import Settings
from services.metrics.topics import app_id
from shared.settings import PlatformSettings


def broker_credentials(platform: PlatformSettings) -> faust.SASLCredentials | None:
    if platform.kafka_security_protocol == "PLAINTEXT":
        return None
    return faust.SASLCredentials(
        username=platform.kafka_username,
        password=platform.kafka_password.get_secret_value() if platform.kafka_password else None,
        mechanism=platform.kafka_sasl_mechanism,
        ssl_context=ssl.create_default_context() if platform.kafka_security_protocol == "SASL_SSL" else None,
    )


def make_app(settings: Settings) -> faust.App:
    platform = settings.platform
    return faust.App(
        app_id(platform),
        broker=[f"kafka://{hp.strip()}" for hp in platform.kafka_bootstrap.split(",")],
        broker_credentials=broker_credentials(platform),
        datadir=str(settings.state_dir / app_id(platform)),
        topic_partitions=platform.partitions,
        topic_replication_factor=platform.replication_factor,
        consumer_auto_offset_reset="earliest",
        # faust's 60 s default keeps a killed writer's partitions unassigned for a minute after its restart
        broker_session_timeout=settings.session_timeout,
        web_enabled=False,  # queries are served by the metrics API (services.metrics.main)
        autodiscover=False,
    )


def seek_unread_partitions_too(app: faust.App, topics: set[str]) -> None:
    """Make the app's "seek back to the committed offsets" also rewind partitions committed at 0 or not at all.

    While faust reads a changelog after a rebalance it fetches the paused source partitions too and drops those
    records, counting on a seek to the committed offsets afterwards; aiokafka 0.14's `seek_to_committed` skips
    offsets that are 0 or missing, so the dropped records of such a partition would never be folded. Patched on this
    app's own consumer thread only.
    """
    thread = app.consumer._thread  # type: ignore[attr-defined]

    async def seek_to_committed() -> dict[Any, int | None]:
        consumer = thread._ensure_consumer()

        async def in_consumer_thread() -> dict[Any, int | None]:
            committed: dict[Any, int | None] = await consumer.seek_to_committed()
            for tp, offset in committed.items():
                # nothing committed yet: read it all. Not seek_to_beginning: a partition awaiting its offset
                # reset has no position, and faust's livelock check crashes the consumer reading it
                if tp.topic in topics and not offset:
                    consumer.seek(tp, 0)
            return committed

        result: dict[Any, int | None] = await thread.call_thread(in_consumer_thread)
        return result

    thread.seek_to_committed = seek_to_committed


def fetch_promptly(app: faust.App, max_wait_ms: int) -> None:
    """Make the app's consumer wait at most `max_wait_ms` at the broker for a fetch (faust fixes 1,500 ms).

    aiokafka keeps one fetch in flight per broker, for the partitions with no records buffered: when the by-case
    partitions all hold some, the fetch in flight asks only for idle ones (faust's assignor topic) and the broker
    holds it the full wait, so the busy partitions' next records wait behind it (1-1.6 s at 1,000 events/s).
    Patched on this app's own consumer thread only.
    """
    thread = app.consumer._thread  # type: ignore[attr-defined]
    create = thread._create_worker_consumer

    def create_worker_consumer(transport: Any) -> Any:
        consumer = create(transport)
        consumer._fetch_max_wait_ms = max_wait_ms  # read when the consumer starts its fetcher
        return consumer

    thread._create_worker_consumer = create_worker_consumer


def heartbeat_while_assigned(app: faust.App) -> None:
    """Keep the app's consumer heartbeating while the writer loads its newly assigned partitions.

    aiokafka stops the group heartbeat for a rejoin and starts it again only once the assignment callback returns;
    the writer's callback loads every case of its partitions from the changelog (minutes at a province's million
    cases), so past the session timeout the broker expelled the member, the group rebalanced and the load began
    again, for ever. The Java client heartbeats from its own thread during the callback; so does this one now (the
    callback runs on the main thread, the heartbeat on the consumer's). Patched on this app's consumer thread only.
    """
    thread = app.consumer._thread  # type: ignore[attr-defined]
    assigned = thread.on_partitions_assigned

    async def on_partitions_assigned(partitions: Any, generation_id: int = 0) -> None:
        thread._ensure_consumer()._coordinator._start_heartbeat_task()  # no-op when it runs already
        await assigned(partitions, generation_id)

    thread.on_partitions_assigned = on_partitions_assigned


def raw_schema() -> faust.Schema:
    """Bytes in, bytes out. A new one per table/topic: faust changes the schema object it is given."""
    return faust.Schema(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
