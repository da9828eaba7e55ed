"""12348 ↔ 12345 ↔ 110 linkage (热线联动) decider stories: transfers out with the other hotline's ticket and result,
transfers in with their result told back once, and every refusal.

Sources: seed 002 (加强与110报警服务台联动, 按时办理工单) and seed 004 (推进与“12345”政府服务热线、“110”报警电话等联动).
"""

from datetime import UTC, datetime, timedelta

import pytest

from services.intake import domain
from services.intake.domain import (
    AnswerRequest,
    CloseRequest,
    CompleteWorkOrder,
    EscalateRequest,
    OpenWorkOrder,
    ReceiveRequest,
    ReceiveTransfer,
    RecordTransferOutcome,
    RecordTransferTicket,
    ReferRequest,
    Status,
    TransferRequest,
    decider,
    transfer_request_id,
)
from shared.contracts.common import Department, Partner
from shared.contracts.hotline_linkage import (
    RequestTransferred,
    TransferOutcomeRecorded,
    TransferResultReported,
    TransferTicketRecorded,
)
from shared.contracts.intake import Channel, CloseOutcome, Level, RequestClosed, RequestKind
from shared.errors import DomainError, InvalidTransition, NotFound, ValidationFailed

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TOWN = "431002001000"
HOTLINE, DISPATCH = Partner.HOTLINE_12345, Partner.DISPATCH_110


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def call(channel: Channel = Channel.HOTLINE_12348, ticket: str | None = None, rid: str = "rq-1") -> ReceiveRequest:
    return ReceiveRequest(
        request_id=rid, channel=channel, region=TOWN, kind=RequestKind.HELP, topic="neighbourhood",
        external_reference=ticket, at=T0,
    )  # fmt: skip


def transfer(to: Partner = DISPATCH, minutes: float = 5) -> TransferRequest:
    return TransferRequest(to=to, reason="斗殴正在发生, 需警方出警", asked="派警处置并反馈结果", at=at(minutes))


# -- transfer out: 12348 → 110 / 12345 -------------------------------------------------------------------------
def test_a_hotline_call_transferred_to_110_gets_its_ticket_then_its_result_and_closes():
    """Seed 002 (12348 与 110 联动): the call is handed over with why and what is asked; 110's ticket and result
    are recorded on the request, which closes once the result is in."""
    state, events = decider.run(
        [
            call(),
            transfer(),
            RecordTransferTicket(to=DISPATCH, ticket="JJ110-431002-0001", at=at(6)),
            RecordTransferOutcome(to=DISPATCH, ticket="JJ110-431002-0001", outcome="民警已到场处置", at=at(40)),
            CloseRequest(at=at(41)),
        ]
    )
    assert events[1] == RequestTransferred(
        recipient=DISPATCH, request_id="rq-1", reason="斗殴正在发生, 需警方出警", asked="派警处置并反馈结果",
        region=TOWN, kind=RequestKind.HELP, topic="neighbourhood", transferred_at=at(5),
    )  # fmt: skip
    assert events[1].partner_reference is None  # 110 has no ticket yet
    assert events[2] == TransferTicketRecorded(to=DISPATCH, ticket="JJ110-431002-0001", accepted_at=at(6))
    assert events[3] == TransferOutcomeRecorded(
        to=DISPATCH, ticket="JJ110-431002-0001", outcome="民警已到场处置", handled_at=at(40)
    )
    assert isinstance(events[4], RequestClosed) and events[4].outcome is CloseOutcome.TRANSFERRED
    assert len(events) == 5  # a call 12348 took itself reports to nobody
    assert isinstance(state, domain.Request) and state.status is Status.CLOSED
    assert state.transfer == domain.Transfer(
        to=DISPATCH, reason="斗殴正在发生, 需警方出警", asked="派警处置并反馈结果", transferred_at=at(5),
        ticket="JJ110-431002-0001", accepted_at=at(6), outcome="民警已到场处置", handled_at=at(40),
    )  # fmt: skip


def test_a_transferred_request_waits_for_the_other_hotlines_result_before_closing():
    """Seed 002 (工单按时办结): the linkage is done when the other hotline reports back, not when 12348 hands over."""
    with pytest.raises(DomainError) as err:
        decider.run([call(), transfer(HOTLINE), RecordTransferTicket(to=HOTLINE, ticket="12345-1", at=at(6)),
                     CloseRequest(at=at(7))])  # fmt: skip
    assert err.value.field == "transfer" and "waits for the result" in err.value.message


