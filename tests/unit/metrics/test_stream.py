"""The faust writer without a broker: app id and group under the metrics ACL prefix, broker and SASL credentials
from the platform settings, store and partitions from the settings; the fold stage reads the by-case topic, in
the partition a case's changelog record lands in."""

from __future__ import annotations

import faust
from aiokafka.partitioner import DefaultPartitioner

from services.metrics.config import Settings
from services.metrics.faust_app import broker_credentials, make_app
from services.metrics.topics import app_id, changelog_topic, partition_of
from services.metrics.writer import MetricsWriter
from shared.settings import PlatformSettings


def test_app_id_group_and_changelog_live_under_the_metrics_prefix():
    platform = PlatformSettings(topic_prefix="cf1")
    assert app_id(platform) == "cf1.metrics.writer"
    assert app_id(platform).startswith("cf1.metrics.")  # the consumer-group prefix the broker ACL grants
    assert changelog_topic(platform) == "cf1.metrics.writer-cases-changelog"


def test_app_takes_broker_and_partitions_from_settings(tmp_path):
    platform = PlatformSettings(topic_prefix="cf1", kafka_bootstrap="k1:9092,k2:9093", partitions=4)
    app = make_app(Settings(platform=platform, state_dir=tmp_path))
    assert app.conf.id == "cf1.metrics.writer"
    assert [str(u) for u in app.conf.broker] == ["kafka://k1:9092", "kafka://k2:9093"]
    assert app.conf.topic_partitions == 4
    assert app.conf.web_enabled is False
    assert app.conf.broker_credentials is None  # PLAINTEXT


def test_sasl_settings_become_faust_credentials():
    plain = PlatformSettings(
        kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_username="metrics", kafka_password="s3cret",
    )  # fmt: skip
    creds = broker_credentials(plain)
    assert isinstance(creds, faust.SASLCredentials)
    assert (creds.username, creds.password, creds.mechanism.value) == ("metrics", "s3cret", "SCRAM-SHA-512")
    assert creds.protocol.value == "SASL_PLAINTEXT" and creds.ssl_context is None
    tls = broker_credentials(plain.model_copy(update={"kafka_security_protocol": "SASL_SSL"}))
    assert tls is not None and tls.protocol.value == "SASL_SSL" and tls.ssl_context is not None


def test_the_fold_reads_the_by_case_topic_and_a_case_keeps_one_partition():
    platform = PlatformSettings(topic_prefix="cf1", partitions=6)
    writer = MetricsWriter(Settings(platform=platform))
    assert writer.source.topics == ("cf1.metrics.writer-by-case",)
    # faust's table partitions a key with the producer's default partitioner; the router must agree with it
    for cid in ("court-la-1", "rq-20261129-000001", "adv-431002001001"):
        assert partition_of(cid.encode(), 6) == DefaultPartitioner()(cid.encode(), list(range(6)), list(range(6)))


async def test_the_writers_consumer_fetches_with_the_configured_wait():
    """faust builds its consumer with fetch_max_wait_ms=1500: the writer's waits `fetch_max_wait_ms` instead, so a
    fetch holding only idle partitions does not keep the busy ones' records back for 1.5 s."""
    platform = PlatformSettings(topic_prefix="cf1", partitions=6)
    writer = MetricsWriter(Settings(platform=platform, fetch_max_wait_ms=80))
    thread = writer.app.consumer._thread  # type: ignore[attr-defined]
    consumer = thread._create_worker_consumer(writer.app.transport)
    try:
        assert consumer._fetch_max_wait_ms == 80
    finally:
        await consumer.stop()  # never started: closes its client
