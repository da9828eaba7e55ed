"""Intake decider stories: every transition of a request, a call and a village advisor entry, and every refusal."""

from datetime import UTC, date, datetime, timedelta

import pytest

from services.intake import domain
from services.intake.domain import (
    AbandonCall,
    AnswerCall,
    AnswerRequest,
    AssignAdvisor,
    CloseRequest,
    CompleteWorkOrder,
    EscalateRequest,
    EvaluateRequest,
    LogAdvisorService,
    OfferCall,
    OpenWorkOrder,
    PublishWebReply,
    ReceiveRequest,
    ReferRequest,
    Status,
    UnassignAdvisor,
    decider,
)
from shared.calendar import CHINA
from shared.contracts.common import Department
from shared.contracts.intake import (
    AdvisorAssigned,
    AdvisorKind,
    AdvisorServiceKind,
    AdvisorServiceLogged,
    AdvisorUnassigned,
    CallAbandoned,
    CallAnswered,
    Channel,
    CloseOutcome,
    Level,
    RequestAnswered,
    RequestClosed,
    RequestEscalated,
    RequestEvaluated,
    RequestKind,
    RequestReceived,
    RequestReferred,
    WebReplyPublished,
    WorkOrderCompleted,
    WorkOrderOpened,
)
from shared.errors import DomainError, InvalidTransition, NotFound, ValidationFailed

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
VILLAGE = "431002001001"
TOWN = "431002001000"
COUNTY = "431002000000"
CITY = "431000000000"
PERSON = "p-" + "ab" * 16


def receive(channel=Channel.WALK_IN, level=Level.COUNTY, region=COUNTY, rid="rq-1", **kw) -> ReceiveRequest:
    if channel is not Channel.WALK_IN and level is Level.COUNTY:
        level = None
    return ReceiveRequest(
        request_id=rid, channel=channel, level=level, region=region, kind=RequestKind.CONSULTATION,
        topic="labour", at=T0, **kw,
    )  # fmt: skip


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# -- walk-in: answered on the spot, closed, evaluated ------------------------------------------------------
def test_walk_in_answered_on_the_spot_then_closed_and_evaluated():
    state, events = decider.run(
        [
            receive(person_ref=PERSON),
            AnswerRequest(at=at(10)),
            CloseRequest(at=at(12)),
            EvaluateRequest(satisfaction=5, at=at(13)),
        ]
    )
    assert events[0] == RequestReceived(
        request_id="rq-1", channel=Channel.WALK_IN, level=Level.COUNTY, region=COUNTY,
        kind=RequestKind.CONSULTATION, topic="labour", received_at=T0, person_ref=PERSON,
    )  # fmt: skip
    assert events[1] == RequestAnswered(
        answered_at=at(10), on_the_spot=True, channel=Channel.WALK_IN, region=COUNTY, kind=RequestKind.CONSULTATION
    )
    assert events[2] == RequestClosed(
        closed_at=at(12), outcome=CloseOutcome.ANSWERED, handling_seconds=720, channel=Channel.WALK_IN, region=COUNTY
    )
    assert events[3] == RequestEvaluated(satisfaction=5, evaluated_at=at(13), channel=Channel.WALK_IN, region=COUNTY)
    assert isinstance(state, domain.Request)
    assert state.status is Status.EVALUATED and state.satisfaction == 5


@pytest.mark.parametrize(
    ("level", "region"), [(Level.CITY, CITY), (Level.COUNTY, COUNTY), (Level.TOWN, TOWN), (Level.VILLAGE, VILLAGE)]
)
def test_each_walk_in_level_takes_a_region_of_its_shape(level, region):
    _, events = decider.run([receive(level=level, region=region)])
    assert events[0].level is level and events[0].region == region