def test_the_result_may_arrive_without_a_separate_acceptance_and_records_the_ticket():
    """Seed 004 (12345 联动): a hotline that reports its result at once still names its ticket."""
    result = RecordTransferOutcome(to=HOTLINE, ticket="12345-77", outcome="已转住建部门", at=at(9))
    state, _ = decider.run([call(), transfer(HOTLINE), result])
    assert isinstance(state, domain.Request) and state.transfer is not None
    t = state.transfer
    assert (t.ticket, t.outcome, t.accepted_at) == ("12345-77", "已转住建部门", None)


def test_a_resent_acceptance_or_result_changes_nothing_and_a_different_one_is_refused():
    """Seed 004: the other hotline's ticket names the transfer; a second, different ticket or result is a conflict."""
    state, _ = decider.run(
        [call(), transfer(), RecordTransferTicket(to=DISPATCH, ticket="JJ110-1", at=at(6)),
         RecordTransferOutcome(to=DISPATCH, ticket="JJ110-1", outcome="已处置", at=at(9))]
    )  # fmt: skip
    assert decider.decide(RecordTransferTicket(to=DISPATCH, ticket="JJ110-1", at=at(10)), state) == []
    again = RecordTransferOutcome(to=DISPATCH, ticket="JJ110-1", outcome="已处置", at=at(10))
    assert decider.decide(again, state) == []
    with pytest.raises(DomainError) as err:
        decider.decide(RecordTransferTicket(to=DISPATCH, ticket="JJ110-2", at=at(10)), state)
    assert err.value.field == "ticket"
    with pytest.raises(DomainError) as err:
        decider.decide(RecordTransferOutcome(to=DISPATCH, ticket="JJ110-1", outcome="另一结果", at=at(10)), state)
    assert err.value.field == "outcome"


def test_an_answer_from_a_hotline_the_request_was_not_transferred_to_is_refused():
    """Seed 004: only the hotline that took the transfer reports on it (12345 cannot answer for 110)."""
    state, _ = decider.run([call(), transfer(DISPATCH)])
    with pytest.raises(DomainError) as err:
        decider.decide(RecordTransferTicket(to=HOTLINE, ticket="12345-9", at=at(6)), state)
    assert err.value.field == "request_id"
    untransferred, _ = decider.run([call()])
    with pytest.raises(DomainError):
        decider.decide(RecordTransferOutcome(to=DISPATCH, ticket="JJ110-9", outcome="x", at=at(6)), untransferred)
    with pytest.raises(NotFound):  # no such request at all
        decider.decide(RecordTransferTicket(to=DISPATCH, ticket="JJ110-9", at=at(6)), decider.initial_state())


def test_only_open_hotline_calls_are_transferred_and_only_to_12345_or_110():
    """Seed 004 (12348 ↔ 12345 ↔ 110): linkage is between hotlines; walk-in and web requests are not handed over."""
    walk_in = ReceiveRequest(
        request_id="rq-2", channel=Channel.WALK_IN, level=Level.TOWN, region=TOWN, kind=RequestKind.HELP,
        topic="labour", at=T0,
    )  # fmt: skip
    with pytest.raises(InvalidTransition):
        decider.run([walk_in, transfer()])
    with pytest.raises(ValidationFailed) as err:
        decider.run([call(), transfer(Partner.COURT)])
    assert err.value.field == "to"
    with pytest.raises(InvalidTransition):  # already answered
        decider.run([call(), AnswerRequest(at=at(1)), transfer()])
    with pytest.raises(InvalidTransition):  # transferred once already
        decider.run([call(), transfer(), transfer(HOTLINE, minutes=6)])


# -- transfer in: 12345 / 110 → 12348, result back -------------------------------------------------------------
def test_a_call_transferred_in_by_12345_is_answered_and_12345_is_told_once():
    """Seed 004 (12345 联动): the request answered on the 12345 transfer reports the result back under 12345's
    ticket; closing it afterwards tells 12345 nothing more."""
    _, events = decider.run(
        [call(Channel.TRANSFER_12345, "12345-0042"), AnswerRequest(at=at(20)), CloseRequest(at=at(21))]
    )
    reported = [e for e in events if isinstance(e, TransferResultReported)]
    assert reported == [
        TransferResultReported(
            recipient=HOTLINE, partner_reference="12345-0042", request_id="rq-1", outcome=CloseOutcome.ANSWERED,
            reported_at=at(20),
        )
    ]  # fmt: skip


def test_a_110_transfer_referred_to_mediation_reports_the_referral_to_110():
    """Seed 002 (与110报警服务台联动): 110's non-police dispute goes to mediation; 110 learns where it went."""
    _, events = decider.run(
        [
            call(Channel.TRANSFER_110, "JJ110-7"),
            ReferRequest(to_department=Department.MEDIATION, matter="邻里噪音", dispute_type="neighbourhood", at=at(9)),
        ]
    )
    assert events[-1] == TransferResultReported(
        recipient=DISPATCH, partner_reference="JJ110-7", request_id="rq-1", outcome=CloseOutcome.REFERRED,
        to_department=Department.MEDIATION, reported_at=at(9),
    )  # fmt: skip


