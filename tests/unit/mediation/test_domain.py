"""Decider stories of a dispute: every transition and every refusal."""

from datetime import UTC, date, datetime, timedelta

import pytest

from services.mediation import domain
from services.mediation.domain import Status, decider
from shared.calendar import CHINA, china_date, end_of_day
from shared.contracts.common import Partner
from shared.contracts.mediation import (
    AckDecision,
    AgreementSigned,
    CommitteeKind,
    ConfirmationDecided,
    ConfirmationRequested,
    ConfirmationWindowLapsed,
    DisputeArchived,
    DisputeEvaluated,
    DisputeRegistered,
    DisputeWithdrawn,
    FollowUpVisited,
    Fulfilment,
    IntakeReferralDeclined,
    MediationFailed,
    MediatorAssigned,
    Outcome,
    OutcomeNotified,
    ReferralAcknowledged,
    Referrer,
    SessionHeld,
    Source,
    TimeLimitExtended,
)
from shared.errors import DomainError, InvalidTransition, NotFound, ValidationFailed
from shared.evaluation import EvaluateCase

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
P1, P2 = "p-" + "a" * 32, "p-" + "b" * 32
REGION = "431003101201"  # 苏仙区白露塘镇塘溪村


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def end(days: int) -> datetime:
    """24:00 China time of the China day `days` days after T0: where a period in days ends (民法典 art. 203)."""
    return end_of_day(china_date(at(days)))


def register(**kw) -> domain.RegisterDispute:
    base = {
        "dispute_id": "md-1",
        "at": T0,
        "source": Source.WALK_IN,
        "dispute_type": "neighbourhood",
        "region": REGION,
        "parties": [P1, P2],
        "claim": "排水沟堵塞引发邻里纠纷",
        "time_limit_days": 30,
    }
    return domain.RegisterDispute(**{**base, **kw})


def court_referral(**kw) -> domain.RegisterDispute:
    return register(
        source=Source.COURT_PRE_LITIGATION,
        referrer=Referrer.COURT,
        partner_reference="(2026)湘1003民诉前调12号",
        dispute_type="contract_debt",
        region="431002001000",
        **kw,
    )


def fit(**kw) -> domain.CommitteeFit:
    base = {
        "committee_id": "431003101-town",
        "committee_kind": CommitteeKind.TOWN,
        "regions": ["431003101000"],
        "dispute_types": ["neighbourhood", "contract_debt", "medical"],
        "mediator_id": "m-1",
        "mediator_committee_id": "431003101-town",
    }
    return domain.CommitteeFit(**{**base, **kw})


def court_fit() -> domain.CommitteeFit:
    return fit(committee_id="431002-court", regions=["431002000000"], mediator_committee_id="431002-court")


def assign(days: float = 1, **kw) -> domain.AssignMediator:
    return domain.AssignMediator(at=at(days), fit=fit(**kw))


def test_walk_in_registration_is_self_describing_and_sets_the_time_limit():
    state, events = decider.run([register()])
    [e] = events
    assert isinstance(e, DisputeRegistered)
    assert (e.region, e.source, e.dispute_type, e.registered_at, e.complex) == (
        REGION,
        Source.WALK_IN,
        "neighbourhood",
        T0,
        False,
    )
    assert e.due_by == end(30)  # 民法典 arts. 201, 203: last day Wed 1 April, ends at 24:00 China time
    assert state.status is Status.REGISTERED


def test_complex_is_judged_from_type_and_party_count_unless_given():
    assert decider.run([register(dispute_type="medical")])[1][0].complex is True
    five = [f"p-{str(i) * 32}" for i in range(5)]
    assert decider.run([register(parties=five)])[1][0].complex is True
    assert decider.run([register(dispute_type="medical", complex=False)])[1][0].complex is False


def test_court_referral_is_registered_and_acknowledged_as_accepted():
    state, events = decider.run([court_referral()])
    assert [type(e) for e in events] == [DisputeRegistered, ReferralAcknowledged]
    ack = events[1]
    assert ack.recipient is Partner.COURT and ack.decision is AckDecision.ACCEPTED
    assert ack.partner_reference == "(2026)湘1003民诉前调12号" and ack.dispute_id == "md-1"
    assert state.partner is Partner.COURT


