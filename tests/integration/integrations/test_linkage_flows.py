"""The new partners end to end on the secure broker (SASL/SCRAM + ACLs), through the router: 12345 → 12348 transfer
and its result back, 12348 → 110 transfer answered by the simulated 110 with its ticket and result, and the
petition office's referral to mediation with the outcome back (seeds 002 and 004).

Every piece connects as its own principal (`hotline_12345`, `dispatch_110`, `petition_office`, `intake`,
`mediation`, `router`), so a grant missing from `caseflow_cli.acl` fails these flows."""

import asyncio
from datetime import UTC, datetime

import pytest

from integrations.simulator import PartnerSimulator
from services.intake.config import Settings as IntakeSettings
from services.intake.domain import transfer_request_id
from services.intake.main import create_app as intake_app
from services.mediation.config import Settings as MediationSettings
from services.mediation.handlers import referral_dispute_id
from services.mediation.main import create_app as mediation_app
from shared.contracts.common import Partner
from shared.contracts.intake import RequestKind
from shared.contracts.partners import CallTransferred, DisputeReferred, ReferralKind
from shared.envelope import Envelope
from shared.topics import Topics
from tests.conftest import token
from tests.integration.helpers import eventually, read_topic
from tests.integration.integrations.flows import outbound, running, send

pytestmark = pytest.mark.integration
REJECTED = "caseflow.platform.partner_event_rejected"
STAFF = ["intake:read", "intake:write"]


def from_partner(payload, partner: str, corr: str) -> Envelope:
    return Envelope.wrap(
        payload,
        source=f"partner/{partner}",
        subject=payload.partner_reference,
        correlationid=corr,
        actor=f"partner:{partner}",
    )


async def test_12345_transfer_in_becomes_a_request_whose_result_goes_back_to_12345(principals):
    """Seed 004 (12345 → 12348): the hotline's transfer opens the intake request with its work order (once, however
    often it is sent); staff answer it and 12345 reads the result under its ticket, in its correlation id. A
    request 12345 may not send (a dispute referral) and a malformed one are refused and 12345 is told why, once
    each."""
    net = principals
    topics = Topics(net.prefix)
    ticket = "12345-340302-20261204-0007"
    transfer = CallTransferred(
        partner_reference=ticket, region="340302001000", kind=RequestKind.HELP, topic="labour",
        reason="市民反映被拖欠工资, 属法律服务事项", asked="提供法律咨询", transferred_at=datetime.now(UTC),
    )  # fmt: skip
    app = intake_app(IntakeSettings(platform=net.as_("intake")))
    async with running(net, app, "intake") as client:
        client.headers.update(token(net.admin, "dept:intake", STAFF))
        hotline = net.as_("hotline_12345")
        inbound = topics.partner_inbound("hotline_12345")
        await send(hotline, inbound, from_partner(transfer, "hotline_12345", "corr-12345-7"))
        await send(hotline, inbound, from_partner(transfer, "hotline_12345", "corr-12345-7"))  # re-sent
        referral = DisputeReferred(
            partner_reference="12345-not-a-referral", kind=ReferralKind.POLICE_110, dispute_type="neighbourhood",
            region="340302001000", parties=["p-" + "1" * 32], summary="噪音", referred_at=datetime.now(UTC),
        )  # fmt: skip
        await send(hotline, inbound, from_partner(referral, "hotline_12345", "corr-12345-x"))
        bad = from_partner(transfer.model_copy(update={"partner_reference": "12345-bad-1"}), "hotline_12345", "c-b")
        await send(hotline, inbound, bad, value=b"{not json")

        rid = transfer_request_id(Partner.HOTLINE_12345, ticket)

        async def received() -> bool:
            return (await client.get(f"/requests/{rid}")).status_code == 200

        await eventually(received, timeout=30, what="the intake request opened from the 12345 transfer")
        view = (await client.get(f"/requests/{rid}")).json()
        assert (view["channel"], view["external_reference"], view["version"]) == ("transfer_12345", ticket, 2)
        assert view["work_order_open"] is True  # seed 002: a transfer in is a work order (工单)
        r = await client.post(f"/requests/{rid}/answer", json={"on_the_spot": True})
        assert r.status_code == 200, r.text
        assert (await client.post(f"/requests/{rid}/work-order/complete")).json()["work_order_on_time"] is True
        assert (await client.post(f"/requests/{rid}/close")).status_code == 200

        out = await outbound(net, "hotline_12345", expect=3, timeout=30)
        [result] = [e for e in out if e.type == "caseflow.intake.transfer_result_reported"]
        assert result.correlationid == "corr-12345-7" and result.subject == rid
        assert (result.data["partner_reference"], result.data["outcome"]) == (ticket, "answered")
        told = {e.data["partner_reference"]: e.data for e in out if e.type == REJECTED}
        assert set(told) == {"12345-not-a-referral", "12345-bad-1"}
        assert "may not send caseflow.partner.dispute_referred" in told["12345-not-a-referral"]["reason"]
        assert "not JSON" in told["12345-bad-1"]["reason"] and told["12345-bad-1"]["rejected_by"] == "router"

        # exactly one request from the three sends: the re-sent transfer added nothing
        intake_events = await read_topic(net.admin, topics.department("intake"), expect=6, timeout=10)
        types = [dict(r.headers)["ce_type"] for r in intake_events]
        assert types.count(b"caseflow.intake.request_received") == 1


