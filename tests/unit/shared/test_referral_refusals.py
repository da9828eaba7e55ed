"""A referral the receiving department cannot take goes back to intake (shared/referrals.py): legal aid or mediation
answers with `ReferralRefused`, intake folds it into "referral refused" with the reason, on its worklist."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from services.intake import consumers as intake_consumers
from services.intake import domain as intake
from services.intake.config import Settings as IntakeSettings
from services.intake.main import create_app as intake_app
from services.legal_aid import consumers as legal_aid_consumers
from services.legal_aid.config import Settings as LegalAidSettings
from services.legal_aid.main import create_app as legal_aid_app
from services.mediation import consumers as mediation_consumers
from services.mediation.config import Settings as MediationSettings
from services.mediation.main import create_app as mediation_app
from shared.contracts.common import Department, ReferralRefused
from shared.contracts.intake import CloseOutcome, ReferralRefusalNoted, RequestReferred
from shared.envelope import Envelope
from shared.errors import DomainError, InvalidTransition
from shared.events import registry
from shared.referrals import RefuseReferral, is_refusal_stream, refusal_decider, refusal_stream
from shared.settings import PlatformSettings
from tests.conftest import token
from tests.fakes import FixedClock, memory_adapters

SETTINGS = PlatformSettings()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
UNSERVED = "650102000000"  # 乌鲁木齐: no legal aid city profile of this deployment
CHENZHOU = "431002000000"
PERSON = "p-" + "ab" * 16


def referral(to: Department, region: str, **extra: object) -> tuple[Envelope, RequestReferred]:
    payload = RequestReferred(to_department=to, matter="欠薪", person_ref=PERSON, region=region, **extra)
    env = Envelope.wrap(payload, source="caseflow/intake", subject="rq-1", correlationid="rq-1", actor="dept:intake")
    return env, payload


def refusals(store) -> list[Envelope]:
    return [e for e in store.all_events() if e.type == ReferralRefused.event_type]


async def test_legal_aid_refuses_a_referral_for_a_region_it_does_not_serve_once():
    """法律援助法 第四十三条: a legal aid body that does not give aid tells the applicant why; 第三十八条: it takes
    matters of its own area only. A referral for an unserved region goes back to intake with the reason, once."""
    adapters = memory_adapters(FixedClock(T0))
    app = legal_aid_app(LegalAidSettings(platform=SETTINGS), **adapters)
    on_referral = legal_aid_consumers.intake_handlers(app.state.legal_aid)[RequestReferred]
    env, payload = referral(Department.LEGAL_AID, UNSERVED)
    await on_referral(env, payload)
    await on_referral(env, payload)  # redelivered
    [refused] = refusals(adapters["store"])
    assert refused.subject == refusal_stream(env.id) and refused.correlationid == "rq-1"
    assert refused.causationid == env.id and refused.source == "caseflow/legal_aid"
    p = refused.payload(registry)
    assert isinstance(p, ReferralRefused)
    assert (p.referral_case_id, p.referred_by, p.refused_by) == ("rq-1", Department.INTAKE, Department.LEGAL_AID)
    assert p.reason_code == "region_not_served" and p.field == "region" and UNSERVED in p.reason
    assert p.refused_at == T0 and p.region == UNSERVED
    assert await app.state.legal_aid.cases.count({}) == 0  # no case, no empty row for the refusal stream


async def test_legal_aid_accepts_a_referral_it_serves_and_refuses_nothing():
    adapters = memory_adapters(FixedClock(T0))
    app = legal_aid_app(LegalAidSettings(platform=SETTINGS), **adapters)
    env, payload = referral(Department.LEGAL_AID, CHENZHOU)
    await legal_aid_consumers.intake_handlers(app.state.legal_aid)[RequestReferred](env, payload)
    assert refusals(adapters["store"]) == []
    assert [d["referral_case_id"] for d in await app.state.legal_aid.cases.find({})] == ["rq-1"]


async def test_mediation_refuses_a_referral_without_the_partys_reference():
    """人民调解法 第十七条: mediation starts on a party's application; a referral naming no party goes back."""
    adapters = memory_adapters(FixedClock(T0))
    app = mediation_app(MediationSettings(platform=SETTINGS), **adapters)
    payload = RequestReferred(
        to_department=Department.MEDIATION, matter="邻里纠纷", region=CHENZHOU, dispute_type="neighbour"
    )
    env = Envelope.wrap(payload, source="caseflow/intake", subject="rq-2", correlationid="rq-2", actor="dept:intake")
    await mediation_consumers.intake_handlers(app.state.mediation)[RequestReferred](env, payload)
    [refused] = refusals(adapters["store"])
    p = refused.payload(registry)
    assert isinstance(p, ReferralRefused) and p.refused_by is Department.MEDIATION and p.field == "person_ref"
    assert await app.state.mediation.cases.count({}) == 0


