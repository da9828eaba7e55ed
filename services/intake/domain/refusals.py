"""How intake's rules refuse a command: a 409 naming the command and the stream's state, or a 404 when the
command's stream is of another kind."""

from __future__ import annotations

from services.intake.domain.state import Call, IntakeState, QcMonth, Request, Status, Village
from shared.errors import InvalidTransition, NotFound
from shared.events import Command

OPEN_STATES = (Status.RECEIVED, Status.ESCALATED, Status.REFERRAL_REFUSED)


def verb(command: Command) -> str:
    """`EvaluateRequest` → "evaluate", `OpenWorkOrder` → "open_work_order": the 409 names the command."""
    name = type(command).__name__
    snake = "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
    return snake.removesuffix("_request")


def state_name(state: IntakeState) -> str:
    if isinstance(state, Request):
        return state.status.value
    if isinstance(state, Call):
        return f"call {state.status.value}"
    if isinstance(state, Village):
        return "village"
    if isinstance(state, QcMonth):
        return "qc month"
    return "new"


def refuse(command: Command, state: IntakeState, detail: str = "") -> InvalidTransition:
    return InvalidTransition(verb(command), state_name(state), detail)


def request_of(state: IntakeState) -> Request:
    """The request a command acts on; a command on any other stream kind finds no request."""
    if not isinstance(state, Request):
        raise NotFound("no such request", field="id")
    return state


def open_request(c: Command, state: IntakeState) -> Request:
    s = request_of(state)
    if s.status not in OPEN_STATES:
        raise refuse(c, s)
    return s


def not_a_complaint(c: Command, s: Request) -> None:
    """A complaint is handled and replied to: the consultation steps (answer, refer, web reply) refuse it."""
    if s.is_complaint:
        raise refuse(c, s, "a complaint is handled and replied to (complaint/handle, complaint/reply)")
