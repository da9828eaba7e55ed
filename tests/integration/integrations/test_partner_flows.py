"""Partner flows 2–8 end to end on the real broker with SASL/SCRAM and ACLs on: partner inbound → department →
router → partner outbound, the correlation id intact, the HTTP gateway in and out, refused events dead-lettered
and told back to the sender once.

Every piece connects as its own principal (`principals.as_(...)`: the police system as `police`, mediation as
`mediation`, the router as `router`, the gateway as `gateway`), so a grant missing from `caseflow_cli.acl` fails
these flows; only the checks read the dead-letter topic, as the `admin` super user."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from integrations.simulator import PartnerSimulator
from services.gateway.config import Settings as GatewaySettings
from services.gateway.main import create_app as gateway_app
from services.legal_aid.config import Settings as LegalAidSettings
from services.legal_aid.main import create_app as legal_aid_app
from services.mediation.config import Settings as MediationSettings
from services.mediation.handlers import referral_dispute_id
from services.mediation.main import create_app as mediation_app
from services.notary.config import Settings as NotarySettings
from services.notary.domain import commission_stream
from services.notary.main import create_app as notary_app
from shared.contracts.partners import (
    CommissionKind,
    ConfirmationOutcome,
    DefenceKind,
    DetaineeApplicationForwarded,
    DisputeReferred,
    JudicialConfirmationDecided,
    NotarialDocumentFeedback,
    NotaryCommissioned,
    NotifiedDefenceRequested,
    ProceedingStage,
    ReferralKind,
)
from shared.envelope import Envelope
from shared.topics import Topics
from tests.conftest import token
from tests.integration.helpers import eventually, read_topic
from tests.integration.integrations.flows import outbound, running, send

pytestmark = pytest.mark.integration
ACK = "caseflow.mediation.referral_acknowledged"
REJECTED = "caseflow.platform.partner_event_rejected"


async def test_flow2_police_110_referral_over_the_gateway_acknowledged_on_police_outbound(principals):
    """警调对接: the police system POSTs a 110 referral; mediation registers it; the ack is pulled back over HTTP."""
    net = principals
    topics = Topics(net.prefix)
    gateway = gateway_app(GatewaySettings(platform=net.as_("gateway"), pull_wait_seconds=3))
    police = token(net.admin, "partner:police", ["partner:police"])
    ref = "110-431002-20261123-00042"
    async with (
        running(
            net, mediation_app(MediationSettings(platform=net.as_("mediation"), sweep_interval_seconds=0)), "mediation"
        ),
        gateway.router.lifespan_context(gateway),
        httpx.AsyncClient(transport=httpx.ASGITransport(gateway), base_url="http://gw") as gw,
    ):
        body = {
            "type": "caseflow.partner.dispute_referred",
            "partner_reference": ref,
            "correlation_id": "corr-110-42",
            "data": {
                "kind": "police_110",
                "dispute_type": "neighbourhood",
                "region": "431002001000",
                "parties": ["p-" + "1" * 32, "p-" + "2" * 32],
                "summary": "楼上漏水致楼下天花板受损, 双方争执报警",
                "referred_at": datetime.now(UTC).isoformat(),
            },
        }
        headers = {**police, "Idempotency-Key": "police-110-00042"}
        first = await gw.post("/partners/police/events", json=body, headers=headers)
        again = await gw.post("/partners/police/events", json=body, headers=headers)
        assert first.status_code == again.status_code == 202, first.text
        assert first.json()["event_id"] == again.json()["event_id"] and again.json()["duplicate"] is True

        # a malformed police event (not JSON) is dead-lettered with the reason, and nothing else breaks
        bad = Envelope.wrap(
            NotifiedDefenceRequested(
                partner_reference="110-bad-1",
                kind=DefenceKind.DUTY_LAWYER,
                defendant_ref="p-" + "3" * 32,
                region="431002001000",
                stage=ProceedingStage.INVESTIGATION,
                charge="affray",
                notified_at=datetime.now(UTC),
            ),
            source="partner/police",
            subject="110-bad-1",
            correlationid="corr-bad-1",
            actor="partner:police",
        )
        await send(net.as_("police"), topics.partner_inbound("police"), bad, value=b"{not json")

        page: list[dict] = []
        cursor: dict[str, str] = {}

        async def acked() -> bool:
            r = await gw.get("/partners/police/events", params={"limit": 10, **cursor}, headers=police)
            assert r.status_code == 200, r.text
            page.extend(r.json()["items"])
            cursor["after"] = r.json()["next"]
            return {p["type"] for p in page} >= {ACK, REJECTED}

        await eventually(acked, timeout=30, what="the ack and the rejection on the police outbound topic")
        [ack] = [p for p in page if p["type"] == ACK]
        [rejected] = [p for p in page if p["type"] == REJECTED]
        assert rejected["data"]["partner_reference"] == "110-bad-1" and "not JSON" in rejected["data"]["reason"]
        assert ack["type"] == "caseflow.mediation.referral_acknowledged"
        assert ack["correlationid"] == "corr-110-42"
        assert ack["data"]["decision"] == "accepted" and ack["data"]["partner_reference"] == ref
        assert ack["data"]["recipient"] == "police"
        # the cursor moved past it: the next page is empty; the court may not read the police's page
        r = await gw.get("/partners/police/events", params=cursor, headers=police)
        assert r.json()["items"] == []
        court = token(net.admin, "partner:court", ["partner:court"])
        assert (await gw.get("/partners/police/events", headers=court)).status_code == 403

        inbound = await read_topic(net.admin, topics.partner_inbound("police"), expect=2, timeout=10)
        ids = [dict(r.headers)["ce_id"].decode() for r in inbound if dict(r.headers)["ce_subject"] == ref.encode()]
        assert ids == [first.json()["event_id"]]  # produced once
        dead = await read_topic(net.admin, topics.deadletter, expect=1, timeout=20)
        reasons = {dict(r.headers)["ce_subject"]: dict(r.headers)["dlq_reason"].decode() for r in dead}
        assert "not JSON" in reasons[b"110-bad-1"]


async def test_flow5_6_and_7_partner_notices_to_assignment_notices_and_the_notary_fee_waiver(principals):
    """通知辩护 (flow 5): court notice → legal aid case → assignment over HTTP → notice on the court's topic;
    a detainee application the police forward (flow 6) → review, assignment → notice on the police's topic;
    the aid recipient's notary fee waiver (flow 7) → registered by the notary service."""
    net = principals
    topics = Topics(net.prefix)
    ref = "(2026)皖0302刑初15号"
    app = legal_aid_app(LegalAidSettings(platform=net.as_("legal_aid")))
    notary = notary_app(NotarySettings(platform=net.as_("notary")))
    async with running(net, app, "legal_aid", ("notary", notary)) as client:
        notice = NotifiedDefenceRequested(
            partner_reference=ref,
            kind=DefenceKind.NOTIFIED_DEFENCE,
            defendant_ref="p-" + "d" * 32,
            region="340302001000",
            stage=ProceedingStage.TRIAL,
            charge="theft",
            notified_at=datetime.now(UTC) - timedelta(hours=1),
            reason="possible life sentence",
        )
        env = Envelope.wrap(
            notice, source="partner/court", subject=ref, correlationid="corr-court-15", actor="partner:court"
        )
        await send(net.as_("court"), topics.partner_inbound("court"), env)

        async def opened() -> bool:
            return bool(await app.state.legal_aid.cases.find({"organ": "court"}))

        await eventually(opened, timeout=20, what="legal aid case opened from the court notice")
        case = (await app.state.legal_aid.cases.find({"organ": "court"}))[0]
        staff = token(net.admin, "dept:legal_aid", ["legal_aid:review", "legal_aid:write"])
        r = await client.post(
            f"/applications/{case['_id']}/assign",
            json={"provider_id": "bb-lawyer-001"},
            headers={**staff, "Idempotency-Key": "assign-court-15"},
        )
        assert r.status_code == 200, r.text

        [out] = await outbound(net, "court", expect=1, timeout=20)
        assert out.type == "caseflow.legal_aid.assignment_notified"
        assert out.correlationid == "corr-court-15"
        assert out.data["partner_reference"] == ref and out.data["aid_case_id"] == case["_id"]

        # flow 6: the police forward a detainee's application (within 24 h) → reviewed, assigned → notice back
        received = datetime.now(UTC) - timedelta(hours=5)
        forwarded = DetaineeApplicationForwarded(
            partner_reference="GA-JS-2026-0093",
            applicant_ref="p-" + "e" * 32,
            region="340302001000",
            matter="defence in a theft case",
            received_at=received,
            forwarded_at=received + timedelta(hours=3),
        )
        env = Envelope.wrap(
            forwarded,
            source="partner/police",
            subject="GA-JS-2026-0093",
            correlationid="corr-ga-93",
            actor="partner:police",
        )
        await send(net.as_("police"), topics.partner_inbound("police"), env)

        async def forwarded_case() -> bool:
            return bool(await app.state.legal_aid.cases.find({"organ": "police"}))

        await eventually(forwarded_case, timeout=20, what="legal aid case opened from the detainee application")
        detainee = (await app.state.legal_aid.cases.find({"organ": "police"}))[0]
        view = (await client.get(f"/applications/{detainee['_id']}", headers=staff)).json()
        assert {d["name"]: d["status"] for d in view["deadlines"]}["forwarding"] == "met"
        for step, body in (
            ("review", {"household_income_per_head": 300}),
            ("assign", {"provider_id": "bb-lawyer-001"}),
        ):
            r = await client.post(f"/applications/{detainee['_id']}/{step}", json=body, headers=staff)
            assert r.status_code == 200, (step, r.text)
        [out] = await outbound(net, "police", expect=1, timeout=20)
        assert out.type == "caseflow.legal_aid.assignment_notified" and out.correlationid == "corr-ga-93"
        assert out.data["partner_reference"] == "GA-JS-2026-0093"

        # flow 7: legal aid grants the recipient a notary fee waiver; the notary service registers it from Kafka
        r = await client.post(
            f"/applications/{detainee['_id']}/fee-waivers", json={"notary_matter": "power_of_attorney"}, headers=staff
        )
        assert r.status_code == 200, r.text
        waivers, recipient = notary.state.notary.waivers, "p-" + "e" * 32
        await eventually(lambda: waivers.find(recipient, "power_of_attorney"), timeout=20, what="waiver at notary")
        waiver = await waivers.find(recipient, "power_of_attorney")
        assert waiver.aid_case_id == detainee["_id"]


