"""Incoming events through the same use cases as HTTP, over in-memory adapters: referrals, rulings, intake."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.mediation import consumers
from services.mediation.bootstrap import bootstrap
from services.mediation.config import Settings
from services.mediation.handlers import referral_dispute_id
from shared.contracts.common import Department, ReferralRefused
from shared.contracts.intake import RequestReferred
from shared.contracts.partners import ConfirmationOutcome, DisputeReferred, JudicialConfirmationDecided, ReferralKind
from shared.envelope import Envelope
from shared.errors import Forbidden, NotFound
from shared.settings import PlatformSettings
from tests.fakes import FixedClock, memory_adapters

NOW = datetime(2026, 5, 6, 8, 0, tzinfo=UTC)
P1, P2 = "p-" + "c" * 32, "p-" + "d" * 32


@pytest.fixture
def mediation():
    return bootstrap(
        Settings(platform=PlatformSettings(), sweep_interval_seconds=0), **memory_adapters(FixedClock(NOW))
    )


def envelope(payload, source: str, subject: str) -> Envelope:
    return Envelope.wrap(payload, source=source, subject=subject, correlationid="corr-1", actor=source)


def police_referral(ref: str = "110-20260506-0001") -> DisputeReferred:
    return DisputeReferred(
        partner_reference=ref,
        kind=ReferralKind.POLICE_110,
        dispute_type="neighbourhood",
        region="431002001000",
        parties=[P1, P2],
        summary="邻里停车纠纷",
        referred_at=NOW,
    )


async def test_a_redelivered_referral_registers_one_dispute_at_the_services_time(mediation):
    handle = consumers.partner_handlers(mediation)[DisputeReferred]
    referral = police_referral()
    env = envelope(referral, "partner/police", "110-20260506-0001")
    await handle(env, referral)
    await handle(env, referral)  # redelivered
    doc = await mediation.cases.get(referral_dispute_id("police", "110-20260506-0001"))
    assert doc is not None and doc["status"] == "registered" and doc["registered_at"] == NOW
    assert len(mediation.runtime.store.commits) == 1


async def test_only_the_court_rules_and_only_on_a_dispute_that_exists(mediation):
    handle = consumers.partner_handlers(mediation)[JudicialConfirmationDecided]
    ruling = JudicialConfirmationDecided(
        partner_reference="r-1", dispute_id="md-nope", outcome=ConfirmationOutcome.CONFIRMED, decided_at=NOW
    )
    with pytest.raises(Forbidden):
        await handle(envelope(ruling, "partner/police", "r-1"), ruling)
    with pytest.raises(NotFound):
        await handle(envelope(ruling, "partner/court", "r-1"), ruling)


async def test_an_intake_referral_opens_a_dispute_and_one_to_another_department_is_ignored(mediation):
    handle = consumers.intake_handlers(mediation)[RequestReferred]
    referral = RequestReferred(
        to_department="mediation",
        matter="物业费纠纷",
        person_ref=P1,
        region="440203001000",
        dispute_type="property_management",
    )
    await handle(envelope(referral, "caseflow/intake", "in-1"), referral)
    doc = await mediation.cases.get(referral_dispute_id("intake", "in-1"))
    assert doc is not None and doc["source"] == "intake" and doc["intake_case_id"] == "in-1"
    elsewhere = referral.model_copy(update={"to_department": Department.NOTARY})
    await handle(envelope(elsewhere, "caseflow/intake", "in-2"), elsewhere)
    assert await mediation.cases.get(referral_dispute_id("intake", "in-2")) is None
    no_type = referral.model_copy(update={"dispute_type": None})
    await handle(envelope(no_type, "caseflow/intake", "in-3"), no_type)  # refused back to intake, not raised
    assert await mediation.cases.get(referral_dispute_id("intake", "in-3")) is None
    [refused] = [e for e in mediation.runtime.store.all_events() if e.type == ReferralRefused.event_type]
    assert refused.correlationid == "corr-1" and "dispute type" in refused.to_dict()["data"]["reason"]
