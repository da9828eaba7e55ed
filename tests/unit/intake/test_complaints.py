"""Complaints (投诉) at the centre: received → handled → replied → closed → evaluated, with a reply deadline.

Sources: seed 003 (the one-stop centre's 投诉受理岗 receives complaints about justice administration and legal
services), seed 001 (投诉受理、处理和反馈机制), seed 004 (随单评价: every service evaluated once), 信访工作条例
art. 35 (the 60-day default reply time), 民法典 arts. 201, 203 (a period in days starts the next day and ends at 24:00).
"""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.intake import domain
from services.intake.config import Settings
from services.intake.domain import (
    AnswerRequest,
    CloseRequest,
    EscalateRequest,
    EvaluateRequest,
    HandleComplaint,
    PublishWebReply,
    ReceiveRequest,
    ReferRequest,
    ReplyToComplaint,
    Status,
    decider,
)
from services.intake.main import create_app
from shared.calendar import CHINA
from shared.contracts.common import Department
from shared.contracts.intake import (
    Channel,
    CloseOutcome,
    Level,
    RequestClosed,
    RequestEvaluated,
    RequestKind,
    RequestReceived,
)
from shared.contracts.intake_review import ComplaintFinding, ComplaintHandled, ComplaintReplied
from shared.errors import DomainError, InvalidTransition
from shared.settings import PlatformSettings
from tests.conftest import token
from tests.fakes import memory_adapters

CST = CHINA
# 2026-03-02 23:30 China time (15:30 UTC): the receipt day is not counted
T0 = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
COUNTY = "431002000000"
CITY = "431000000000"


def complaint(channel: Channel = Channel.WALK_IN, days: int = 60) -> ReceiveRequest:
    level = Level.COUNTY if channel is Channel.WALK_IN else None
    region = COUNTY if channel is Channel.WALK_IN else CITY
    return ReceiveRequest(
        request_id="rq-c", channel=channel, level=level, region=region, kind=RequestKind.COMPLAINT,
        topic="service_quality", complaint_reply_days=days, at=T0,
    )  # fmt: skip


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_a_walk_in_complaint_is_handled_replied_closed_and_evaluated():
    """Seeds 003 and 001: a complaint is received, handled and answered back; 004: then evaluated once."""
    state, events = decider.run(
        [
            complaint(),
            HandleComplaint(finding=ComplaintFinding.UPHELD, about=Department.NOTARY, at=at(24)),
            ReplyToComplaint(at=at(48)),
            CloseRequest(at=at(49)),
            EvaluateRequest(satisfaction=4, at=at(50)),
        ]
    )
    # 60 days from 3 March end on 1 May, a holiday (1–5 May 2026): the period runs to 24:00 on 6 May
    due = datetime(2026, 5, 7, 0, 0, tzinfo=CST)
    assert events[0].reply_due_at == due
    assert events[1] == ComplaintHandled(finding=ComplaintFinding.UPHELD, about=Department.NOTARY, handled_at=at(24),
                                         channel=Channel.WALK_IN, region=COUNTY)  # fmt: skip
    assert events[2] == ComplaintReplied(replied_at=at(48), due_at=due, on_time=True, channel=Channel.WALK_IN,
                                         region=COUNTY)  # fmt: skip
    assert isinstance(events[3], RequestClosed) and events[3].outcome is CloseOutcome.REPLIED
    assert isinstance(events[4], RequestEvaluated) and events[4].satisfaction == 4
    assert state.status is Status.EVALUATED and state.reply_on_time is True


def test_the_reply_deadline_counts_from_the_next_china_day_to_2400():
    """民法典 arts. 201, 203: the receipt day is not counted; the last day ends at 24:00 China time."""
    received = datetime(2026, 3, 2, 16, 30, tzinfo=UTC)  # 00:30 on 3 March in China
    assert domain.complaint_reply_due(received, 15) == datetime(2026, 3, 19, 0, 0, tzinfo=CST)
    assert domain.complaint_reply_due(T0, 15) == datetime(2026, 3, 18, 0, 0, tzinfo=CST)  # 23:30 on 2 March


