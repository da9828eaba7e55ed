"""Complaints (投诉, seed 003: the centre's 投诉受理岗; seed 001: "建立完善投诉受理、处理和反馈机制"): a request of
kind complaint is handled (a finding), then the complainant gets the reply, by the deadline set at receipt."""

from __future__ import annotations

from services.intake.domain.commands import HandleComplaint, ReplyToComplaint
from services.intake.domain.refusals import OPEN_STATES, refuse, request_of
from services.intake.domain.state import IntakeState, Request, Status
from shared.contracts.intake_review import ComplaintHandled, ComplaintReplied
from shared.events import Command, Event


def _complaint(c: Command, state: IntakeState) -> Request:
    s = request_of(state)
    if not s.is_complaint:
        raise refuse(c, s, f"only a complaint is handled and replied to, this request is a {s.kind.value}")
    return s


def handle_complaint(c: HandleComplaint, state: IntakeState) -> list[Event]:
    s = _complaint(c, state)
    if s.status not in OPEN_STATES:
        raise refuse(c, s)
    return [ComplaintHandled(finding=c.finding, about=c.about, handled_at=c.at, channel=s.channel, region=s.region)]


def reply_to_complaint(c: ReplyToComplaint, state: IntakeState) -> list[Event]:
    s = _complaint(c, state)
    if s.status is not Status.HANDLED:
        raise refuse(c, s, "a complaint is replied to once it is handled, and once")
    due = s.reply_due_at
    assert due is not None  # every complaint has one (evolve gives old ones the default)
    return [ComplaintReplied(replied_at=c.at, due_at=due, on_time=c.at < due, channel=s.channel, region=s.region)]
