"""The secure broker: SASL/SCRAM authentication and the ACLs from `caseflow_cli.acl`, against a real Kafka.

Uses the session's secure Kafka + PostgreSQL (`secure_infra` in tests/conftest.py: own home under tmp, own free
ports; the shared test servers are not touched), applies the ACLs for a test prefix and then acts as the
principals with aiokafka clients: the broker itself must refuse what a principal was not granted.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.conn import create_conn
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    SaslAuthenticationFailed,
    TopicAuthorizationFailedError,
)

from caseflow_cli import acl, infra
from caseflow_cli.infra import InfraError, InfraSettings
from shared import kafka
from shared.settings import PlatformSettings
from shared.topics import PARTNERS, Topics
from tests.integration.helpers import Principals

pytestmark = pytest.mark.integration

PREFIX = f"sec{uuid.uuid4().hex[:8]}"
T = Topics(PREFIX)


@pytest.fixture(scope="module")
def secure(secure_infra: InfraSettings) -> InfraSettings:
    report = acl.apply_acls(secure_infra, PREFIX)
    assert report.added == report.acls == len(acl.grants_for(PREFIX))
    assert sorted(report.topics) == sorted(T.all())
    return secure_infra


def _platform(settings: InfraSettings, user: str, password: str | None = None) -> PlatformSettings:
    """What a service gets from CASEFLOW_KAFKA_* in secure mode."""
    return Principals(settings, PREFIX).as_(user, password)


async def _send(settings: InfraSettings, user: str, topic: str, value: bytes) -> None:
    producer = kafka.producer(_platform(settings, user))
    try:
        await producer.start()
        await producer.send_and_wait(topic, value, key=b"case-1")
    finally:
        await producer.stop()


async def _read(settings: InfraSettings, user: str, topic: str, group: str | None, expect: int = 1) -> list[bytes]:
    consumer: AIOKafkaConsumer = kafka.consumer(_platform(settings, user), topic, group_id=group)
    out: list[bytes] = []
    try:
        await consumer.start()
        for _ in range(60):
            batch = await consumer.getmany(timeout_ms=500)
            out += [r.value for records in batch.values() for r in records if r.value is not None]
            if len(out) >= expect:
                break
        if group:
            await consumer.commit()
    finally:
        await consumer.stop()
    return out


def test_grants_give_each_partner_only_its_own_topics() -> None:
    grants = acl.grants_for("p")
    assert {"petition_office", "hotline_12345", "dispatch_110"} <= set(PARTNERS)  # seed 004: 访调, 12345/110 联动
    for partner in PARTNERS:
        mine = {(g.resource_type, g.name, g.operation) for g in grants if g.user == partner}
        assert mine == {
            ("TOPIC", f"p.partner.{partner}.inbound", "WRITE"),
            ("TOPIC", f"p.partner.{partner}.inbound", "DESCRIBE"),
            ("TOPIC", f"p.partner.{partner}.outbound", "READ"),
            ("TOPIC", f"p.partner.{partner}.outbound", "DESCRIBE"),
            ("TOPIC", "p.metrics.indicators", "READ"),
            ("TOPIC", "p.metrics.indicators", "DESCRIBE"),
            ("GROUP", f"p.partner.{partner}.", "READ"),
        }
    # no ALTER/ALL for anyone; CREATE only for the metrics writer's own faust topics (`p.metrics.writer-*`)
    others = [g for g in grants if g.operation not in ("READ", "WRITE", "DESCRIBE")]
    assert {(g.user, g.name, g.pattern, g.operation) for g in others} == {
        ("metrics", "p.metrics.writer-", "PREFIXED", "CREATE")
    }
    assert not [g for g in grants if g.user == acl.ADMIN]  # admin is a super user, needs none


async def test_court_writes_its_inbound_and_reads_its_outbound(secure: InfraSettings) -> None:
    await _send(secure, "court", T.partner_inbound("court"), b"referral")
    await _send(secure, "router", T.partner_outbound("court"), b"acknowledgement")  # the router's grant

    got = await _read(secure, "court", T.partner_outbound("court"), f"{PREFIX}.partner.court.sim")
    assert got == [b"acknowledgement"]
    # The departments consume partner inbound topics.
    assert await _read(secure, "mediation", T.partner_inbound("court"), f"{PREFIX}.mediation.referrals") == [
        b"referral"
    ]


async def test_police_cannot_read_the_courts_outbound_topic(secure: InfraSettings) -> None:
    with pytest.raises(TopicAuthorizationFailedError) as err:
        await _read(secure, "police", T.partner_outbound("court"), f"{PREFIX}.partner.police.sim")
    assert T.partner_outbound("court") in str(err.value)
    with pytest.raises(TopicAuthorizationFailedError):  # nor without a consumer group
        await _read(secure, "police", T.partner_outbound("court"), None)


async def test_police_cannot_use_the_courts_consumer_group(secure: InfraSettings) -> None:
    with pytest.raises(GroupAuthorizationFailedError) as err:
        await _read(secure, "police", T.partner_outbound("police"), f"{PREFIX}.partner.court.sim")
    assert f"{PREFIX}.partner.court.sim" in str(err.value)


async def test_police_cannot_write_the_courts_inbound_topic(secure: InfraSettings) -> None:
    with pytest.raises(TopicAuthorizationFailedError) as err:
        await _send(secure, "police", T.partner_inbound("court"), b"forged referral")
    assert T.partner_inbound("court") in str(err.value)


async def test_the_hotlines_and_the_petition_office_are_confined_to_their_own_topics(secure: InfraSettings) -> None:
    """Seed 004 (12345/110 联动, 访调对接): each new partner principal writes its inbound and reads its outbound topic,
    and the broker refuses it another partner's topics and consumer group."""
    await _send(secure, "hotline_12345", T.partner_inbound("hotline_12345"), b"call transferred")
    await _send(secure, "router", T.partner_outbound("dispatch_110"), b"request transferred")
    got = await _read(secure, "dispatch_110", T.partner_outbound("dispatch_110"), f"{PREFIX}.partner.dispatch_110.sim")
    assert got == [b"request transferred"]
    assert await _read(secure, "intake", T.partner_inbound("hotline_12345"), f"{PREFIX}.intake.partners") == [
        b"call transferred"
    ]
    for user, topic in (
        ("hotline_12345", T.partner_outbound("dispatch_110")),
        ("dispatch_110", T.partner_outbound("police")),
        ("petition_office", T.partner_outbound("court")),
        ("hotline_12345", T.partner_outbound("petition_office")),
    ):
        with pytest.raises(TopicAuthorizationFailedError):
            await _read(secure, user, topic, None)
    for user, topic in (
        ("hotline_12345", T.partner_inbound("dispatch_110")),
        ("dispatch_110", T.partner_inbound("police")),
        ("petition_office", T.partner_inbound("court")),
        ("police", T.partner_inbound("petition_office")),
    ):
        with pytest.raises(TopicAuthorizationFailedError):
            await _send(secure, user, topic, b"forged")
    with pytest.raises(GroupAuthorizationFailedError):
        await _read(secure, "hotline_12345", T.partner_outbound("hotline_12345"), f"{PREFIX}.partner.dispatch_110.sim")