def test_the_reply_deadline_is_the_configured_number_of_days():
    """Seeds set no figure: a city's own promise (INTAKE_COMPLAINT_REPLY_DAYS) replaces the 60-day default."""
    state, _ = decider.run([complaint(days=15)])
    assert state.reply_due_at == datetime(2026, 3, 18, 0, 0, tzinfo=CST)
    assert domain.DEFAULT_COMPLAINT_REPLY_DAYS == 60
    plain, _ = decider.run([complaint().model_copy(update={"kind": RequestKind.CONSULTATION})])
    assert plain.reply_due_at is None


def test_a_late_reply_is_recorded_not_on_time():
    """Seed 001 (投诉反馈): the reply is measured against the deadline set at receipt."""
    _, events = decider.run(
        [complaint(days=1), HandleComplaint(finding=ComplaintFinding.NOT_UPHELD, at=at(2)), ReplyToComplaint(at=at(49))]
    )
    assert events[-1].on_time is False and events[-1].due_at == datetime(2026, 3, 4, 0, 0, tzinfo=CST)


def test_a_complaint_is_not_answered_referred_or_given_a_web_reply():
    """Seed 003: complaints go to the complaints post (处理, 反馈), not through consultation answers or referrals."""
    state, _ = decider.run([complaint()])
    refer = ReferRequest(to_department=Department.LEGAL_AID, matter="x", at=at(1))
    for command in (AnswerRequest(at=at(1)), refer):
        with pytest.raises(InvalidTransition, match="complaint"):
            decider.decide(command, state)
    web, _ = decider.run([complaint(Channel.WEB_12348)])
    with pytest.raises(InvalidTransition, match="complaint"):
        decider.decide(PublishWebReply(at=at(1)), web)


def test_only_complaints_are_handled_and_replied_to():
    """Seed 003: the complaint steps belong to complaints."""
    consultation, _ = decider.run([complaint().model_copy(update={"kind": RequestKind.CONSULTATION})])
    for command in (HandleComplaint(finding=ComplaintFinding.UPHELD, at=at(1)), ReplyToComplaint(at=at(1))):
        with pytest.raises(InvalidTransition, match="only a complaint"):
            decider.decide(command, consultation)


def test_steps_out_of_order_are_refused():
    """Seed 001: received → handled → replied (反馈) → closed, each once."""
    received, _ = decider.run([complaint()])
    for command in (ReplyToComplaint(at=at(1)), CloseRequest(at=at(1))):
        with pytest.raises(InvalidTransition):
            decider.decide(command, received)
    handled, _ = decider.run([HandleComplaint(finding=ComplaintFinding.UPHELD, at=at(1))], received)
    for command in (HandleComplaint(finding=ComplaintFinding.UPHELD, at=at(2)), CloseRequest(at=at(2))):
        with pytest.raises(InvalidTransition):
            decider.decide(command, handled)
    closed, _ = decider.run([ReplyToComplaint(at=at(2)), CloseRequest(at=at(3))], handled)
    with pytest.raises(InvalidTransition, match="state 'closed'"):
        decider.decide(ReplyToComplaint(at=at(4)), closed)


def test_a_complaint_is_evaluated_only_after_closing_and_once():
    """Seed 004 (随单评价): one evaluation per service, once it is closed."""
    state, _ = decider.run([complaint(), HandleComplaint(finding=ComplaintFinding.UPHELD, at=at(1))])
    state, _ = decider.run([ReplyToComplaint(at=at(2))], state)
    with pytest.raises(InvalidTransition, match="after it is closed"):
        decider.decide(EvaluateRequest(satisfaction=5, at=at(3)), state)
    state, _ = decider.run([CloseRequest(at=at(3)), EvaluateRequest(satisfaction=2, at=at(4))], state)
    with pytest.raises(DomainError) as err:
        decider.decide(EvaluateRequest(satisfaction=5, at=at(5)), state)
    assert err.value.field == "satisfaction" and not isinstance(err.value, InvalidTransition)


def test_a_hotline_complaint_escalated_to_the_walk_in_centre_is_handled_there():
    """Seed 001: hotline → walk-in for deeper service; the complaint keeps its own steps."""
    state, events = decider.run(
        [
            complaint(Channel.HOTLINE_12348),
            EscalateRequest(to_level=Level.COUNTY, to_region=COUNTY, at=at(1)),
            HandleComplaint(finding=ComplaintFinding.PARTLY_UPHELD, at=at(5)),
            ReplyToComplaint(at=at(6)),
            CloseRequest(at=at(7)),
        ]
    )
    assert events[-1].outcome is CloseOutcome.REPLIED and state.status is Status.CLOSED