def test_an_escalated_transfer_reports_at_the_first_resolution_and_never_twice():
    """Seed 002/004: an escalated transfer is reported when it resolves at the centre; closing adds nothing."""
    _, answered = decider.run(
        [
            call(Channel.TRANSFER_12345, "12345-8"),
            EscalateRequest(to_level=Level.TOWN, to_region=TOWN, at=at(2)),
            AnswerRequest(at=at(30)),
            CloseRequest(at=at(31)),
        ]
    )
    assert [e.outcome for e in answered if isinstance(e, TransferResultReported)] == [CloseOutcome.ANSWERED]
    _, closed = decider.run(
        [call(Channel.TRANSFER_12345, "12345-9"), EscalateRequest(to_level=Level.TOWN, to_region=TOWN, at=at(2)),
         CloseRequest(at=at(31))]
    )  # fmt: skip
    assert [e.outcome for e in closed if isinstance(e, TransferResultReported)] == [CloseOutcome.ESCALATED]


def test_a_110_transfer_handed_on_to_12345_tells_110_it_was_transferred_but_never_back_to_110():
    """Seed 004 (12348 ↔ 12345 ↔ 110): a matter 110 sent that belongs to 12345 goes on; it does not bounce back."""
    state, events = decider.run([call(Channel.TRANSFER_110, "JJ110-3"), transfer(HOTLINE)])
    assert [type(e) for e in events[1:]] == [RequestTransferred, TransferResultReported]
    assert events[2].recipient is DISPATCH and events[2].outcome is CloseOutcome.TRANSFERRED
    assert isinstance(state, domain.Request) and state.result_reported
    with pytest.raises(ValidationFailed) as err:
        decider.run([call(Channel.TRANSFER_110, "JJ110-4"), transfer(DISPATCH)])
    assert err.value.field == "to" and "not transferred back" in err.value.message


def test_a_transfer_received_again_under_the_same_ticket_changes_nothing():
    """Seed 004: one request per hotline ticket, so a re-sent transfer (a new event, same ticket) is a no-op; another
    request on the same stream is still refused."""
    state, _ = decider.run([call(Channel.TRANSFER_12345, "12345-5")])
    assert decider.decide(call(Channel.TRANSFER_12345, "12345-5"), state) == []
    with pytest.raises(InvalidTransition):
        decider.decide(call(Channel.TRANSFER_12345, "12345-6"), state)
    with pytest.raises(InvalidTransition):
        decider.decide(call(), state)


def test_work_orders_on_a_transfer_in_still_gate_closing():
    """Seed 002 (工单按时办结): the result goes back when answered; the work order must be completed to close."""
    state, events = decider.run(
        [call(Channel.TRANSFER_110, "JJ110-5"), OpenWorkOrder(deadline_hours=24, at=at(1)), AnswerRequest(at=at(5))]
    )
    assert isinstance(events[-1], TransferResultReported)
    with pytest.raises(DomainError):
        decider.decide(CloseRequest(at=at(6)), state)
    _, more = decider.run([CompleteWorkOrder(at=at(6)), CloseRequest(at=at(7))], state)
    assert not [e for e in more if isinstance(e, TransferResultReported)]


def test_a_transfer_in_opens_a_work_order_due_within_the_hotlines_time_limit():
    """Seed 002 (与110报警服务台联动, 按时办理工单): a call 110 transfers is a work order from the moment it arrives;
    a re-sent transfer opens nothing, and only a transfer channel takes one."""
    command = ReceiveTransfer(request=call(Channel.TRANSFER_110, "JJ110-6"), deadline_hours=24)
    state, events = decider.run([command])
    assert [type(e).__name__ for e in events] == ["RequestReceived", "WorkOrderOpened"]
    assert events[1].due_at == T0 + timedelta(hours=24) and events[1].channel is Channel.TRANSFER_110
    assert isinstance(state, domain.Request) and state.work_order is not None
    assert decider.decide(command, state) == []
    with pytest.raises(ValidationFailed) as err:
        decider.run([ReceiveTransfer(request=call(), deadline_hours=24)])
    assert err.value.field == "channel"


def test_a_transfer_in_has_one_request_id_per_hotline_and_ticket():
    """Seed 004: the same ticket from 12345 always names the same request; 110's same number is another call."""
    a = transfer_request_id(HOTLINE, "T-1")
    assert a == transfer_request_id(HOTLINE, "T-1") and a.startswith("rq-") and len(a) == 35
    assert a != transfer_request_id(DISPATCH, "T-1") and a != transfer_request_id(HOTLINE, "T-2")