def test_partner_referral_no_committee_covers_is_declined_with_reason():
    state, events = decider.run([court_referral(not_covered="no committee covers region 431002001000")])
    [ack] = events
    assert isinstance(ack, ReferralAcknowledged)
    assert ack.decision is AckDecision.DECLINED and "no committee" in (ack.reason or "")
    assert state.status is Status.DECLINED
    with pytest.raises(InvalidTransition):
        decider.run([assign()], state)


def test_intake_referral_that_cannot_be_placed_is_declined_to_intake():
    cmd = register(source=Source.INTAKE, referrer=Referrer.INTAKE, intake_case_id="in-9", not_covered="unknown type")
    state, [e] = decider.run([cmd])
    assert isinstance(e, IntakeReferralDeclined) and e.intake_case_id == "in-9"
    assert state.status is Status.DECLINED


def test_walk_in_nobody_covers_is_refused():
    with pytest.raises(DomainError, match="nobody"):
        decider.run([register(not_covered="nobody covers it")])


def test_partner_may_only_refer_its_own_kind():
    with pytest.raises(ValidationFailed) as err:
        decider.run([register(source=Source.POLICE_110, referrer=Referrer.COURT, partner_reference="x")])
    assert err.value.field == "kind"


def test_partner_referral_needs_a_reference_and_intake_a_case_id():
    with pytest.raises(ValidationFailed):
        decider.run([register(source=Source.POLICE_110, referrer=Referrer.POLICE)])
    with pytest.raises(ValidationFailed):
        decider.run([register(source=Source.INTAKE, referrer=Referrer.INTAKE)])


def test_the_same_referral_again_changes_nothing_but_a_second_walk_in_on_the_stream_is_refused():
    state, _ = decider.run([court_referral()])
    assert decider.decide(court_referral(at=at(1)), state) == []
    walk_in, _ = decider.run([register()])
    with pytest.raises(DomainError):
        decider.decide(register(), walk_in)


def test_assignment_that_fits_then_sessions_then_agreement_with_window():
    state, events = decider.run(
        [
            register(),
            assign(),
            domain.HoldSession(at=at(2), minutes="双方陈述", next_session_on=date(2026, 3, 9)),
            domain.HoldSession(at=at(7), minutes="达成一致"),
            domain.SignAgreement(at=at(7), terms="甲方三日内疏通排水沟"),
        ]
    )
    assert [type(e) for e in events] == [DisputeRegistered, MediatorAssigned, SessionHeld, SessionHeld, AgreementSigned]
    assert events[3].session_no == 2
    agreement = events[-1]
    assert agreement.confirmation_deadline == end(37) and agreement.outcome is Outcome.AGREEMENT
    assert agreement.follow_up_due_by is None  # not complex
    assert state.status is Status.AGREEMENT and state.sessions == 2 and state.next_session_on is None


@pytest.mark.parametrize(
    "kw,field",
    [
        ({"regions": ["420704001000"]}, "committee_id"),  # 鄂州 committee for a 郴州 dispute
        ({"dispute_types": ["medical"]}, "committee_id"),
        ({"mediator_committee_id": "other"}, "mediator_id"),
        ({"mediator_active": False}, "mediator_id"),
    ],
)
def test_assignment_that_does_not_fit_is_refused_naming_the_field(kw, field):
    state, _ = decider.run([register()])
    with pytest.raises(DomainError) as err:
        decider.decide(assign(**kw), state)
    assert err.value.field == field


def test_county_or_city_committee_covers_a_village_below_it():
    assert domain.covers(["431000000000"], REGION)
    assert domain.covers(["431003000000"], REGION)
    assert not domain.covers(["431002000000"], REGION)


def test_reassignment_keeps_mediation_going_and_the_same_assignment_is_a_no_op():
    state, _ = decider.run([register(), assign(), domain.HoldSession(at=at(2), minutes="第一次")])
    assert decider.decide(assign(3), state) == []
    state, [e] = decider.run([assign(3, mediator_id="m-2")], state)
    assert e.mediator_id == "m-2" and state.status is Status.IN_MEDIATION


