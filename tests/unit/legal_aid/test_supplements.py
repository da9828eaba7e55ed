"""The review clock stops while the applicant supplements materials (法律援助法 art. 43); a refusal names the justice
bureau as the place of objection (art. 49); the department and the metrics service count the same deadlines."""

from datetime import datetime
from decimal import Decimal

import pytest

from services.legal_aid.domain import (
    Assign,
    Contest,
    ProviderFacts,
    ReceiveApplication,
    ReceiveNotice,
    ReceiveSupplement,
    RequestSupplement,
    Review,
    Threshold,
    decider,
)
from services.legal_aid.domain.decider import OBJECTION_ROUTE
from services.metrics.catalogue import load_catalogue
from services.metrics.fold import CaseState, fold, next_due
from shared.calendar import CHINA
from shared.contracts.common import Partner
from shared.contracts.legal_aid import (
    CaseKind,
    Channel,
    Decision,
    MatterType,
    ProviderType,
    RefusalContested,
    SupplementReceived,
    SupplementRequested,
)
from shared.errors import DomainError, InvalidTransition, ValidationFailed
from shared.events import Event
from tests.unit.metrics.helpers import env

CAT = load_catalogue()
BENGBU = Threshold("Bengbu", Decimal("760.00"), Decimal("2.5"))
REGION = "340304000000"
APPLIED = datetime(2026, 3, 2, 10, 0, tzinfo=CHINA)  # Monday: without a pause the review ends 24:00 Mon 9 March


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHINA)


def apply(at: datetime = APPLIED, income: float = 500.0) -> ReceiveApplication:
    return ReceiveApplication(
        channel=Channel.WALK_IN,
        region=REGION,
        matter_type=MatterType.WAGES,
        matter="unpaid wages",
        applicant_ref="p-" + "a" * 32,
        household_income_per_head=income,
        applied_at=at,
    )


def review_deadline(state):
    return next(d for d in state.deadlines() if d.name == "review")


def test_supplement_stops_the_review_clock_and_receipt_restarts_it():
    """法律援助法 art. 43: time spent supplementing materials is not counted in the 7-day review. Asked on Wed 4 March
    (2 days used), received Fri 13 March: 5 days left, 14..18 March, ending 24:00 Wed 18 March."""
    state, events = decider.run([apply(), RequestSupplement(missing="工资条", at=cst(2026, 3, 4, 15))])
    assert isinstance(events[-1], SupplementRequested) and state.awaiting_supplement
    paused = review_deadline(state)
    assert paused.due_at is None and paused.status(cst(2026, 3, 12)) == "paused"  # not missed while waiting
    state, [received] = decider.run([ReceiveSupplement(at=cst(2026, 3, 13, 11))], state)
    assert isinstance(received, SupplementReceived) and received.review_due_at == cst(2026, 3, 19)
    assert review_deadline(state).due_at == cst(2026, 3, 19) and not state.awaiting_supplement
    state, _ = decider.run([Review(at=cst(2026, 3, 18, 17), threshold=BENGBU)], state)
    assert review_deadline(state).status(cst(2026, 3, 20)) == "met"  # late without the pause, on time with it


def test_review_waits_for_the_requested_materials():
    """法律援助法 art. 43: the review decides on complete materials; a second request waits for the first."""
    state, _ = decider.run([apply(), RequestSupplement(missing="身份证明", at=cst(2026, 3, 3, 9))])
    with pytest.raises(DomainError) as err:
        decider.decide(Review(at=cst(2026, 3, 3, 10), threshold=BENGBU), state)
    assert err.value.field == "supplement"
    with pytest.raises(DomainError):
        decider.decide(RequestSupplement(missing="again", at=cst(2026, 3, 3, 11)), state)
    with pytest.raises(ValidationFailed) as bad:
        decider.decide(ReceiveSupplement(at=cst(2026, 3, 3, 8)), state)
    assert bad.value.field == "at"


def test_supplement_steps_out_of_order_are_refused():
    """Only an application under review waits for materials; nothing arrives that was not asked for."""
    state, _ = decider.run([apply()])
    with pytest.raises(InvalidTransition):
        decider.decide(ReceiveSupplement(at=cst(2026, 3, 3, 9)), state)
    granted, _ = decider.run([Review(at=cst(2026, 3, 3, 9), threshold=BENGBU)], state)
    with pytest.raises(InvalidTransition):
        decider.decide(RequestSupplement(missing="x", at=cst(2026, 3, 4, 9)), granted)


