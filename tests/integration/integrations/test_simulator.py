"""The partner simulators against the real broker (no services needed): every kind of request of every partner,
decodable."""

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from integrations.simulator import PartnerSimulator
from shared import kafka
from shared.contracts.mediation import ConfirmationRequested
from shared.contracts.partners import DisputeReferred, JudicialConfirmationDecided
from shared.envelope import Envelope
from shared.events import registry
from shared.topics import PARTNERS, Topics
from tests.integration.helpers import eventually, read_topic

pytestmark = pytest.mark.integration


async def test_simulator_sends_every_kind_and_answers_a_confirmation_request(platform):
    topics = Topics(platform.topic_prefix)
    sim = PartnerSimulator(platform, rate=20, answer_delay=(0.1, 0.2), confirm_share=1.0, seed=7)
    task = asyncio.create_task(sim.run(minutes=0))
    try:
        await eventually(lambda: sum(t.sent.total() for t in sim.tally.values()) >= 20, timeout=30, what="20 sent")
        # the court's outbound: a mediation confirmation request the court must answer
        request = ConfirmationRequested(
            recipient="court",
            partner_reference="(2026)湘1002民诉前调9号",
            dispute_id="md-court-abc",
            requested_at=datetime.now(UTC),
            region="431002001000",
            dispute_type="contract_debt",
            parties=["p-" + "a" * 32],
            terms="分三期还款",
            confirmation_deadline=datetime.now(UTC) + timedelta(days=30),
        )
        notice = Envelope.wrap(
            request, source="caseflow/mediation", subject="md-court-abc", correlationid="corr-x", actor="dept:mediation"
        )
        producer = kafka.producer(platform)
        await producer.start()
        try:
            key, value, headers = notice.to_kafka()
            for _ in range(2):  # a redelivered notice is answered once
                await producer.send_and_wait(topics.partner_outbound("court"), value=value, key=key, headers=headers)
        finally:
            await producer.stop()
        await eventually(
            lambda: sim.tally["court"].answered[JudicialConfirmationDecided.event_type] == 1, timeout=30, what="ruling"
        )
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert sim.tally["court"].received[ConfirmationRequested.event_type] == 1

    seen: Counter[tuple[str, str]] = Counter()
    rulings = []
    for partner in PARTNERS:
        sent = sim.tally[partner].sent.total()
        records = await read_topic(platform, topics.partner_inbound(partner), expect=sent, timeout=20)
        assert len(records) >= sent  # a send cancelled at shutdown may still have landed
        for r in records:
            env = Envelope.from_kafka(r.value, r.headers)
            payload = env.payload(registry)  # every event decodes against the registry
            assert env.source == f"partner/{partner}" and env.actor == f"partner:{partner}"
            assert env.subject == payload.partner_reference and r.key == env.subject.encode()
            assert env.correlationid
            kind = payload.kind.value if isinstance(payload, DisputeReferred) else env.type.rsplit(".", 1)[1]
            seen[(partner, kind)] += 1
            if isinstance(payload, JudicialConfirmationDecided):
                rulings.append((env, payload))
    assert {k for p, k in seen if p == "court"} >= {
        "court_pre_litigation",
        "notified_defence_requested",
        "detainee_application_forwarded",
        "notary_commissioned",
        "judicial_confirmation_decided",
    }
    assert {k for p, k in seen if p == "police"} == {
        "police_110",
        "notified_defence_requested",
        "detainee_application_forwarded",
    }
    assert {k for p, k in seen if p == "procuratorate"} == {
        "procuratorate_reconciliation",
        "notified_defence_requested",
        "detainee_application_forwarded",
    }
    # seed 004: 访调对接 from the petition office, call transfers from 12345 and 110
    assert {k for p, k in seen if p == "petition_office"} == {"petition"}
    assert (
        {k for p, k in seen if p == "hotline_12345"}
        == {k for p, k in seen if p == "dispatch_110"}
        == {"call_transferred"}
    )
    ((env, ruling),) = rulings
    assert ruling.dispute_id == "md-court-abc" and ruling.outcome.value == "confirmed"
    assert env.correlationid == "corr-x" and env.causationid == notice.id
    # a fresh correlation id per case
    fresh = [e.correlationid for e in sim.sent_envelopes if e.type != JudicialConfirmationDecided.event_type]
    assert len(set(fresh)) == len(fresh)