def test_no_agreement_session_or_failure_without_a_mediator():
    state, _ = decider.run([register()])
    for cmd in (
        domain.SignAgreement(at=at(1), terms="x"),
        domain.HoldSession(at=at(1), minutes="x"),
        domain.FailMediation(at=at(1), reason="x"),
    ):
        with pytest.raises(DomainError) as err:
            decider.decide(cmd, state)
        assert err.value.field == "mediator_id"


def test_acts_on_an_unknown_dispute_are_not_found():
    for cmd in (assign(), domain.RecordConfirmation(at=T0, outcome=Outcome.CONFIRMED), domain.Archive(at=T0)):
        with pytest.raises(NotFound):
            decider.decide(cmd, decider.initial_state())


def test_acts_cannot_be_dated_before_the_last_one():
    state, _ = decider.run([register(), assign(5)])
    with pytest.raises(ValidationFailed) as err:
        decider.decide(domain.HoldSession(at=at(4), minutes="x"), state)
    assert err.value.field == "at"


def test_next_session_cannot_precede_this_one():
    state, _ = decider.run([register(), assign()])
    with pytest.raises(ValidationFailed):
        decider.decide(domain.HoldSession(at=at(2), minutes="x", next_session_on=date(2026, 3, 1)), state)


def test_time_limit_extended_by_consent():
    state, [e] = decider.run(
        [domain.ExtendTimeLimit(at=at(25), days=15, reason="双方同意延期")], decider.run([register()])[0]
    )
    assert isinstance(e, TimeLimitExtended) and e.due_by == end(45) and state.due_by == end(45)


def test_police_referral_failure_and_withdrawal_are_notified_back():
    police = register(source=Source.POLICE_110, referrer=Referrer.POLICE, partner_reference="110-2026-0001")
    state, events = decider.run([police, assign(), domain.FailMediation(at=at(3), reason="一方拒绝调解")])
    failed, notice = events[-2:]
    assert isinstance(failed, MediationFailed) and failed.outcome is Outcome.FAILED
    assert isinstance(notice, OutcomeNotified) and notice.recipient is Partner.POLICE
    assert (notice.outcome, notice.partner_reference) == (Outcome.FAILED, "110-2026-0001")
    _, events = decider.run([police, domain.Withdraw(at=at(1), reason="已自行和解")])
    assert isinstance(events[-2], DisputeWithdrawn) and events[-1].outcome is Outcome.WITHDRAWN


def test_walk_in_endings_notify_nobody():
    _, events = decider.run([register(), assign(), domain.SignAgreement(at=at(2), terms="t")])
    assert not any(isinstance(e, OutcomeNotified) for e in events)


def test_court_flow_agreement_request_confirmed_and_told_back():
    state, events = decider.run(
        [
            court_referral(),
            domain.AssignMediator(at=at(1), fit=court_fit()),
            domain.SignAgreement(at=at(10), terms="被告分三期还款"),
            domain.RequestConfirmation(at=at(12)),
            domain.RecordConfirmation(at=at(20), outcome=Outcome.CONFIRMED, court_reference="(2026)湘1003民特5号"),
        ]
    )
    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "DisputeRegistered",
        "ReferralAcknowledged",
        "MediatorAssigned",
        "AgreementSigned",
        "OutcomeNotified",
        "ConfirmationRequested",
        "ConfirmationDecided",
        "OutcomeNotified",
    ]
    request = events[5]
    assert isinstance(request, ConfirmationRequested) and request.recipient is Partner.COURT
    # day 30 is Sat 11 April: the window ends at 24:00 on Mon 13 April
    assert request.partner_reference == "(2026)湘1003民诉前调12号" and request.confirmation_deadline == end(42)
    assert events[-1].outcome is Outcome.CONFIRMED
    assert state.status is Status.CONFIRMED