def test_refusal_names_the_justice_bureau_as_the_place_of_objection():
    """法律援助法 art. 49: an applicant objecting to a refusal goes to the justice bureau (司法行政部门) that set up
    the aid centre, not back to the centre; the refusal says so and the objection records where it was lodged."""
    state, events = decider.run(
        [
            apply(income=2500.0),
            Review(at=cst(2026, 3, 3, 9), threshold=BENGBU),
            Contest(grounds="g", at=cst(2026, 3, 4)),
        ]
    )
    refusal = events[1]
    assert refusal.decision is Decision.REFUSED and refusal.reason.endswith(OBJECTION_ROUTE)
    assert "司法行政部门" in refusal.reason and "art. 49" in refusal.reason
    objection = events[2]
    assert isinstance(objection, RefusalContested) and objection.lodged_with == "justice_bureau"
    _, [granted] = decider.run([Review(at=cst(2026, 3, 6), threshold=BENGBU, household_income_per_head=500.0)], state)
    assert granted.decision is Decision.GRANTED and OBJECTION_ROUTE not in granted.reason


def _metrics_deadlines(events: list[tuple[datetime, Event]]) -> dict[str, datetime]:
    case = CaseState("la-1")
    for i, (at, e) in enumerate(events):
        envelope = env(e.event_type, "la-1", at, id=f"e-{i}", **e.model_dump(mode="json"))
        case = fold(case, envelope, CAT)
    return {d.rule: d.due for d in case.deadlines}


def test_department_and_metrics_count_the_same_review_deadline_with_a_supplement_pause():
    """法律援助法 art. 43 with 民法典 arts. 201–203: the review deadline the department shows and the one the
    metrics service judges `aid_reviewed_on_time` by are the same instant, a supplement pause included."""
    asked, received = cst(2026, 9, 21, 15), cst(2026, 9, 24, 16)  # asked on the day of the application
    commands = [apply(at=APPLIED.replace(month=9, day=21)), RequestSupplement(missing="x", at=asked)]
    commands.append(ReceiveSupplement(at=received))
    state, events = decider.run(commands)
    stamped = list(zip([commands[0].applied_at, asked, received], events, strict=True))
    department = review_deadline(state).due_at
    assert department == cst(2026, 10, 9)  # 7 days from 25 Sep: last day 1 Oct (国庆) → Thu 8 Oct
    assert _metrics_deadlines(stamped)["review_7d"] == department


def test_department_and_metrics_count_the_same_assignment_deadline():
    """法律援助法 art. 36 with 民法典 art. 203: 3 days from a notice on Mon 28 Sep 2026 end on 1 Oct (国庆), so on
    the first working day after the holiday, Thu 8 Oct, in the department and in metrics alike."""
    notified = cst(2026, 9, 28, 18)
    command = ReceiveNotice(
        kind=CaseKind.NOTIFIED_DEFENCE,
        region=REGION,
        defendant_ref="p-" + "b" * 32,
        notified_by=Partner.COURT,
        partner_reference="(2026)皖0304刑初1号",
        stage="trial",
        charge="theft",
        notified_at=notified,
    )
    provider = ProviderFacts("bb-lawyer-001", ProviderType.LAWYER, 3, 0)
    state, events = decider.run([command, Assign(case_id="la-1", provider=provider, at=cst(2026, 10, 8, 23, 59))])
    department = next(d for d in state.deadlines() if d.name == "assignment")
    assert department.due_at == cst(2026, 10, 9) and events[1].on_time
    stamped = [(notified, events[0]), (cst(2026, 10, 8, 23, 59), events[1])]
    assert _metrics_deadlines(stamped)["assignment_3d"] == department.due_at


def test_metrics_keeps_a_paused_review_pending_past_its_first_due_time():
    """法律援助法 art. 43: while materials are awaited the review is neither met nor missed in the scorecard, and the
    metrics engine schedules no re-evaluation for it."""
    state, events = decider.run([apply(), RequestSupplement(missing="x", at=cst(2026, 3, 3, 9))])
    case = CaseState("la-1")
    for i, (at, e) in enumerate(zip([APPLIED, cst(2026, 3, 3, 9)], events, strict=True)):
        case = fold(case, env(e.event_type, "la-1", at, id=f"e-{i}", **e.model_dump(mode="json")), CAT)
    [review] = case.deadlines
    assert review.paused and review.status(cst(2026, 4, 30)) == "pending"
    assert next_due(case, cst(2026, 3, 4)) is None