def test_a_referral_is_refused_once():
    """法律援助法 第四十三条: the refusal is told once, with its reason; a second refusal of it records nothing."""
    refuse = RefuseReferral(
        referral_case_id="rq-1", referral_event_id="e-1", referred_by=Department.INTAKE,
        refused_by=Department.LEGAL_AID, reason_code="region_not_served", reason="no profile", region=UNSERVED, at=T0,
    )  # fmt: skip
    state, [refused] = refusal_decider.run([refuse])
    assert state == refused and refused.refused_at == T0 and refused.reason == "no profile"
    assert refusal_decider.decide(refuse, state) == []


def test_refusal_streams_are_no_departments_case():
    assert is_refusal_stream(refusal_stream("evt-1")) and not is_refusal_stream("rq-1")
    assert refusal_stream("evt-1") == refusal_stream("evt-1") != refusal_stream("evt-2")


def _noted(**kw: object) -> intake.NoteReferralRefusal:
    fields = {"refused_by": Department.LEGAL_AID, "reason_code": "region_not_served", "reason": "no profile",
              "refusal_event_id": "e-1", "at": T0} | kw  # fmt: skip
    return intake.NoteReferralRefusal(**fields)  # type: ignore[arg-type]


def test_intake_folds_a_refusal_back_into_its_request_which_can_be_referred_again():
    """法律援助法 第四十三条 (reasons told) and seed 001 (转介实体平台: intake routes a request to the service that can
    take it): the refused request is intake's again, with who refused it and why, and is referred elsewhere."""
    receive = intake.ReceiveRequest(request_id="rq-1", channel="walk_in", level="county", region=CHENZHOU,
                                    kind="help", topic="labour", person_ref=PERSON, at=T0)  # fmt: skip
    refer = intake.ReferRequest(to_department=Department.LEGAL_AID, matter="欠薪", at=T0)
    state, events = intake.decider.run([receive, refer, intake.CloseRequest(at=T0), _noted()])
    assert isinstance(events[-1], ReferralRefusalNoted) and events[-1].region == CHENZHOU
    assert isinstance(state, intake.Request) and state.status is intake.Status.REFERRAL_REFUSED
    assert state.refusal == intake.Refusal(Department.LEGAL_AID, "region_not_served", "no profile", T0)
    again = intake.ReferRequest(to_department=Department.MEDIATION, matter="劳动争议", dispute_type="labour", at=T0)
    state, _ = intake.decider.run([again, intake.CloseRequest(at=T0)], state)
    assert state.status is intake.Status.CLOSED and state.outcome is CloseOutcome.REFERRED
    assert state.refusal is not None  # the earlier refusal stays on record


def test_a_refusal_reopens_even_an_evaluated_request_which_is_still_evaluated_once():
    """随单评价 once per case (seed 004): a referral refused after the citizen evaluated the closed request brings it
    back to intake, but the second closing asks for no second evaluation."""
    receive = intake.ReceiveRequest(request_id="rq-1", channel="walk_in", level="county", region=CHENZHOU,
                                    kind="help", topic="labour", at=T0)  # fmt: skip
    refer = intake.ReferRequest(to_department=Department.LEGAL_AID, matter="m", at=T0)
    evaluated = [receive, refer, intake.CloseRequest(at=T0), intake.EvaluateRequest(satisfaction=5, at=T0)]
    state, _ = intake.decider.run([*evaluated, _noted(), intake.AnswerRequest(at=T0), intake.CloseRequest(at=T0)])
    assert isinstance(state, intake.Request) and state.status is intake.Status.CLOSED
    assert state.outcome is CloseOutcome.ANSWERED
    with pytest.raises(DomainError, match="already evaluated"):
        intake.decider.decide(intake.EvaluateRequest(satisfaction=3, at=T0), state)


