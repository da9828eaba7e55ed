"""随单评价 (seed 004: "服务一次、办事一次，接受服务对象评价一次"): the one rule every department's decider applies
to an evaluation — only a closed case, and only once — with its command and HTTP body. Pure: imports only
pydantic and the shared contracts, events and errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from shared.contracts.common import CaseEvaluated, Satisfaction
from shared.errors import DomainError, InvalidTransition
from shared.events import Command, Event


class EvaluationBody(BaseModel):
    """The HTTP body of every department's `POST …/evaluate`: the satisfaction (1–5)."""

    model_config = ConfigDict(extra="forbid")

    satisfaction: Satisfaction


class EvaluateCase(Command):
    """The person served rates a closed case (1–5)."""

    satisfaction: Satisfaction
    at: datetime


def check_evaluation(*, state: str, closed: bool, evaluated: int | None) -> None:
    """Refuse an evaluation of a case that is not closed yet (409 naming the state) or already rated (409)."""
    if evaluated is not None:
        raise DomainError(f"the case was already evaluated ({evaluated}): one per case", field="satisfaction")
    if not closed:
        raise InvalidTransition("evaluate", state, "a case is evaluated after it is closed")


class Evaluable(Protocol):
    """A department's case state as the evaluation rule reads it."""

    @property
    def status(self) -> Any: ...
    @property
    def region(self) -> str: ...
    @property
    def satisfaction(self) -> int | None: ...


def evaluation_rule(
    evaluated: type[CaseEvaluated], closed: Callable[[Any], bool]
) -> Callable[[EvaluateCase, Any], list[Event]]:
    """The decider rule for `EvaluateCase` in a department whose cases are closed when `closed(state)` holds and
    whose evaluation event is `evaluated`."""

    def evaluate(c: EvaluateCase, state: Evaluable) -> list[Event]:
        check_evaluation(state=str(state.status), closed=closed(state), evaluated=state.satisfaction)
        return [evaluated(satisfaction=c.satisfaction, evaluated_at=c.at, region=state.region)]

    return evaluate