async def test_flow8_court_commission_to_report_and_document_feedback_on_court_outbound(principals):
    """法院委托公证: commission → notary accepts, performs, reports → both notices on the court's topic; the court's
    adoption feedback on a notarial certificate → recorded and acknowledged on the court's topic."""
    net = principals
    topics = Topics(net.prefix)
    ref = "(2026)湘1002执委7号"
    app = notary_app(NotarySettings(platform=net.as_("notary")))
    async with running(net, app, "notary") as client:
        commission = NotaryCommissioned(
            partner_reference=ref,
            kind=CommissionKind.EVIDENCE_PRESERVATION,
            region="431002001000",
            details="对被执行人网店页面进行证据保全",
            due_by=datetime.now(UTC) + timedelta(days=10),
            commissioned_at=datetime.now(UTC),
        )
        env = Envelope.wrap(
            commission, source="partner/court", subject=ref, correlationid="corr-court-comm-7", actor="partner:court"
        )
        await send(net.as_("court"), topics.partner_inbound("court"), env)
        stream = commission_stream(ref)

        async def accepted() -> bool:
            return await app.state.notary.commission_views.get(stream) is not None

        await eventually(accepted, timeout=20, what="commission accepted")
        staff = token(net.admin, "dept:notary", ["notary:read", "notary:write"])
        r = await client.post(
            f"/commissions/{stream}/perform",
            json={"summary": "已对网店页面截屏并公证保全"},
            headers={**staff, "Idempotency-Key": "perform-comm-7"},
        )
        assert r.status_code == 200, r.text
        r = await client.post(f"/commissions/{stream}/report", headers={**staff, "Idempotency-Key": "report-comm-7"})
        assert r.status_code == 200, r.text

        # the court's feedback on a notarial certificate used as evidence (采信): recorded, acknowledged back
        app_id = (
            await client.post(
                "/applications",
                json={"region": "431002001001", "office": "GZ4310", "matter": "birth", "applicant_ref": "p-" + "f" * 32,
                      "materials_supplied": ["id_card", "household_register", "birth_medical_certificate"]},
                headers=staff,
            )
        ).json()["application_id"]  # fmt: skip
        for step, body in (("accept", None), ("assess-fee", {}), ("issue", {})):
            r = await client.post(f"/applications/{app_id}/{step}", json=body, headers=staff)
            assert r.status_code == 200, (step, r.text)
        feedback = NotarialDocumentFeedback(
            partner_reference="(2026)湘1002民初88号",
            certificate_no=r.json()["certificate_no"],
            adopted=True,
            decided_at=datetime.now(UTC),
        )
        env = Envelope.wrap(
            feedback, source="partner/court", subject=feedback.partner_reference, correlationid="corr-court-fb-88",
            actor="partner:court",
        )  # fmt: skip
        await send(net.as_("court"), topics.partner_inbound("court"), env)

        out = await outbound(net, "court", expect=3, timeout=30)
        # each case's answers in order; the two cases sit on partitions of their own, read in partition order
        commission_out = [e for e in out if e.correlationid == "corr-court-comm-7"]
        feedback_out = [e for e in out if e.correlationid != "corr-court-comm-7"]
        assert [e.type for e in commission_out] == [
            "caseflow.notary.commission_accepted",
            "caseflow.notary.commission_reported",
        ]
        assert [e.type for e in feedback_out] == ["caseflow.notary.court_feedback_recorded"]
        assert all(e.data["partner_reference"] == ref for e in commission_out)
        # the feedback joins the notary application's case (its correlation id); the court matches the answer
        # by its own reference and the causation id (its feedback event)
        answer = feedback_out[0]
        assert answer.data["partner_reference"] == feedback.partner_reference and answer.data["adopted"] is True
        assert answer.causationid == env.id and answer.correlationid == app_id