def test_confirmation_request_after_30_days_is_refused_and_the_lapse_recorded_once():
    state, _ = decider.run([register(), assign(), domain.SignAgreement(at=at(2), terms="t")])
    with pytest.raises(DomainError) as err:
        decider.decide(domain.RequestConfirmation(at=at(33)), state)
    assert err.value.field == "confirmation_deadline"
    with pytest.raises(DomainError):
        decider.decide(domain.RecordWindowLapse(at=at(31)), state)  # still open
    state, [e] = decider.run([domain.RecordWindowLapse(at=at(33))], state)
    assert isinstance(e, ConfirmationWindowLapsed) and e.deadline == end(32)
    assert decider.decide(domain.RecordWindowLapse(at=at(34)), state) == []


def test_confirmation_window_is_thirty_days_to_midnight_china_time():
    """人民调解法 art. 33 with 民法典 arts. 201, 203: signed 17:00 on 4 March, day 30 is Fri 3 April; a request at
    23:59 that day is in time, one at 00:00 on day 31 is not."""
    state, _ = decider.run([register(), assign(), domain.SignAgreement(at=at(2), terms="t")])
    _, [e] = decider.run([domain.RequestConfirmation(at=datetime(2026, 4, 3, 23, 59, tzinfo=CHINA))], state)
    assert isinstance(e, ConfirmationRequested)
    with pytest.raises(DomainError) as err:
        decider.decide(domain.RequestConfirmation(at=datetime(2026, 4, 4, 0, 0, tzinfo=CHINA)), state)
    assert err.value.field == "confirmation_deadline"


def test_next_session_date_is_compared_with_the_china_date():
    """A typed date is a China date: at 07:30 China time (23:30 UTC the day before) today is already the China day."""
    state, _ = decider.run([register(), assign()])
    morning = datetime(2026, 3, 10, 7, 30, tzinfo=CHINA)
    _, [e] = decider.run([domain.HoldSession(at=morning, minutes="x", next_session_on=date(2026, 3, 10))], state)
    assert e.next_session_on == date(2026, 3, 10)


def test_deadline_status_due_met_missed():
    deadline = at(30)
    assert domain.deadline_status(deadline, None, at(29)) == "due"
    assert domain.deadline_status(deadline, at(29), at(40)) == "met"
    assert domain.deadline_status(deadline, at(31), at(40)) == "missed"
    assert domain.deadline_status(deadline, None, at(31)) == "missed"
    assert domain.deadline_status(None, None, at(31)) is None


def test_court_rejection_then_a_second_ruling_is_refused_back():
    """The court rules once on a confirmation request (人民调解法 第三十三条; seed 000 人民调解服务 2: 司法确认): a
    duplicate or a contradictory second ruling is refused with its own code, so it goes back to the court."""
    state, _ = decider.run(
        [register(), assign(), domain.SignAgreement(at=at(2), terms="t"), domain.RequestConfirmation(at=at(3))]
    )
    rejected = domain.RecordConfirmation(at=at(9), outcome=Outcome.REJECTED, reason="协议内容违反法律")
    state, [e] = decider.run([rejected], state)
    assert isinstance(e, ConfirmationDecided) and state.status is Status.REJECTED
    with pytest.raises(DomainError) as duplicate:
        decider.decide(rejected, state)
    assert duplicate.value.code == "duplicate_ruling" and duplicate.value.field == "outcome"
    with pytest.raises(DomainError) as contradictory:
        decider.decide(domain.RecordConfirmation(at=at(9), outcome=Outcome.CONFIRMED), state)
    assert contradictory.value.code == "contradictory_ruling"
    assert "already ruled rejected" in contradictory.value.message


def test_ruling_without_a_request_is_refused():
    state, _ = decider.run([register(), assign(), domain.SignAgreement(at=at(2), terms="t")])
    with pytest.raises(InvalidTransition):
        decider.decide(domain.RecordConfirmation(at=at(3), outcome=Outcome.CONFIRMED), state)