@pytest.mark.parametrize(
    ("level", "region"), [(Level.CITY, COUNTY), (Level.COUNTY, TOWN), (Level.TOWN, VILLAGE), (Level.VILLAGE, TOWN)]
)
def test_a_region_of_the_wrong_level_is_refused(level, region):
    with pytest.raises(ValidationFailed) as err:
        decider.run([receive(level=level, region=region)])
    assert err.value.field == "region"


def test_walk_in_needs_a_level_and_other_channels_take_none():
    with pytest.raises(ValidationFailed) as err:
        decider.run([receive(level=None)])
    assert err.value.field == "level"
    with pytest.raises(ValidationFailed) as err:
        decider.run([ReceiveRequest(request_id="rq-1", channel=Channel.HOTLINE_12348, level=Level.CITY,
                                    region=CITY, kind=RequestKind.HELP, topic="labour", at=T0)])  # fmt: skip
    assert err.value.field == "level"


def test_transfer_reference_and_call_link_belong_to_their_channels():
    _, events = decider.run([receive(channel=Channel.TRANSFER_12345, external_reference="12345-2026-0001")])
    assert events[0].external_reference == "12345-2026-0001"
    with pytest.raises(ValidationFailed):
        decider.run([receive(external_reference="X1")])
    with pytest.raises(ValidationFailed):
        decider.run([receive(channel=Channel.WEB_12348, call_id="call-1")])


def test_a_request_is_received_once():
    state, _ = decider.run([receive()])
    with pytest.raises(InvalidTransition):
        decider.decide(receive(), state)


def test_commands_on_an_unknown_request_are_not_found():
    with pytest.raises(NotFound):
        decider.decide(AnswerRequest(at=T0), decider.initial_state())


# -- referral -------------------------------------------------------------------------------------------------
def test_referral_to_mediation_carries_person_region_and_dispute_type():
    state, events = decider.run(
        [
            receive(person_ref=PERSON),
            ReferRequest(to_department=Department.MEDIATION, matter="neighbour dispute", dispute_type="neighbour",
                         at=at(5)),
            CloseRequest(at=at(6)),
        ]
    )  # fmt: skip
    assert events[1] == RequestReferred(
        to_department=Department.MEDIATION, matter="neighbour dispute", person_ref=PERSON, region=COUNTY,
        dispute_type="neighbour",
    )  # fmt: skip
    assert events[2].outcome is CloseOutcome.REFERRED
    assert state.referred_to is Department.MEDIATION


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"to_department": Department.MEDIATION}, "dispute_type"),
        ({"to_department": Department.NOTARY}, "notary_matter"),
        ({"to_department": Department.LEGAL_AID, "dispute_type": "x"}, "dispute_type"),
        ({"to_department": Department.LEGAL_AID, "notary_matter": "x"}, "notary_matter"),
        ({"to_department": Department.INTAKE}, "to_department"),
    ],
)
def test_referral_details_must_fit_the_department(kw, field):
    state, _ = decider.run([receive()])
    with pytest.raises(ValidationFailed) as err:
        decider.decide(ReferRequest(matter="m", at=at(1), **kw), state)
    assert err.value.field == field


def test_a_referred_request_cannot_be_answered_or_referred_again():
    state, _ = decider.run([receive(), ReferRequest(to_department=Department.LEGAL_AID, matter="m", at=at(1))])
    with pytest.raises(InvalidTransition) as err:
        decider.decide(AnswerRequest(at=at(2)), state)
    assert err.value.state == "referred" and err.value.command == "answer"
    assert "cannot answer a case in state 'referred'" in str(err.value)
    with pytest.raises(InvalidTransition):
        decider.decide(ReferRequest(to_department=Department.LEGAL_AID, matter="m", at=at(2)), state)