async def test_flow3_and_4_court_confirmation_answered_by_the_simulated_court_and_procuratorate_result(principals):
    """诉前调解 → agreement → 司法确认 requested → the simulated court rules → confirmed outcome back to the court;
    检调对接 → mediation fails → the result back to the procuratorate; each exchange keeps its correlation id."""
    net = principals
    topics = Topics(net.prefix)
    court_ref, proc_ref = "(2026)湘1002民诉前调301号", "鄂城检刑〔2026〕41号"
    court_case, proc_case = referral_dispute_id("court", court_ref), referral_dispute_id("procuratorate", proc_ref)
    app = mediation_app(MediationSettings(platform=net.as_("mediation"), sweep_interval_seconds=0))
    court = PartnerSimulator(
        net.as_("court"), partners=("court",), answer_only=True, answer_delay=(0.1, 0.3), confirm_share=1.0, seed=3
    )
    async with running(net, app, "mediation") as client:
        simulator = asyncio.create_task(court.run(minutes=0))
        try:
            client.headers.update(token(net.admin, "dept:mediation", ["mediation:read", "mediation:write"]))
            for partner, kind, ref, region, dispute_type, corr in (
                ("court", ReferralKind.COURT_PRE_LITIGATION, court_ref, "431002001000", "contract_debt", "corr-c-301"),
                ("procuratorate", ReferralKind.PROCURATORATE_RECONCILIATION, proc_ref, "420704001000",
                 "minor_criminal", "corr-p-41"),
            ):  # fmt: skip
                referral = DisputeReferred(
                    partner_reference=ref,
                    kind=kind,
                    dispute_type=dispute_type,
                    region=region,
                    parties=["p-" + "5" * 32, "p-" + "6" * 32],
                    summary="借款到期未还" if partner == "court" else "轻微伤害案件, 双方有和解意愿",
                    referred_at=datetime.now(UTC),
                )
                env = Envelope.wrap(
                    referral, source=f"partner/{partner}", subject=ref, correlationid=corr, actor=f"partner:{partner}"
                )
                await send(net.as_(partner), topics.partner_inbound(partner), env)

            async def status(dispute_id: str) -> str | None:
                doc = await app.state.mediation.cases.get(dispute_id)
                return doc["status"] if doc else None

            for case in (court_case, proc_case):
                await eventually(lambda c=case: _is(status, c, "registered"), timeout=20, what=f"{case} registered")
                assert (await client.post(f"/disputes/{case}/assign", json={})).status_code == 200
            r = await client.post(f"/disputes/{court_case}/agreement", json={"terms": "被告三个月内分三期还款"})
            assert r.status_code == 200, r.text
            r = await client.post(f"/disputes/{court_case}/request-confirmation", json={})
            assert r.status_code == 200, r.text
            r = await client.post(f"/disputes/{proc_case}/fail", json={"reason": "被害人拒绝和解"})
            assert r.status_code == 200, r.text

            await eventually(lambda: _is(status, court_case, "confirmed"), timeout=30, what="the court's ruling")
        finally:
            simulator.cancel()
            await asyncio.gather(simulator, return_exceptions=True)

        court_out = await outbound(net, "court", expect=4, timeout=20)
        assert [e.type.rsplit(".", 1)[1] for e in court_out] == [
            "referral_acknowledged",
            "outcome_notified",
            "confirmation_requested",
            "outcome_notified",
        ]
        assert court_out[-1].data["outcome"] == "confirmed"
        assert {e.correlationid for e in court_out} == {"corr-c-301"}
        assert court.tally["court"].answered["caseflow.partner.judicial_confirmation_decided"] == 1
        proc_out = await outbound(net, "procuratorate", expect=2)
        assert [(e.type.rsplit(".", 1)[1], e.data.get("outcome")) for e in proc_out] == [
            ("referral_acknowledged", None),
            ("outcome_notified", "failed"),
        ]
        assert proc_out[0].data["decision"] == "accepted"
        assert {e.correlationid for e in proc_out} == {"corr-p-41"}


