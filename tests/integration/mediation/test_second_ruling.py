"""A second court ruling on one judicial confirmation request goes back to the court on the real broker: parked on
the dead-letter topic with the reason, and a `partner_event_rejected` on the court's outbound topic naming it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.contracts.partners import ConfirmationOutcome, JudicialConfirmationDecided
from shared.envelope import Envelope
from shared.topics import Topics
from tests.integration.helpers import eventually, read_topic
from tests.integration.mediation.test_flows import P1, _is, running, send

pytestmark = pytest.mark.integration


def ruling(dispute_id: str, reference: str, outcome: ConfirmationOutcome) -> Envelope:
    payload = JudicialConfirmationDecided(
        partner_reference=reference, dispute_id=dispute_id, outcome=outcome, decided_at=datetime.now(UTC)
    )
    return Envelope.wrap(payload, source="partner/court", subject=reference, correlationid="c-2", actor="partner:court")


async def test_a_duplicate_and_a_contradictory_ruling_are_rejected_back_to_the_court(platform):
    topics = Topics(platform.topic_prefix)
    async with running(platform, router=True) as (app, client):
        body = {
            "dispute_type": "neighbourhood",
            "region": "431002001000",
            "parties": [{"person_ref": P1}],
            "claim": "c",
        }
        dispute_id = (await client.post("/disputes", json=body)).json()["dispute_id"]
        for step, payload in (("assign", {}), ("agreement", {"terms": "恢复通道"}), ("request-confirmation", {})):
            r = await client.post(f"/disputes/{dispute_id}/{step}", json=payload)
            assert r.status_code == 200, (step, r.text)
        first = ruling(dispute_id, "(2026)湘1002民特1号", ConfirmationOutcome.CONFIRMED)
        await send(platform, topics.partner_inbound("court"), first, first)  # a redelivery is no second ruling
        await eventually(lambda: _is(app, dispute_id, "confirmed"), what="the first ruling recorded")
        duplicate = ruling(dispute_id, "(2026)湘1002民特2号", ConfirmationOutcome.CONFIRMED)
        contradictory = ruling(dispute_id, "(2026)湘1002民特3号", ConfirmationOutcome.REJECTED)
        await send(platform, topics.partner_inbound("court"), duplicate, contradictory)

        dead = await read_topic(platform, topics.deadletter, expect=2, timeout=20)
        parked = {dict(m.headers)["ce_subject"].decode(): dict(m.headers) for m in dead}
        assert set(parked) == {"(2026)湘1002民特2号", "(2026)湘1002民特3号"}
        assert parked["(2026)湘1002民特2号"]["dlq_error"] == b"duplicate_ruling"
        assert parked["(2026)湘1002民特3号"]["dlq_error"] == b"contradictory_ruling"
        assert b"already ruled confirmed" in parked["(2026)湘1002民特3号"]["dlq_reason"]

        rejections: list[Envelope] = []

        async def told() -> bool:
            out = await read_topic(platform, topics.partner_outbound("court"), expect=1, timeout=3)
            rejections[:] = [
                e for e in (Envelope.from_kafka(m.value, m.headers) for m in out) if e.type.endswith("event_rejected")
            ]
            return len(rejections) == 2

        await eventually(told, timeout=30, what="two rejections on the court's outbound topic")
        by_ref = {e.data["partner_reference"]: e.data for e in rejections}
        assert by_ref["(2026)湘1002民特2号"]["error_code"] == "duplicate_ruling"
        assert by_ref["(2026)湘1002民特3号"]["rejected_event_id"] == contradictory.id
        assert "a contradictory ruling (rejected) is refused" in by_ref["(2026)湘1002民特3号"]["reason"]
        assert await _is(app, dispute_id, "confirmed")