# -- escalation -------------------------------------------------------------------------------------------
def test_hotline_escalated_to_walk_in_then_referred_keeps_the_centre_region():
    state, events = decider.run(
        [
            receive(channel=Channel.HOTLINE_12348, region=CITY),
            EscalateRequest(to_level=Level.TOWN, to_region=TOWN, at=at(3)),
            ReferRequest(to_department=Department.LEGAL_AID, matter="wage arrears", at=at(60)),
            CloseRequest(at=at(61)),
        ]
    )
    assert events[1] == RequestEscalated(
        from_channel=Channel.HOTLINE_12348, to_level=Level.TOWN, to_region=TOWN, escalated_at=at(3)
    )
    assert events[2].region == TOWN
    assert state.status is Status.CLOSED and state.outcome is CloseOutcome.REFERRED


def test_escalated_and_closed_records_escalated_outcome():
    _, events = decider.run(
        [
            receive(channel=Channel.WEB_12348, region=CITY),
            EscalateRequest(to_level=Level.COUNTY, to_region=COUNTY, at=at(3)),
            CloseRequest(at=at(4)),
        ]
    )
    assert events[-1].outcome is CloseOutcome.ESCALATED


def test_walk_in_cannot_be_escalated_nor_escalated_twice():
    state, _ = decider.run([receive()])
    with pytest.raises(InvalidTransition):
        decider.decide(EscalateRequest(to_level=Level.TOWN, to_region=TOWN, at=at(1)), state)
    state, _ = decider.run(
        [receive(channel=Channel.HOTLINE_12348), EscalateRequest(to_level=Level.TOWN, to_region=TOWN, at=at(1))]
    )
    with pytest.raises(InvalidTransition):
        decider.decide(EscalateRequest(to_level=Level.TOWN, to_region=TOWN, at=at(2)), state)


def test_escalation_target_region_must_match_the_level():
    state, _ = decider.run([receive(channel=Channel.HOTLINE_12348)])
    with pytest.raises(ValidationFailed) as err:
        decider.decide(EscalateRequest(to_level=Level.VILLAGE, to_region=TOWN, at=at(1)), state)
    assert err.value.field == "to_region"


# -- closing and evaluation ------------------------------------------------------------------------------
def test_an_open_request_cannot_be_closed_or_evaluated():
    state, _ = decider.run([receive()])
    with pytest.raises(InvalidTransition) as err:
        decider.decide(CloseRequest(at=at(1)), state)
    assert err.value.state == "received"
    with pytest.raises(InvalidTransition):
        decider.decide(EvaluateRequest(satisfaction=3, at=at(1)), state)


def test_a_second_evaluation_is_refused():
    state, _ = decider.run(
        [receive(), AnswerRequest(at=at(1)), CloseRequest(at=at(2)), EvaluateRequest(satisfaction=2, at=at(3))]
    )
    with pytest.raises(DomainError) as err:
        decider.decide(EvaluateRequest(satisfaction=5, at=at(4)), state)
    assert err.value.field == "satisfaction"


def test_a_closed_request_cannot_be_answered_or_closed_again():
    state, _ = decider.run([receive(), AnswerRequest(at=at(1)), CloseRequest(at=at(2))])
    for command in (AnswerRequest(at=at(3)), CloseRequest(at=at(3))):
        with pytest.raises(InvalidTransition):
            decider.decide(command, state)


# -- hotline work orders ------------------------------------------------------------------------------------
def test_work_order_completed_in_time_then_closed():
    state, events = decider.run(
        [
            receive(channel=Channel.HOTLINE_12348, region=CITY),
            OpenWorkOrder(deadline_hours=24, at=at(5)),
            CompleteWorkOrder(at=at(5 + 23 * 60)),
            AnswerRequest(on_the_spot=False, at=at(5 + 23 * 60)),
            CloseRequest(at=at(5 + 24 * 60)),
        ]
    )
    assert events[1] == WorkOrderOpened(
        opened_at=at(5), deadline_hours=24, due_at=at(5 + 24 * 60), channel=Channel.HOTLINE_12348, region=CITY
    )
    assert events[2] == WorkOrderCompleted(completed_at=at(5 + 23 * 60), due_at=at(5 + 24 * 60), on_time=True,
                                           region=CITY)  # fmt: skip
    assert state.status is Status.CLOSED


