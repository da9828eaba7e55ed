"""访调对接: the petition office (信访部门) refers disputes to people's mediation and gets the acknowledgement and the
outcome back on its own topic, like court, police and procuratorate (seed 004: 提升访调对接效果)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.mediation import consumers, domain
from services.mediation.bootstrap import bootstrap
from services.mediation.config import Settings
from services.mediation.domain import decider
from services.mediation.handlers import referral_dispute_id
from services.mediation.main import create_app
from shared.contracts.common import Partner
from shared.contracts.mediation import (
    AckDecision,
    DisputeRegistered,
    Outcome,
    OutcomeNotified,
    ReferralAcknowledged,
    Referrer,
    Source,
)
from shared.contracts.partners import DisputeReferred, ReferralKind
from shared.envelope import Envelope
from shared.errors import ValidationFailed
from shared.settings import PlatformSettings
from tests.conftest import token
from tests.fakes import FixedClock, memory_adapters

T0 = datetime(2026, 5, 6, 8, 0, tzinfo=UTC)
P1, P2 = "p-" + "a" * 32, "p-" + "b" * 32
REF = "湘1002信转〔2026〕17号"
SETTINGS = PlatformSettings()


def petition(**kw) -> domain.RegisterDispute:
    base = {
        "dispute_id": "md-1", "at": T0, "source": Source.PETITION, "dispute_type": "neighbourhood",
        "region": "431002001000", "parties": [P1, P2], "claim": "宅基地边界争议, 多次信访",
        "time_limit_days": 30, "referrer": Referrer.PETITION_OFFICE, "partner_reference": REF,
    }  # fmt: skip
    return domain.RegisterDispute(**{**base, **kw})


def fit() -> domain.CommitteeFit:
    return domain.CommitteeFit(
        committee_id="431002001-town", committee_kind="town", regions=["431002001000"],
        dispute_types=["neighbourhood"], mediator_id="m-1", mediator_committee_id="431002001-town",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("ending", "outcome"),
    [
        (domain.SignAgreement(at=T0 + timedelta(days=3), terms="双方按原界址修复围墙"), Outcome.AGREEMENT),
        (domain.FailMediation(at=T0 + timedelta(days=3), reason="一方拒绝调解"), Outcome.FAILED),
        (domain.Withdraw(at=T0 + timedelta(days=3), reason="已自行和解"), Outcome.WITHDRAWN),
    ],
)
def test_a_petition_referral_is_acknowledged_and_its_outcome_told_to_the_petition_office(ending, outcome):
    """Seed 004 (访调对接): the petition office gets the receipt and the result (agreement / failed / withdrawn)."""
    steps = [petition(), domain.AssignMediator(at=T0 + timedelta(days=1), fit=fit()), ending]
    _, events = decider.run(steps)
    ack = events[1]
    assert isinstance(events[0], DisputeRegistered) and events[0].referrer is Referrer.PETITION_OFFICE
    assert isinstance(ack, ReferralAcknowledged) and ack.recipient is Partner.PETITION_OFFICE
    assert (ack.decision, ack.partner_reference) == (AckDecision.ACCEPTED, REF)
    notice = events[-1]
    assert isinstance(notice, OutcomeNotified) and notice.recipient is Partner.PETITION_OFFICE
    assert (notice.outcome, notice.partner_reference) == (outcome, REF)


def test_the_petition_office_refers_only_petition_disputes_and_names_its_reference():
    """Seed 004: each organ refers its own kind (访调 from 信访, 警调 from 110 …), with its own case number."""
    with pytest.raises(ValidationFailed) as err:
        decider.run([petition(source=Source.POLICE_110)])
    assert err.value.field == "kind"
    with pytest.raises(ValidationFailed) as err:
        decider.run([petition(partner_reference=None)])
    assert err.value.field == "partner_reference"


async def test_the_petition_offices_referral_event_registers_a_dispute_under_its_reference():
    """Seed 004 (访调对接): a `dispute_referred` of kind petition on the office's topic opens the dispute; staff who
    type the same referral in over HTTP land on the same dispute."""
    adapters = memory_adapters(FixedClock(T0))
    mediation = bootstrap(Settings(platform=SETTINGS, sweep_interval_seconds=0), **adapters)
    referral = DisputeReferred(
        partner_reference=REF, kind=ReferralKind.PETITION, dispute_type="neighbourhood", region="431002001000",
        parties=[P1, P2], summary="宅基地边界争议", referred_at=T0,
    )  # fmt: skip
    env = Envelope.wrap(
        referral, source="partner/petition_office", subject=REF, correlationid="c-1", actor="partner:petition_office"
    )
    await consumers.partner_handlers(mediation)[DisputeReferred](env, referral)
    dispute_id = referral_dispute_id("petition_office", REF)
    doc = await mediation.cases.get(dispute_id)
    assert doc is not None and doc["status"] == "registered" and doc["source"] == "petition"

    app = create_app(Settings(platform=SETTINGS, sweep_interval_seconds=0), **adapters)
    headers = token(SETTINGS, "dept:mediation", ["mediation:write"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers) as c:
        r = await c.post("/disputes", json={"source": "petition", "petition_reference": REF, "dispute_type":
                         "neighbourhood", "region": "431002001000", "parties": [{"person_ref": P1}],
                         "claim": "宅基地边界争议"})  # fmt: skip
    assert r.status_code in (200, 201), r.text
    assert r.json()["dispute_id"] == dispute_id and r.json()["events"] == []  # the same referral: nothing added


async def test_the_petition_office_refers_over_http_in_its_own_name_and_only_petition_disputes():
    """Seed 004 (访调对接): an office without Kafka posts its referral to mediation's partner route with its own
    token; a referral of another organ's kind is refused naming the field."""
    adapters = memory_adapters(FixedClock(T0))
    app = create_app(Settings(platform=SETTINGS, sweep_interval_seconds=0), **adapters)
    headers = token(SETTINGS, "partner:petition_office", ["partner:petition_office"])
    body = {"partner_reference": REF, "kind": "petition", "dispute_type": "neighbourhood", "region": "431002001000",
            "parties": [P1, P2], "summary": "宅基地边界争议", "referred_at": T0.isoformat()}  # fmt: skip
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers) as c:
        r = await c.post("/referrals", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["dispute_id"] == referral_dispute_id("petition_office", REF)
        assert r.json()["decision"] == "accepted"
        r = await c.post("/referrals", json={**body, "partner_reference": "x-2", "kind": "police_110"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "kind"