def test_complex_dispute_needs_follow_up_before_archive():
    state, events = decider.run(
        [register(dispute_type="medical"), assign(), domain.SignAgreement(at=at(5), terms="赔偿两万元")]
    )
    assert events[-1].follow_up_due_by == end(36)  # day 30 is Mon 6 April (清明): Tue 7 April
    with pytest.raises(DomainError) as err:
        decider.decide(domain.Archive(at=at(6)), state)
    assert err.value.field == "follow_up"
    state, events = decider.run(
        [domain.RecordFollowUp(at=at(30), fulfilment=Fulfilment.PARTLY, notes="已付一万"), domain.Archive(at=at(31))],
        state,
    )
    assert isinstance(events[0], FollowUpVisited) and events[0].fulfilment is Fulfilment.PARTLY
    assert isinstance(events[1], DisputeArchived) and events[1].final_status == "agreement"
    assert state.status is Status.ARCHIVED


def test_follow_up_only_once_and_only_on_agreements():
    state, _ = decider.run(
        [
            register(),
            assign(),
            domain.SignAgreement(at=at(2), terms="t"),
            domain.RecordFollowUp(at=at(3), fulfilment=Fulfilment.FULFILLED),
        ]
    )
    with pytest.raises(DomainError):
        decider.decide(domain.RecordFollowUp(at=at(4), fulfilment=Fulfilment.NOT), state)
    failed, _ = decider.run([register(), assign(), domain.FailMediation(at=at(2), reason="x")])
    with pytest.raises(InvalidTransition):
        decider.decide(domain.RecordFollowUp(at=at(3), fulfilment=Fulfilment.NOT), failed)


def test_archive_refused_while_active_or_awaiting_the_court_and_after_archive():
    state, _ = decider.run([register(), assign()])
    with pytest.raises(InvalidTransition):
        decider.decide(domain.Archive(at=at(2)), state)
    state, _ = decider.run([domain.SignAgreement(at=at(2), terms="t"), domain.RequestConfirmation(at=at(3))], state)
    with pytest.raises(InvalidTransition, match="court"):
        decider.decide(domain.Archive(at=at(4)), state)
    done, _ = decider.run([register(), domain.Withdraw(at=at(1), reason="r"), domain.Archive(at=at(2))])
    assert done.status is Status.ARCHIVED
    for cmd in (domain.Archive(at=at(3)), domain.Withdraw(at=at(3), reason="r"), assign(3)):
        with pytest.raises(InvalidTransition):
            decider.decide(cmd, done)


def test_ended_disputes_refuse_further_mediation():
    state, _ = decider.run([register(), assign(), domain.SignAgreement(at=at(2), terms="t")])
    for cmd in (
        domain.HoldSession(at=at(3), minutes="x"),
        domain.SignAgreement(at=at(3), terms="x"),
        domain.FailMediation(at=at(3), reason="x"),
        domain.Withdraw(at=at(3), reason="x"),
        domain.ExtendTimeLimit(at=at(3), days=5, reason="x"),
    ):
        with pytest.raises(InvalidTransition):
            decider.decide(cmd, state)
    with pytest.raises(InvalidTransition):
        decider.decide(domain.RequestConfirmation(at=at(3)), decider.run([register(), assign()])[0])


# -- 随单评价 ---------------------------------------------------------------------------------------------------------
def test_an_archived_dispute_is_evaluated_once_and_not_before():
    """Seed 004 (随单评价: "服务一次…接受服务对象评价一次"): a party rates the mediation once it is archived."""
    ended, _ = decider.run([register(), domain.Withdraw(at=at(1), reason="r")])
    with pytest.raises(InvalidTransition, match="after it is closed"):
        decider.decide(EvaluateCase(satisfaction=3, at=at(2)), ended)
    done, events = decider.run([domain.Archive(at=at(2)), EvaluateCase(satisfaction=5, at=at(3))], ended)
    assert events[-1] == DisputeEvaluated(satisfaction=5, evaluated_at=at(3), region=done.region)
    assert done.satisfaction == 5 and done.status is Status.ARCHIVED
    with pytest.raises(DomainError) as err:
        decider.decide(EvaluateCase(satisfaction=1, at=at(4)), done)
    assert err.value.field == "satisfaction"