def test_late_work_order_is_recorded_not_on_time_and_counts_as_overdue_before():
    state, _ = decider.run([receive(channel=Channel.TRANSFER_12345), OpenWorkOrder(deadline_hours=1, at=T0)])
    assert domain.is_overdue(state, at(61)) and not domain.is_overdue(state, at(59))
    assert decider.decide(CompleteWorkOrder(at=at(90)), state)[0].on_time is False


def test_work_order_refusals():
    walk_in, _ = decider.run([receive()])
    with pytest.raises(InvalidTransition):
        decider.decide(OpenWorkOrder(at=at(1)), walk_in)
    with pytest.raises(InvalidTransition):
        decider.decide(CompleteWorkOrder(at=at(1)), walk_in)
    state, _ = decider.run(
        [receive(channel=Channel.HOTLINE_12348), OpenWorkOrder(at=at(1)), AnswerRequest(on_the_spot=False, at=at(2))]
    )
    with pytest.raises(DomainError) as err:
        decider.decide(CloseRequest(at=at(3)), state)
    assert err.value.field == "work_order"
    with pytest.raises(InvalidTransition):
        decider.decide(OpenWorkOrder(at=at(3)), state)
    state, _ = decider.run([receive(channel=Channel.HOTLINE_12348), OpenWorkOrder(at=at(1))])
    with pytest.raises(DomainError):
        decider.decide(OpenWorkOrder(at=at(2)), state)
    done, _ = decider.run([CompleteWorkOrder(at=at(2))], state)
    with pytest.raises(DomainError):
        decider.decide(CompleteWorkOrder(at=at(3)), done)


# -- web questions ------------------------------------------------------------------------------------------
def test_web_reply_records_minutes_rounded_up():
    state, events = decider.run(
        [receive(channel=Channel.WEB_12348, region=CITY), PublishWebReply(at=T0 + timedelta(seconds=7261))]
    )
    assert events[1] == WebReplyPublished(posted_at=T0, published_at=T0 + timedelta(seconds=7261), minutes=122,
                                          region=CITY)  # fmt: skip
    assert len(events) == 2 and state.status is Status.ANSWERED and not state.qc_drawn


def test_replies_only_for_open_web_questions():
    walk_in, _ = decider.run([receive()])
    with pytest.raises(InvalidTransition):
        decider.decide(PublishWebReply(at=at(1)), walk_in)
    web, _ = decider.run([receive(channel=Channel.WEB_12348, region=CITY), PublishWebReply(at=at(1))])
    with pytest.raises(InvalidTransition):
        decider.decide(PublishWebReply(at=at(2)), web)
    fresh, _ = decider.run([receive(channel=Channel.WEB_12348, region=CITY)])
    with pytest.raises(InvalidTransition):
        decider.decide(AnswerRequest(at=at(1)), fresh)


# -- hotline calls ------------------------------------------------------------------------------------------
def test_call_answered_records_wait_seconds():
    state, events = decider.run(
        [OfferCall(call_id="call-1", region=CITY, at=T0), AnswerCall(at=T0 + timedelta(seconds=17))]
    )
    assert events[1] == CallAnswered(answered_at=T0 + timedelta(seconds=17), wait_seconds=17, region=CITY)
    assert state.status is domain.CallStatus.ANSWERED
    with pytest.raises(InvalidTransition):
        decider.decide(AbandonCall(at=at(1)), state)