async def _is(status, case: str, wanted: str) -> bool:
    return await status(case) == wanted


async def test_refused_partner_events_are_dead_lettered_and_the_sender_told_why_once(principals):
    """Malformed, impersonating, oversized and unsupported-version events on the police inbound topic, read by two
    departments: each parks them with the reason, and the police (whose inbound topic carried them) get exactly
    one `partner_event_rejected` notice per refused event, from the router; a valid event after them is still
    handled. A court ruling for a case that does not exist is refused by mediation, which tells the court."""
    net = principals
    topics = Topics(net.prefix)

    def referral(ref: str, source: str) -> Envelope:
        payload = DisputeReferred(
            partner_reference=ref,
            kind=ReferralKind.POLICE_110,
            dispute_type="neighbourhood",
            region="431002001000",
            parties=["p-" + "4" * 32],
            summary="噪音纠纷",
            referred_at=datetime.now(UTC),
        )
        return Envelope.wrap(payload, source=source, subject=ref, correlationid=f"corr-{ref}", actor=source)

    mediation = mediation_app(MediationSettings(platform=net.as_("mediation"), sweep_interval_seconds=0))
    legal_aid = legal_aid_app(LegalAidSettings(platform=net.as_("legal_aid")))
    async with running(net, mediation, "mediation", ("legal_aid", legal_aid)):
        police = net.as_("police")
        await send(police, topics.partner_inbound("police"), referral("110-rej-1", "partner/police"), value=b"{oops")
        await send(police, topics.partner_inbound("police"), referral("110-rej-2", "partner/court"))
        oversized = referral("110-rej-4", "partner/police")
        big = json.dumps({**oversized.data, "summary": "噪" * 90_000}, ensure_ascii=False).encode()  # 270 kB
        await send(police, topics.partner_inbound("police"), oversized, value=big)
        future = referral("110-rej-5", "partner/police").model_copy(update={"schemaversion": 99})
        await send(police, topics.partner_inbound("police"), future)
        await send(police, topics.partner_inbound("police"), referral("110-ok-3", "partner/police"))
        ruling = JudicialConfirmationDecided(
            partner_reference="(2026)湘1002民特9号",
            dispute_id="md-no-such-dispute",
            outcome=ConfirmationOutcome.CONFIRMED,
            decided_at=datetime.now(UTC),
        )
        await send(net.as_("court"), topics.partner_inbound("court"), Envelope.wrap(
            ruling, source="partner/court", subject=ruling.partner_reference, correlationid="corr-ruling-9",
            actor="partner:court"))  # fmt: skip

        out: list[Envelope] = []

        async def told_and_acked() -> bool:
            out[:] = await outbound(net, "police", expect=5, timeout=3)
            return len(out) >= 5

        await eventually(told_and_acked, timeout=45, what="four rejection notices and an ack on the police topic")
        await asyncio.sleep(2)  # a second notice for the same event (the bug this guards) would arrive by now
        out[:] = await outbound(net, "police", expect=99, timeout=3)
        told = [e for e in out if e.type == REJECTED]
        assert sorted(e.data["partner_reference"] for e in told) == [f"110-rej-{i}" for i in (1, 2, 4, 5)]  # once
        by_ref = {e.data["partner_reference"]: e for e in told}
        assert "not JSON" in by_ref["110-rej-1"].data["reason"]
        assert by_ref["110-rej-1"].correlationid == "corr-110-rej-1"
        assert "does not match the sending partner" in by_ref["110-rej-2"].data["reason"]
        assert by_ref["110-rej-2"].data["recipient"] == "police" and by_ref["110-rej-2"].data["error_code"] == "refused"
        assert "270" in by_ref["110-rej-4"].data["reason"] and "256000-byte limit" in by_ref["110-rej-4"].data["reason"]
        assert "version 99" in by_ref["110-rej-5"].data["reason"]
        assert {e.data["rejected_by"] for e in told} == {"router"}
        [ack] = [e for e in out if e.type == ACK]
        assert ack.data["partner_reference"] == "110-ok-3" and ack.correlationid == "corr-110-ok-3"

        # the dead-letter topic has each refusal from every consumer that refused it, with who and why
        [court_told] = [e for e in await outbound(net, "court", expect=1) if e.type == REJECTED]
        assert court_told.data["partner_reference"] == ruling.partner_reference
        assert court_told.data["rejected_by"] == "mediation" and "no such dispute" in court_told.data["reason"]
        assert court_told.correlationid == "corr-ruling-9"

        dead = await read_topic(net.admin, topics.deadletter, expect=13, timeout=20)
        parked = sorted(
            (dict(r.headers)["ce_subject"].decode(), dict(r.headers)["dlq_consumer"].decode()) for r in dead
        )
        assert parked == sorted(
            [(f"110-rej-{i}", who) for i in (1, 2, 4, 5) for who in ("legal_aid", "mediation", "router")]
            + [(ruling.partner_reference, "mediation")]
        )
