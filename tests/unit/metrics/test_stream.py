"""The faust writer without a broker: app id and group under the metrics ACL prefix, broker and SASL credentials
from the platform settings, store and partitions from the settings, and the guard against partial sums when
another writer joins the group."""

from __future__ import annotations

import pickle

import faust
import pytest
from faust.types import TP
from pydantic import ValidationError

from services.metrics.config import Settings
from services.metrics.stream import MetricsWriter, app_id, broker_credentials, changelog_topic, make_app
from shared.settings import PlatformSettings
from tests.unit.metrics.helpers import T0, notified


def test_app_id_group_and_changelog_live_under_the_metrics_prefix():
    platform = PlatformSettings(topic_prefix="cf1")
    assert app_id(platform) == "cf1.metrics.writer"
    assert app_id(platform).startswith("cf1.metrics.")  # the consumer-group prefix the broker ACL grants
    assert changelog_topic(platform) == "cf1.metrics.writer-cases-changelog"


def test_app_takes_broker_store_and_partitions_from_settings(tmp_path):
    platform = PlatformSettings(topic_prefix="cf1", kafka_bootstrap="k1:9092,k2:9093", partitions=4)
    app = make_app(Settings(platform=platform, store="rocksdb://", state_dir=tmp_path))
    assert app.conf.id == "cf1.metrics.writer"
    assert [str(u) for u in app.conf.broker] == ["kafka://k1:9092", "kafka://k2:9093"]
    assert str(app.conf.store) == "rocksdb:"
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


def test_only_memory_and_rocksdb_stores_are_accepted():
    with pytest.raises(ValidationError, match="store"):
        Settings(store="redis://")


async def test_a_writer_owning_only_some_source_partitions_publishes_nothing_then_everything_once():
    platform = PlatformSettings(topic_prefix="cf1", partitions=2)
    writer = MetricsWriter(Settings(platform=platform), clock=lambda: T0)
    every = {TP(t, p) for t in writer.source.topics for p in range(2)}
    owned = set(every)
    writer.app.assignor.assigned_actives = lambda: owned  # type: ignore[method-assign]
    published: list[int] = []

    async def changed(engine, touched, now):  # type: ignore[no-untyped-def]
        published.append(len(touched))
        return []

    writer.publisher.changed = changed  # type: ignore[method-assign]
    owned.discard(TP(writer.source.topics[0], 1))  # another writer joined the group and took a partition
    await writer._on_recovered()
    assert writer.partial
    writer.engine.apply(notified("la-1", at=T0), T0)
    writer.cases.data[b"la-1"] = pickle.dumps(writer.engine.cases["la-1"])  # the store, without a changelog
    await writer.flush()
    assert published == []  # partial sums are never published
    owned.update(every)  # the other writer left: this one owns everything again
    await writer._on_recovered()
    assert not writer.partial
    await writer.flush()
    cells = len(writer.engine.aggregates.cells)
    assert cells > 0 and published == [cells]  # every cell once: changes made while partial were never sent