def test_call_abandoned_records_wait_and_refuses_an_answer():
    state, events = decider.run([OfferCall(call_id="call-1", region=CITY, at=T0), AbandonCall(at=at(1))])
    assert events[1] == CallAbandoned(abandoned_at=at(1), wait_seconds=60, region=CITY)
    with pytest.raises(InvalidTransition):
        decider.decide(AnswerCall(at=at(2)), state)
    with pytest.raises(NotFound):
        decider.decide(AnswerCall(at=at(2)), decider.initial_state())
    with pytest.raises(InvalidTransition):
        decider.decide(OfferCall(call_id="call-1", region=CITY, at=T0), state)


def test_request_commands_do_not_apply_to_a_call_stream():
    state, _ = decider.run([OfferCall(call_id="call-1", region=CITY, at=T0)])
    with pytest.raises(NotFound):
        decider.decide(AnswerRequest(at=at(1)), state)


# -- village legal advisors ------------------------------------------------------------------------------
def test_advisor_assigned_replaced_logged_and_unassigned():
    log = LogAdvisorService(village_region=VILLAGE, advisor_id="adv-2", hours=2.5,
                            kind=AdvisorServiceKind.PUBLICITY_LECTURE, served_on=date(2026, 3, 1), at=T0)  # fmt: skip
    state, events = decider.run(
        [
            AssignAdvisor(village_region=VILLAGE, advisor_id="adv-1", at=T0),
            AssignAdvisor(village_region=VILLAGE, advisor_id="adv-2", at=at(1)),
            log,
            log,
            UnassignAdvisor(village_region=VILLAGE, at=at(2)),
        ]
    )
    assert events[1] == AdvisorAssigned(village_region=VILLAGE, advisor_id="adv-2", previous_advisor_id="adv-1",
                                        assigned_at=at(1))  # fmt: skip
    assert events[2] == AdvisorServiceLogged(village_region=VILLAGE, advisor_id="adv-2", hours=2.5,
                                             kind=AdvisorServiceKind.PUBLICITY_LECTURE, served_on=date(2026, 3, 1),
                                             logged_at=T0)  # fmt: skip
    assert events[4] == AdvisorUnassigned(village_region=VILLAGE, advisor_id="adv-2", unassigned_at=at(2))
    assert state == domain.Village(village_region=VILLAGE, advisor_id=None, hours=5.0, services=2)


def test_reassigning_the_same_advisor_records_nothing():
    state, _ = decider.run([AssignAdvisor(village_region=VILLAGE, advisor_id="adv-1", at=T0)])
    assert decider.decide(AssignAdvisor(village_region=VILLAGE, advisor_id="adv-1", at=at(1)), state) == []


def test_service_log_refusals():
    def log(advisor: str, served_on: date = date(2026, 3, 1)) -> LogAdvisorService:
        return LogAdvisorService(village_region=VILLAGE, advisor_id=advisor, hours=1,
                                 kind=AdvisorServiceKind.CONSULTATION, served_on=served_on, at=T0)  # fmt: skip

    with pytest.raises(DomainError):
        decider.decide(log("adv-1"), decider.initial_state())
    state, _ = decider.run([AssignAdvisor(village_region=VILLAGE, advisor_id="adv-1", at=T0)])
    with pytest.raises(DomainError) as err:
        decider.decide(log("adv-9"), state)
    assert err.value.field == "advisor_id"
    with pytest.raises(ValidationFailed) as err:
        decider.decide(log("adv-1", date(2026, 3, 5)), state)
    assert err.value.field == "served_on"
    with pytest.raises(DomainError):
        decider.decide(UnassignAdvisor(village_region=VILLAGE, at=T0), decider.initial_state())


def test_duty_day_is_compared_with_the_china_date():
    """A duty day the advisor types is a China date: logged at 07:30 China time (23:30 UTC the day before), today's
    service is today's, not tomorrow's (seed 000: village advisors' duty hours, logged by China day)."""
    state, _ = decider.run([AssignAdvisor(village_region=VILLAGE, advisor_id="adv-1", at=T0)])
    morning = datetime(2026, 3, 10, 7, 30, tzinfo=CHINA)
    log = LogAdvisorService(village_region=VILLAGE, advisor_id="adv-1", hours=1,
                            kind=AdvisorServiceKind.CONSULTATION, served_on=date(2026, 3, 10), at=morning)  # fmt: skip
    [logged] = decider.decide(log, state)
    assert logged.served_on == date(2026, 3, 10)
    with pytest.raises(ValidationFailed):
        decider.decide(log.model_copy(update={"served_on": date(2026, 3, 11)}), state)