def test_a_refusal_from_a_department_the_request_was_not_referred_to_is_refused():
    receive = intake.ReceiveRequest(request_id="rq-1", channel="walk_in", level="county", region=CHENZHOU,
                                    kind="help", topic="labour", at=T0)  # fmt: skip
    state, _ = intake.decider.run([receive])
    with pytest.raises(InvalidTransition):
        intake.decider.decide(_noted(), state)
    state, _ = intake.decider.run([intake.ReferRequest(to_department=Department.LEGAL_AID, matter="m", at=T0)], state)
    with pytest.raises(InvalidTransition):
        intake.decider.decide(_noted(refused_by=Department.NOTARY), state)


async def test_intakes_worklist_shows_the_refused_referral_with_its_reason():
    adapters = memory_adapters(FixedClock(T0))
    app = intake_app(IntakeSettings(platform=SETTINGS), **adapters)
    headers = token(SETTINGS, "dept:intake", ["intake:read", "intake:write"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers) as c:
        body = {"channel": "walk_in", "level": "county", "region": CHENZHOU, "kind": "help", "topic": "labour"}
        rid = (await c.post("/requests", json=body)).json()["request_id"]
        await c.post(f"/requests/{rid}/refer", json={"to_department": "legal_aid", "matter": "欠薪"})
        refused = ReferralRefused(
            referral_case_id=rid, referral_event_id="e-9", referred_by=Department.INTAKE,
            refused_by=Department.LEGAL_AID, reason_code="region_not_served", reason="no legal aid profile",
            field="region", region=CHENZHOU, refused_at=T0,
        )  # fmt: skip
        env = Envelope.wrap(refused, source="caseflow/legal_aid", subject="refusal-x", correlationid=rid, actor="x")
        on_refusal = intake_consumers.department_handlers(app.state.intake)[ReferralRefused]
        await on_refusal(env, refused)
        await on_refusal(env, refused)  # redelivered: noted once
        r = await c.get("/requests", params={"status": "referral_refused"})
        [item] = r.json()["items"]
        assert item["request_id"] == rid and item["refused_by"] == "legal_aid"
        assert item["refusal_code"] == "region_not_served" and item["refusal_reason"] == "no legal aid profile"
    noted = [e for e in adapters["store"].all_events() if e.type == ReferralRefusalNoted.event_type]
    assert len(noted) == 1 and noted[0].causationid == env.id


async def test_intake_checks_a_notary_matter_against_notarys_published_list_before_referring():
    """A referral names another department's catalogue only as that department publishes it (公证事项; seed 003): an
    unknown notary matter is refused at intake's door (422 naming the field), and no referral event is issued."""
    adapters = memory_adapters(FixedClock(T0))
    app = intake_app(IntakeSettings(platform=SETTINGS), **adapters)
    headers = token(SETTINGS, "dept:intake", ["intake:read", "intake:write"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers) as c:
        body = {"channel": "walk_in", "level": "county", "region": CHENZHOU, "kind": "help", "topic": "inheritance"}
        rid = (await c.post("/requests", json=body)).json()["request_id"]
        refer = {"to_department": "notary", "matter": "继承公证"}
        r = await c.post(f"/requests/{rid}/refer", json={**refer, "notary_matter": "space_travel"})
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
        assert any(e["field"].endswith("notary_matter") for e in r.json()["errors"]), r.text
        assert [e.type for e in adapters["store"].all_events()] == ["caseflow.intake.request_received"]
        ok = await c.post(f"/requests/{rid}/refer", json={**refer, "notary_matter": "inheritance"})
        assert ok.status_code == 200 and ok.json()["status"] == "referred", ok.text
