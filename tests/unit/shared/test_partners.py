"""The partner traffic rules: who may send which request, and whose inbound topics a department reads.

Sources: seed 004 (12348 ↔ 12345 ↔ 110 联动; 访调对接 with the petition office) and seed 002 (12348 与 110 联动).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiokafka import ConsumerRecord
from pydantic import ValidationError

from shared.contracts.common import Partner, PartnerEventRejected
from shared.contracts.hotline_linkage import RequestTransferred, TransferResultReported
from shared.contracts.intake import RequestKind
from shared.contracts.mediation import OutcomeNotified
from shared.contracts.partners import (
    CallTransferred,
    DisputeReferred,
    JudicialConfirmationDecided,
    NotifiedDefenceRequested,
    ReferralKind,
)
from shared.envelope import Envelope
from shared.partners import inbound_guard, partner_of_topic, partners_sending
from shared.topics import PARTNERS, Topics

NOW = datetime(2026, 5, 6, 8, 0, tzinfo=UTC)
TOPICS = Topics("t")


def record(topic: str) -> ConsumerRecord:
    return ConsumerRecord(topic, 0, 0, 0, 0, b"k", b"{}", None, 0, 0, [])


def sent(payload, partner: str, source: str | None = None) -> tuple[ConsumerRecord, Envelope]:
    env = Envelope.wrap(
        payload, source=source or f"partner/{partner}", subject="ref-1", correlationid="c", actor=f"partner:{partner}"
    )
    return record(TOPICS.partner_inbound(partner)), env


def transfer_in() -> CallTransferred:
    return CallTransferred(
        partner_reference="12345-1", region="431002001000", kind=RequestKind.HELP, topic="labour", reason="r",
        asked="a", transferred_at=NOW,
    )  # fmt: skip


def petition_referral() -> DisputeReferred:
    return DisputeReferred(
        partner_reference="湘1002信转〔2026〕3号", kind=ReferralKind.PETITION, dispute_type="land_contract",
        region="431002001000", parties=["p-" + "a" * 32], summary="土地承包边界争议", referred_at=NOW,
    )  # fmt: skip


def test_the_new_partners_are_partners_with_their_own_topics():
    """Seed 004: the petition office, 12345 and 110 exchange events like court, police and procuratorate."""
    assert set(PARTNERS) == {p.value for p in Partner}
    for p in ("petition_office", "hotline_12345", "dispatch_110"):
        assert TOPICS.partner_inbound(p) == f"t.partner.{p}.inbound" and TOPICS.partner_outbound(p) in TOPICS.all()
        assert partner_of_topic(TOPICS.partner_inbound(p)) == p
    assert partner_of_topic("t.partner.army.inbound") is None


def test_12345_and_110_transfer_calls_and_the_petition_office_refers_disputes():
    """Seed 004 (12345/110 联动, 访调对接): each partner's own requests pass the guard."""
    assert inbound_guard(*sent(transfer_in(), "hotline_12345")) is None
    assert inbound_guard(*sent(transfer_in(), "dispatch_110")) is None
    assert inbound_guard(*sent(petition_referral(), "petition_office")) is None


@pytest.mark.parametrize(
    ("payload", "partner", "words"),
    [
        (transfer_in(), "police", "the police may not send caseflow.partner.call_transferred"),
        (petition_referral(), "hotline_12345", "may not send caseflow.partner.dispute_referred"),
        (
            JudicialConfirmationDecided(partner_reference="r", dispute_id="md-1", outcome="confirmed", decided_at=NOW),
            "petition_office",
            "sent by: court",
        ),
        (
            NotifiedDefenceRequested(
                partner_reference="r",
                kind="duty_lawyer",
                defendant_ref="p-" + "b" * 32,
                region="431002001000",
                stage="investigation",
                charge="theft",
                notified_at=NOW,
            ),
            "dispatch_110",
            "may not send",
        ),  # fmt: skip
        (
            OutcomeNotified(recipient="court", dispute_id="md-1", outcome="failed", at=NOW),
            "petition_office",
            "not a partner request",
        ),
    ],
)
def test_a_request_the_partner_may_not_send_is_refused_with_the_reason(payload, partner, words):
    """Seed 004: each organ sends its own kind of request (only the court rules on 司法确认; only 12345 and 110
    transfer calls); anything else is refused, so the router tells the sender (partner_event_rejected)."""
    refusal = inbound_guard(*sent(payload, partner))
    assert refusal is not None and words in refusal


def test_impersonation_is_still_refused_first():
    refusal = inbound_guard(*sent(transfer_in(), "dispatch_110", source="partner/hotline_12345"))
    assert refusal is not None and "does not match the sending partner 'partner/dispatch_110'" in refusal


def test_a_department_reads_the_inbound_topics_of_the_partners_that_send_what_it_handles():
    """Seed 004: intake hears 12345 and 110; mediation the referring organs including the petition office."""
    assert partners_sending([CallTransferred]) == ["hotline_12345", "dispatch_110"]
    assert partners_sending([DisputeReferred, JudicialConfirmationDecided]) == [
        "court",
        "police",
        "procuratorate",
        "petition_office",
    ]
    assert partners_sending([JudicialConfirmationDecided, RequestTransferred]) == ["court"]  # notices send nothing


def test_notices_go_to_their_own_partners():
    """Seed 004: linkage notices go to the hotlines, mediation outcomes to the referring organs, refusals to all."""
    assert (
        RequestTransferred.recipients
        == TransferResultReported.recipients
        == {
            Partner.HOTLINE_12345,
            Partner.DISPATCH_110,
        }
    )
    assert Partner.PETITION_OFFICE in OutcomeNotified.recipients
    assert PartnerEventRejected.recipients == set(Partner)


def test_a_hotline_ticket_is_a_plain_reference():
    """A ticket becomes the intake request's external reference: letters, digits and . _ : - only."""
    with pytest.raises(ValidationError):
        CallTransferred.model_validate({**transfer_in().model_dump(), "partner_reference": "票 1"})