async def test_intake_writes_its_own_events_but_not_legal_aids(secure: InfraSettings) -> None:
    await _send(secure, "intake", T.department("intake"), b"case opened")
    with pytest.raises(TopicAuthorizationFailedError):
        await _send(secure, "intake", T.department("legal_aid"), b"not mine")
    # What did arrive is exactly the permitted record (read back by another department).
    assert await _read(secure, "legal_aid", T.department("intake"), None) == [b"case opened"]


async def test_wrong_password_fails_authentication(secure: InfraSettings) -> None:
    with pytest.raises(SaslAuthenticationFailed, match="invalid credentials"):
        await create_conn(
            "127.0.0.1",
            secure.kafka_port,
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_plain_username="court",
            sasl_plain_password="not-the-court-password",
        )
    conn = await create_conn(  # the same call with the right password connects
        "127.0.0.1",
        secure.kafka_port,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username="court",
        sasl_plain_password=acl.load_credentials(secure.credentials_file)["court"],
    )
    conn.close()


async def test_unauthenticated_client_is_not_served(secure: InfraSettings) -> None:
    # The SASL listener closes a connection that does not start with a SASL handshake.
    producer = AIOKafkaProducer(bootstrap_servers=f"127.0.0.1:{secure.kafka_port}", request_timeout_ms=3000)
    try:
        with pytest.raises(KafkaConnectionError, match="Unable to bootstrap"):
            await asyncio.wait_for(producer.start(), 20)
    finally:
        await producer.stop()


def test_plain_home_is_refused_in_secure_mode(secure: InfraSettings, tmp_path: Path) -> None:
    (tmp_path / "kafka" / "data").mkdir(parents=True)
    (tmp_path / "kafka" / "data" / "meta.properties").write_text("version=1\n")  # a formatted plain home
    plain_home = secure.model_copy(update={"home": tmp_path})
    with pytest.raises(InfraError, match="infra wipe"):
        infra.up(plain_home)
    (tmp_path / "kafka" / "security.json").write_text(json.dumps({"secure": True}))
    with pytest.raises(InfraError, match="CASEFLOW_INFRA_SECURE=1"):
        infra.up(secure.model_copy(update={"home": tmp_path, "secure": False}))


async def test_service_startup_topic_check_passes_without_create_rights(secure: InfraSettings) -> None:
    # ServiceRuntime.start calls ensure_topics; the topics exist (admin made them), so it must not fail.
    await kafka.ensure_topics(_platform(secure, "intake"))
    await kafka.ensure_topics(_platform(secure, "router"))


async def test_reapplying_revokes_grants_that_are_not_in_the_table(
    secure: InfraSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    court_out = T.partner_outbound("court")
    extra = [acl.Grant("police", "TOPIC", court_out, "LITERAL", op) for op in ("READ", "DESCRIBE")]
    table = acl.grants_for(PREFIX)
    monkeypatch.setattr(acl, "grants_for", lambda prefix: [*table, *extra])
    assert (await asyncio.to_thread(acl.apply_acls, secure, PREFIX)).added == 2
    await _send(secure, "router", court_out, b"for the court only")
    assert await _read(secure, "police", court_out, None)  # the stray grant works: police reads court records

    monkeypatch.setattr(acl, "grants_for", lambda prefix: table)
    assert (await asyncio.to_thread(acl.apply_acls, secure, PREFIX)).removed == 2
    for _ in range(50):  # the authoriser applies the deletion from the metadata log, normally at once
        try:
            await _read(secure, "police", court_out, None)
        except TopicAuthorizationFailedError:
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("police could still read the court's outbound topic after its grant was removed")
