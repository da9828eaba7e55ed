"""Decider stories of an aid case: every transition, every refusal."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from services.legal_aid.domain import (
    Assign,
    Close,
    Contest,
    GrantNotaryFeeWaiver,
    PaySubsidy,
    ProviderFacts,
    ReceiveApplication,
    ReceiveNotice,
    Review,
    ReviewQuality,
    Threshold,
    decider,
)
from shared.calendar import CHINA
from shared.contracts.common import Partner
from shared.contracts.legal_aid import (
    AidCaseEvaluated,
    ApplicationReceived,
    ApplicationReviewed,
    AssignmentNotified,
    CaseClosed,
    CaseKind,
    Channel,
    Decision,
    DefenceNotified,
    ExemptionGround,
    MatterType,
    NotaryFeeWaiverGranted,
    Outcome,
    ProviderAssigned,
    ProviderType,
    QualityMethod,
    QualityReviewed,
    RefusalContested,
    SubsidyPaid,
)
from shared.errors import DomainError, InvalidTransition, ValidationFailed
from shared.evaluation import EvaluateCase
from shared.events import registry

T0 = datetime(2026, 3, 30, 10, 0, tzinfo=CHINA)
BENGBU = Threshold("Bengbu", Decimal("760.00"), Decimal("2.5"))
CLIENT, OTHER = "p-" + "a" * 32, "p-" + "b" * 32
REGION = "340304000000"


def apply(income=1000.0, **kw) -> ReceiveApplication:
    base = {
        "channel": Channel.WALK_IN,
        "region": REGION,
        "matter_type": MatterType.WAGES,
        "matter": "unpaid wages",
        "applicant_ref": CLIENT,
        "opposing_party_refs": (OTHER,),
        "household_income_per_head": income,
        "applied_at": T0,
    }
    return ReceiveApplication(**{**base, **kw})


def notice(**kw) -> ReceiveNotice:
    base = {
        "kind": CaseKind.NOTIFIED_DEFENCE,
        "region": REGION,
        "defendant_ref": CLIENT,
        "notified_by": Partner.COURT,
        "partner_reference": "(2026)皖0304刑初12号",
        "stage": "trial",
        "charge": "theft",
        "notified_at": T0,
    }
    return ReceiveNotice(**{**base, **kw})


def provider(ptype=ProviderType.LAWYER, capacity=3, open_cases=0, clients=(), opponents=()) -> ProviderFacts:
    return ProviderFacts("bb-lawyer-001", ptype, capacity, open_cases, frozenset(clients), frozenset(opponents))


def at(days: float):
    return T0 + timedelta(days=days)


def test_an_application_from_grant_to_subsidy():
    state, events = decider.run(
        [
            apply(),
            Review(at=at(2), threshold=BENGBU),
            Assign(case_id="la-1", provider=provider(), at=at(3)),
            Close(outcome=Outcome.SETTLED, at=at(40)),
            ReviewQuality(score=92, method=QualityMethod.COURT_ATTENDANCE, at=at(45)),
            PaySubsidy(amount=1500, at=at(50)),
        ]
    )
    assert [type(e) for e in events] == [
        ApplicationReceived,
        ApplicationReviewed,
        ProviderAssigned,
        CaseClosed,
        QualityReviewed,
        SubsidyPaid,
    ]
    assert events[0].kind is CaseKind.APPLICATION and events[0].region == REGION
    assert events[1].decision is Decision.GRANTED and events[1].threshold == 1900.0
    assert events[2].on_time and events[2].provider_type is ProviderType.LAWYER
    assert state.status == "subsidy_paid" and state.quality_score == 92 and state.subsidy == 1500
    assert {d.name: d.status(at(60)) for d in state.deadlines()} == {"review": "met", "assignment": "met"}


def test_a_notice_is_granted_without_review_and_the_organ_is_told_of_the_assignment():
    state, events = decider.run([notice(), Assign(case_id="la-n-1", provider=provider(), at=at(1))])
    assert isinstance(events[0], DefenceNotified)
    assert state.decision is Decision.GRANTED and state.granted_at == T0
    told = events[-1]
    assert isinstance(told, AssignmentNotified)
    assert told.recipient is Partner.COURT and told.partner_reference == "(2026)皖0304刑初12号"
    assert told.aid_case_id == "la-n-1" and told.provider_id == "bb-lawyer-001"
    with pytest.raises(InvalidTransition, match="granted without review"):
        decider.decide(Review(at=at(1), threshold=BENGBU), decider.fold(events[:1]))


def test_the_same_notice_twice_records_nothing_new():
    state, _ = decider.run([notice()])
    assert decider.decide(notice(), state) == []
    with pytest.raises(InvalidTransition):
        decider.decide(notice(partner_reference="other"), state)


def test_late_assignment_is_recorded_as_missed():
    state, events = decider.run([notice(), Assign(case_id="x", provider=provider(), at=at(5))])
    assert events[0 + 1].on_time is False
    assert [d.status(at(6)) for d in state.deadlines()] == ["missed"]


def test_refusal_contested_once_then_granted_on_contest():
    state, events = decider.run(
        [apply(income=2500.0), Review(at=at(1), threshold=BENGBU), Contest(grounds="income fell", at=at(2))]
    )
    assert events[1].decision is Decision.REFUSED and "2,500.00 yuan/month ≥ threshold 1,900.00" in events[1].reason
    assert isinstance(events[2], RefusalContested) and state.status == "contested"
    state, more = decider.run([Review(at=at(4), threshold=BENGBU, household_income_per_head=900.0)], state)
    assert more[0].on_contest and more[0].decision is Decision.GRANTED and state.status == "granted"
    review = next(d for d in state.deadlines() if d.name == "review")
    assert review.met_at == at(1)  # met by the first decision


def test_a_refusal_can_be_contested_only_once():
    state, _ = decider.run(
        [
            apply(income=2500.0),
            Review(at=at(1), threshold=BENGBU),
            Contest(grounds="g", at=at(2)),
            Review(at=at(3), threshold=BENGBU),
        ]
    )
    assert state.status == "refused"
    with pytest.raises(DomainError) as err:
        decider.decide(Contest(grounds="again", at=at(4)), state)
    assert err.value.code == "already_contested"


def test_reviewer_may_refuse_an_eligible_application_with_a_reason():
    state, events = decider.run([apply(), Review(at=at(1), threshold=BENGBU, refuse_reason="facts untrue")])
    assert events[1].decision is Decision.REFUSED and events[1].grounds[-1].rule == "reviewer"
    assert state.status == "refused"


def test_special_group_skips_economic_test_in_review():
    state, events = decider.run(
        [apply(income=None, special_groups=(ExemptionGround.MIGRANT_WORKER,)), Review(at=at(1), threshold=BENGBU)]
    )
    assert state.status == "granted" and "进城务工人员" in events[1].reason


@pytest.mark.parametrize(
    "command",
    [
        Assign(case_id="x", provider=provider(), at=T0),
        Close(outcome=Outcome.SETTLED, at=T0),
        ReviewQuality(score=1, method=QualityMethod.FILE_REVIEW, at=T0),
        PaySubsidy(amount=1, at=T0),
        Contest(grounds="g", at=T0),
        GrantNotaryFeeWaiver(case_id="x", notary_matter="m", at=T0),
    ],
)
def test_steps_out_of_order_are_refused(command):
    applied, _ = decider.run([apply()])
    with pytest.raises(InvalidTransition) as err:
        decider.decide(command, applied)
    assert err.value.state == "applied"


def test_assigning_before_a_grant_names_the_state():
    applied, _ = decider.run([apply()])
    with pytest.raises(InvalidTransition, match="cannot assign a case in state 'applied'"):
        decider.decide(Assign(case_id="x", provider=provider(), at=T0), applied)


def test_assignment_refusals():
    granted, _ = decider.run([apply(), Review(at=at(1), threshold=BENGBU)])
    cases = {
        "provider_at_capacity": provider(capacity=2, open_cases=2),
        "conflict_of_interest": provider(opponents=(CLIENT,)),
    }
    for code, facts in cases.items():
        with pytest.raises(DomainError) as err:
            decider.decide(Assign(case_id="x", provider=facts, at=at(2)), granted)
        assert err.value.code == code and err.value.field == "provider_id"
    with pytest.raises(DomainError) as err:  # acting for the opposing party elsewhere is a conflict too
        decider.decide(Assign(case_id="x", provider=provider(clients=(OTHER,)), at=at(2)), granted)
    assert err.value.code == "conflict_of_interest"
    criminal, _ = decider.run([notice()])
    with pytest.raises(DomainError) as err:
        decider.decide(Assign(case_id="x", provider=provider(ProviderType.GRASSROOTS_WORKER), at=at(1)), criminal)
    assert err.value.code == "lawyer_required"
    # a civil matter may go to a grassroots worker
    ok = decider.decide(Assign(case_id="x", provider=provider(ProviderType.GRASSROOTS_WORKER), at=at(2)), granted)
    assert ok[0].provider_type is ProviderType.GRASSROOTS_WORKER and len(ok) == 1  # no organ to tell


def test_notary_fee_waiver_for_a_granted_recipient_once_per_matter():
    state, events = decider.run(
        [
            apply(),
            Review(at=at(1), threshold=BENGBU),
            GrantNotaryFeeWaiver(case_id="la-1", notary_matter="entrustment", at=at(2)),
        ]
    )
    waiver = events[-1]
    assert isinstance(waiver, NotaryFeeWaiverGranted)
    assert waiver.person_ref == CLIENT and waiver.aid_case_id == "la-1" and waiver.waiver == 1.0
    assert decider.decide(GrantNotaryFeeWaiver(case_id="la-1", notary_matter="entrustment", at=at(3)), state) == []


def test_detainee_forwarding_deadline_and_validation():
    late = apply(
        kind=CaseKind.DETAINEE_FORWARDED,
        channel=Channel.PARTNER,
        matter_type=MatterType.CRIMINAL,
        forwarded_by=Partner.POLICE,
        partner_reference="GA-1",
        received_at=T0,
        forwarded_at=T0 + timedelta(hours=30),
        applied_at=T0 + timedelta(hours=30),
    )
    state, _ = decider.run([late])
    forwarding = next(d for d in state.deadlines() if d.name == "forwarding")
    assert forwarding.status(at(3)) == "missed"
    on_time = late.model_copy(update={"forwarded_at": T0 + timedelta(hours=23)})
    state, _ = decider.run([on_time])
    assert next(d for d in state.deadlines() if d.name == "forwarding").status(at(3)) == "met"
    with pytest.raises(ValidationFailed) as err:
        decider.decide(late.model_copy(update={"forwarded_at": T0 - timedelta(hours=1)}), decider.initial_state())
    assert err.value.field == "forwarded_at"


def test_negative_or_non_numeric_income_is_refused_by_the_command():
    for bad in (-1.0, float("nan"), "lots"):
        with pytest.raises(ValueError):
            apply(income=bad)


def test_opening_twice_is_refused():
    state, _ = decider.run([apply()])
    with pytest.raises(InvalidTransition):
        decider.decide(apply(), state)


def test_an_application_stored_before_exact_money_and_cited_grounds_still_decodes_and_is_reviewed():
    """Seed 001 (困境儿童 exempt) and seed 004 (threshold): an event stored with a float income and a ground of the
    old list decodes, and its review cites seed 001."""
    legacy = registry.load(
        "caseflow.legal_aid.application_received",
        1,
        {"kind": "application", "channel": "walk_in", "region": REGION, "matter_type": "family", "matter": "custody",
         "applicant_ref": CLIENT, "household_income_per_head": 2500.5, "special_groups": ["distressed_child"],
         "applied_at": T0.isoformat()},
    )  # fmt: skip
    assert legacy.household_income_per_head == Decimal("2500.50")
    state = decider.fold([legacy])
    _, events = decider.run([Review(at=T0 + timedelta(days=1), threshold=BENGBU)], state)
    assert events[0].decision is Decision.GRANTED and "seed 001" in events[0].reason


# -- 随单评价 ---------------------------------------------------------------------------------------------------------
def test_a_closed_case_is_evaluated_once_and_not_before():
    """Seed 004 (随单评价: "服务一次…接受服务对象评价一次"): the recipient rates the closed case, once."""
    granted, _ = decider.run(
        [apply(), Review(at=at(2), threshold=BENGBU), Assign(case_id="la-1", provider=provider(), at=at(3))]
    )
    with pytest.raises(InvalidTransition, match="after it is closed"):
        decider.decide(EvaluateCase(satisfaction=5, at=at(4)), granted)
    closed, events = decider.run([Close(outcome=Outcome.SETTLED, at=at(40)), EvaluateCase(satisfaction=4, at=at(41))],
                                 granted)  # fmt: skip
    assert events[-1] == AidCaseEvaluated(satisfaction=4, evaluated_at=at(41), region=REGION)
    assert closed.satisfaction == 4 and closed.status == "closed"  # the quality review may still follow
    with pytest.raises(DomainError) as err:
        decider.decide(EvaluateCase(satisfaction=5, at=at(42)), closed)
    assert err.value.field == "satisfaction"
    reviewed, _ = decider.run([ReviewQuality(score=90, method=QualityMethod.CLIENT_FOLLOW_UP, at=at(43))], closed)
    assert reviewed.satisfaction == 4
