"""A village's legal advisor (村居法律顾问, seed 000): the registry entry `adv-<village region>` assigns and
unassigns its advisor, and logs the hours of service they give (a day in China, never ahead of it)."""

from __future__ import annotations

from services.intake.domain.commands import AssignAdvisor, LogAdvisorService, UnassignAdvisor
from services.intake.domain.refusals import refuse
from services.intake.domain.state import Empty, IntakeState, Village
from shared.calendar import china_date
from shared.contracts.intake import AdvisorAssigned, AdvisorKind, AdvisorServiceLogged, AdvisorUnassigned
from shared.errors import DomainError, ValidationFailed
from shared.events import Command, Event


def _current_advisor(c: Command, state: IntakeState) -> str | None:
    if not isinstance(state, Empty | Village):
        raise refuse(c, state, "not a village registry entry")
    return state.advisor_id if isinstance(state, Village) else None


def assign_advisor(c: AssignAdvisor, state: IntakeState) -> list[Event]:
    current = _current_advisor(c, state)
    if current == c.advisor_id and (c.advisor_kind is None or c.advisor_kind == _current_kind(state)):
        return []  # already the advisor: nothing happened
    return [
        AdvisorAssigned(
            village_region=c.village_region,
            advisor_id=c.advisor_id,
            previous_advisor_id=current,
            assigned_at=c.at,
            advisor_kind=c.advisor_kind,
        )
    ]


def _current_kind(state: IntakeState) -> AdvisorKind | None:
    return state.advisor_kind if isinstance(state, Village) else None


def unassign_advisor(c: UnassignAdvisor, state: IntakeState) -> list[Event]:
    current = _current_advisor(c, state)
    if current is None:
        raise DomainError("the village has no advisor", field="advisor_id")
    return [AdvisorUnassigned(village_region=c.village_region, advisor_id=current, unassigned_at=c.at)]


def log_advisor_service(c: LogAdvisorService, state: IntakeState) -> list[Event]:
    current = _current_advisor(c, state)
    if current is None:
        raise DomainError("the village has no advisor to log service for", field="advisor_id")
    if current != c.advisor_id:
        raise DomainError(f"advisor {c.advisor_id} is not this village's advisor", field="advisor_id")
    if c.served_on > china_date(c.at):
        raise ValidationFailed("service cannot be logged ahead of the day it is given", field="served_on")
    return [
        AdvisorServiceLogged(
            village_region=c.village_region,
            advisor_id=c.advisor_id,
            hours=c.hours,
            kind=c.kind,
            served_on=c.served_on,
            logged_at=c.at,
            on_site=c.on_site,
        )
    ]