def test_an_impossible_reply_time_is_refused_at_the_edge():
    """INTAKE_COMPLAINT_REPLY_DAYS: a period of 1 to 365 days."""
    for days in (0, 366):
        with pytest.raises(ValueError, match="complaint_reply_days"):
            complaint(days=days)


# -- through the API (in-memory adapters) -------------------------------------------------------------------
SETTINGS = PlatformSettings()


async def test_the_complaint_routes_and_the_worklist_of_open_complaints_by_due_time():
    """Seed 003 (投诉受理岗) with a 15-day promise; refusals are problem+json (409 state, 422 input)."""
    now = [T0]
    app = create_app(Settings(platform=SETTINGS, complaint_reply_days=15), **memory_adapters(lambda: now[0]))
    headers = token(SETTINGS, "dept:intake", ["intake:read", "intake:write"])
    body = {"channel": "walk_in", "level": "county", "region": COUNTY, "kind": "complaint", "topic": "service_quality"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers) as c:
        first = (await c.post("/requests", json=body)).json()
        now[0] += timedelta(days=2)
        second = (await c.post("/requests", json=body)).json()
        await c.post("/requests", json={**body, "kind": "consultation"})
        assert first["complaint_reply_due_at"] == "2026-03-18T00:00:00+08:00" and first["complaint_open"]
        worklist = (await c.get("/complaints")).json()
        assert [i["request_id"] for i in worklist["items"]] == [first["request_id"], second["request_id"]]
        rid = first["request_id"]
        assert (await c.post(f"/requests/{rid}/complaint/handle", json={"finding": "maybe"})).status_code == 422
        handled = await c.post(f"/requests/{rid}/complaint/handle", json={"finding": "upheld", "about": "notary"})
        assert handled.json()["status"] == "handled" and handled.json()["complaint_about"] == "notary"
        now[0] += timedelta(days=20)
        late = (await c.post(f"/requests/{rid}/complaint/reply")).json()
        assert late["complaint_reply_on_time"] is False and not late["complaint_open"]
        overdue = (await c.get("/complaints", params={"overdue": "true"})).json()
        assert [i["request_id"] for i in overdue["items"]] == [second["request_id"]]
        early = await c.post(f"/requests/{second['request_id']}/evaluate", json={"satisfaction": 5})
        assert early.status_code == 409 and early.headers["content-type"] == "application/problem+json"
        assert (await c.post(f"/requests/{rid}/close")).json()["outcome"] == "replied"
        again = await c.post(f"/requests/{rid}/complaint/reply")
        assert again.status_code == 409 and "state 'closed'" in again.json()["detail"]
        assert (await c.post(f"/requests/{rid}/evaluate", json={"satisfaction": 6})).status_code == 422
        assert (await c.post(f"/requests/{rid}/evaluate", json={"satisfaction": 3})).status_code == 200
        twice = await c.post(f"/requests/{rid}/evaluate", json={"satisfaction": 4})
        assert twice.status_code == 409 and twice.json()["errors"][0]["field"] == "satisfaction"


def test_a_complaint_stored_before_deadlines_were_recorded_gets_the_default_period():
    """信访工作条例 art. 35 (the 60-day default): an old `request_received` without `reply_due_at` still has one."""
    old = RequestReceived(request_id="rq-old", channel=Channel.WALK_IN, level=Level.COUNTY, region=COUNTY,
                          kind=RequestKind.COMPLAINT, topic="service_quality", received_at=T0)  # fmt: skip
    state = decider.fold([old])
    assert state.reply_due_at == datetime(2026, 5, 7, 0, 0, tzinfo=CST)  # 1 May is a holiday: to 24:00, 6 May
    _, events = decider.run([HandleComplaint(finding=ComplaintFinding.UPHELD, at=at(1)), ReplyToComplaint(at=at(2))],
                            state)  # fmt: skip
    assert events[-1].on_time is True
