"""The committee registry as events (人民调解委员会 / 人民调解员 名册): one stream per committee.

A committee is registered once (a seed committee from the reference data is adopted the same way, with its
mediators); mediators join it with specialisms drawn from the committee's dispute types, and are deactivated
when they leave. Pure: the handler passes in what it looked up (the dispute-type catalogue, which committee
already holds a mediator id).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from pydantic import Field

from shared.contracts.common import RegionCode, ShortText
from shared.contracts.mediation import CommitteeKind, CommitteeRegistered, MediatorDeactivated, MediatorRegistered
from shared.decider import Decider
from shared.errors import DomainError, NotFound, ValidationFailed
from shared.events import Command, Event


class MediatorIn(Command):
    mediator_id: ShortText
    display_name: ShortText
    specialisms: list[ShortText] = Field(default_factory=list, max_length=50)
    active: bool = True


class RegisterCommittee(Command):
    at: datetime
    committee_id: ShortText
    name: ShortText
    kind: CommitteeKind
    regions: list[RegionCode] = Field(min_length=1, max_length=50)
    dispute_types: list[ShortText] = Field(min_length=1, max_length=50)
    serves: ShortText | None = None
    mediators: list[MediatorIn] = Field(default_factory=list)  # seed adoption brings the file's mediators
    known_types: list[str]  # the dispute-type catalogue


class AddMediator(Command):
    at: datetime
    mediator: MediatorIn
    held_by: str | None = None  # the committee that already holds this mediator id, if any


class DeactivateMediator(Command):
    at: datetime
    mediator_id: ShortText
    reason: ShortText


@dataclass(frozen=True)
class MediatorState:
    mediator_id: str
    display_name: str
    specialisms: tuple[str, ...]
    active: bool = True


@dataclass(frozen=True)
class CommitteeState:
    committee_id: str = ""
    name: str = ""
    kind: CommitteeKind | None = None
    regions: tuple[str, ...] = ()
    dispute_types: tuple[str, ...] = ()
    serves: str | None = None
    mediators: tuple[MediatorState, ...] = ()

    @property
    def exists(self) -> bool:
        return bool(self.committee_id)

    def mediator(self, mediator_id: str) -> MediatorState | None:
        return next((m for m in self.mediators if m.mediator_id == mediator_id), None)


def initial_state() -> CommitteeState:
    return CommitteeState()


def _mediator_events(committee_id: str, types: tuple[str, ...] | list[str], m: MediatorIn, at: datetime) -> list[Event]:
    outside = sorted(set(m.specialisms) - set(types))
    if outside:
        raise ValidationFailed(
            f"specialisms {', '.join(outside)} are not dispute types of committee {committee_id}", field="specialisms"
        )
    events: list[Event] = [
        MediatorRegistered(
            mediator_id=m.mediator_id,
            committee_id=committee_id,
            display_name=m.display_name,
            specialisms=m.specialisms,
            registered_at=at,
        )
    ]
    if not m.active:
        events.append(
            MediatorDeactivated(
                mediator_id=m.mediator_id, committee_id=committee_id, reason="inactive in the roster", deactivated_at=at
            )
        )
    return events


def decide(command: Command, s: CommitteeState) -> list[Event]:
    match command:
        case RegisterCommittee():
            return _register(command, s)
        case AddMediator():
            if not s.exists:
                raise NotFound("no such committee", field="committee_id")
            m = command.mediator
            existing = s.mediator(m.mediator_id)
            if existing is not None:
                if (existing.display_name, existing.specialisms) == (m.display_name, tuple(m.specialisms)):
                    return []
                raise DomainError(f"mediator {m.mediator_id} is already on this committee", field="mediator_id")
            if command.held_by is not None and command.held_by != s.committee_id:
                raise DomainError(
                    f"mediator id {m.mediator_id} already serves committee {command.held_by}", field="mediator_id"
                )
            return _mediator_events(s.committee_id, s.dispute_types, m, command.at)
        case DeactivateMediator():
            if not s.exists:
                raise NotFound("no such committee", field="committee_id")
            found = s.mediator(command.mediator_id)
            if found is None:
                raise NotFound(f"mediator {command.mediator_id} is not on this committee", field="mediator_id")
            if not found.active:
                return []
            return [
                MediatorDeactivated(
                    mediator_id=command.mediator_id,
                    committee_id=s.committee_id,
                    reason=command.reason,
                    deactivated_at=command.at,
                )
            ]
    raise TypeError(f"the committee registry cannot decide {type(command).__name__}")


def _register(c: RegisterCommittee, s: CommitteeState) -> list[Event]:
    if s.exists:
        if (s.name, s.kind, s.regions, s.dispute_types) == (c.name, c.kind, tuple(c.regions), tuple(c.dispute_types)):
            return []
        raise DomainError(f"committee {c.committee_id} is already registered", field="committee_id")
    unknown = sorted(set(c.dispute_types) - set(c.known_types))
    if unknown:
        raise ValidationFailed(f"unknown dispute types: {', '.join(unknown)}", field="dispute_types")
    if c.serves is not None and c.kind is not CommitteeKind.STATIONED:
        raise ValidationFailed("only a stationed committee (派驻调解室) serves an organ", field="serves")
    ids = [m.mediator_id for m in c.mediators]
    if len(ids) != len(set(ids)):
        raise ValidationFailed("mediator ids repeat", field="mediators")
    events: list[Event] = [
        CommitteeRegistered(
            committee_id=c.committee_id,
            name=c.name,
            kind=c.kind,
            region=c.regions[0],
            regions=c.regions,
            dispute_types=c.dispute_types,
            serves=c.serves,
            registered_at=c.at,
        )
    ]
    for m in c.mediators:
        events += _mediator_events(c.committee_id, c.dispute_types, m, c.at)
    return events


def evolve(s: CommitteeState, e: Event) -> CommitteeState:
    match e:
        case CommitteeRegistered():
            return CommitteeState(
                committee_id=e.committee_id,
                name=e.name,
                kind=e.kind,
                regions=tuple(e.regions),
                dispute_types=tuple(e.dispute_types),
                serves=e.serves,
            )
        case MediatorRegistered():
            m = MediatorState(e.mediator_id, e.display_name, tuple(e.specialisms))
            return replace(s, mediators=(*s.mediators, m))
        case MediatorDeactivated():
            return replace(
                s,
                mediators=tuple(replace(m, active=False) if m.mediator_id == e.mediator_id else m for m in s.mediators),
            )
    return s


def stream_id(committee_id: str) -> str:
    return f"committee-{committee_id}"


def is_committee(stream_id: str) -> bool:
    return stream_id.startswith("committee-")


decider: Decider[CommitteeState] = Decider("mediation_committee", initial_state, decide, evolve)