async def test_intake_transfers_a_call_to_110_which_answers_with_its_ticket_and_result(principals):
    """Seed 002 (12348 与 110 报警服务台联动): staff hand a hotline call to 110; the simulated 110 reads it on its
    outbound topic, answers with its ticket and later its result, and the request shows both and closes."""
    net = principals
    app = intake_app(IntakeSettings(platform=net.as_("intake")))
    dispatch = PartnerSimulator(net.as_("dispatch_110"), partners=("dispatch_110",), answer_only=True,
                                answer_delay=(0.1, 0.3), seed=4)  # fmt: skip
    async with running(net, app, "intake") as client:
        client.headers.update(token(net.admin, "dept:intake", STAFF))
        simulator = asyncio.create_task(dispatch.run(minutes=0))
        try:
            r = await client.post("/requests", json={"channel": "hotline_12348", "region": "431002001000",
                                                     "kind": "help", "topic": "neighbourhood"})  # fmt: skip
            rid, corr = r.json()["request_id"], r.json()["correlation_id"]
            r = await client.post(f"/requests/{rid}/transfer", json={"to": "dispatch_110", "reason": "双方正在斗殴",
                                                                     "asked": "派警到场处置并反馈"})  # fmt: skip
            assert r.status_code == 200 and r.json()["status"] == "transferred", r.text

            async def answered() -> bool:
                return (await client.get(f"/requests/{rid}")).json()["transfer_outcome"] is not None

            await eventually(answered, timeout=40, what="110's ticket and result on the request")
        finally:
            simulator.cancel()
            await asyncio.gather(simulator, return_exceptions=True)
        view = (await client.get(f"/requests/{rid}")).json()
        assert view["transfer_ticket"].startswith("JJ110-431002-") and view["transfer_accepted_at"] is not None
        assert view["transfer_outcome"] and view["transfer_handled_at"] is not None
        assert (await client.post(f"/requests/{rid}/close")).json()["outcome"] == "transferred"

        [notice] = await outbound(net, "dispatch_110", expect=1)
        assert notice.type == "caseflow.intake.request_transferred" and notice.correlationid == corr
        assert notice.data["request_id"] == rid and notice.data["asked"] == "派警到场处置并反馈"
        answers = dispatch.tally["dispatch_110"].answered
        assert answers["caseflow.partner.transfer_accepted"] == answers["caseflow.partner.transfer_handled"] == 1


async def test_the_petition_office_refers_a_dispute_and_reads_the_outcome(principals):
    """Seed 004 (访调对接): the petition office's referral is registered by mediation, acknowledged, mediated to an
    agreement, and the office reads the acknowledgement and the outcome on its own outbound topic."""
    net = principals
    ref = "皖0302信转〔2026〕12号"
    referral = DisputeReferred(
        partner_reference=ref, kind=ReferralKind.PETITION, dispute_type="neighbourhood", region="340302001000",
        parties=["p-" + "7" * 32, "p-" + "8" * 32], summary="宅基地边界争议, 多次信访", referred_at=datetime.now(UTC),
    )  # fmt: skip
    app = mediation_app(MediationSettings(platform=net.as_("mediation"), sweep_interval_seconds=0))
    async with running(net, app, "mediation") as client:
        client.headers.update(token(net.admin, "dept:mediation", ["mediation:read", "mediation:write"]))
        office = net.as_("petition_office")
        await send(office, Topics(net.prefix).partner_inbound("petition_office"), from_partner(referral,
                   "petition_office", "corr-petition-12"))  # fmt: skip
        dispute = referral_dispute_id("petition_office", ref)

        async def registered() -> bool:
            doc = await app.state.mediation.cases.get(dispute)
            return doc is not None and doc["status"] == "registered"

        await eventually(registered, timeout=30, what="the petition referral registered")
        assert (await client.post(f"/disputes/{dispute}/assign", json={})).status_code == 200
        r = await client.post(f"/disputes/{dispute}/agreement", json={"terms": "按原界址重砌围墙, 费用各半"})
        assert r.status_code == 200, r.text

        out = await outbound(net, "petition_office", expect=2, timeout=30)
        assert [(e.type.rsplit(".", 1)[1], e.data.get("outcome")) for e in out] == [
            ("referral_acknowledged", None),
            ("outcome_notified", "agreement"),
        ]
        assert {e.correlationid for e in out} == {"corr-petition-12"}
        assert {e.data["partner_reference"] for e in out} == {ref} and out[0].data["decision"] == "accepted"