# -- live web consultations, dispute help, advisor qualifications ------------------------------------------
def test_a_live_web_consultation_is_a_call_on_the_web_line():
    """Seed 002 (网络平台): 实时咨询30秒内接通率达95% — a live consultation on the web platform waits to be connected
    like a hotline call, on line web_12348, and records how long it waited."""
    state, events = decider.run(
        [
            OfferCall(call_id="call-1", region=CITY, line=Channel.WEB_12348, at=T0),
            AnswerCall(at=at(0) + timedelta(seconds=25)),
        ]
    )
    assert events[0].line is Channel.WEB_12348 and events[1].wait_seconds == 25
    assert state.line is Channel.WEB_12348


def test_a_call_waits_on_the_hotline_or_the_web_line_only():
    """Seed 002: the hotline (12348) and the web platform's live consultation are the two lines a caller waits on;
    a walk-in window is not a line."""
    with pytest.raises(ValueError, match="hotline_12348"):
        OfferCall(call_id="call-1", region=CITY, line=Channel.WALK_IN, at=T0)


def test_an_answer_carries_the_request_kind_so_a_dispute_help_resolved_on_the_spot_counts():
    """Seed 001 (矛盾纠纷化解率 ≥95%; 十二: 将矛盾纠纷化解在基层一线): a help request answered on the spot is a
    dispute resolved at intake, so the answer says the request's kind."""
    _, events = decider.run([receive().model_copy(update={"kind": RequestKind.HELP}), AnswerRequest(at=at(5))])
    assert events[1].kind is RequestKind.HELP and events[1].on_the_spot


def test_an_advisor_assignment_records_the_qualification_and_a_new_one_is_recorded():
    """Seed 000 indicator 18: the share of village advisors who are lawyers or grassroots legal workers is
    counted, so an assignment carries the advisor's qualification; telling a new qualification is an event."""
    state, events = decider.run(
        [AssignAdvisor(village_region=VILLAGE, advisor_id="adv-1", advisor_kind=AdvisorKind.GRASSROOTS_WORKER, at=T0)]
    )
    assert events[0].advisor_kind is AdvisorKind.GRASSROOTS_WORKER
    assert state.advisor_kind is AdvisorKind.GRASSROOTS_WORKER
    again = AssignAdvisor(village_region=VILLAGE, advisor_id="adv-1", advisor_kind=AdvisorKind.LAWYER, at=at(1))
    assert decider.decide(again, state)[0].advisor_kind is AdvisorKind.LAWYER
    same = AssignAdvisor(village_region=VILLAGE, advisor_id="adv-1", at=at(1))
    assert decider.decide(same, state) == []


def test_a_service_log_says_whether_it_was_on_site():
    """Seed 000 (村（社区）法律顾问服务 1): 每月提供不少于1次、4小时的现场法律服务 — the log says whether the hours were
    given at the village (default) or by phone or online, so only on-site hours meet the monthly requirement."""
    state, _ = decider.run([AssignAdvisor(village_region=VILLAGE, advisor_id="adv-1", at=T0)])
    remote = LogAdvisorService(village_region=VILLAGE, advisor_id="adv-1", hours=1.0,
                               kind=AdvisorServiceKind.CONSULTATION, served_on=date(2026, 3, 1), on_site=False,
                               at=T0)  # fmt: skip
    assert decider.decide(remote, state)[0].on_site is False
    assert decider.decide(remote.model_copy(update={"on_site": True}), state)[0].on_site is True
