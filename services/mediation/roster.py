"""The committee registry's use cases (名册管理): register a committee, add or deactivate a mediator, list them.

Each committee is a stream; the in-memory registry the assignments read is overlaid with the streams' state at
start and after every change. A seed committee from the reference file is adopted into a stream (with its
mediators) the first time it is changed.
Routes call these with the wired service (`bootstrap.Mediation`) and the `Call`; nothing here knows HTTP or the
database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.mediation import committees, views
from services.mediation.committees import CommitteeState
from services.mediation.reference import Committee, CommitteeRegistry, Mediator
from services.mediation.schemas import (
    CommitteeIn,
    CommitteeList,
    CommitteeOut,
    DeactivateIn,
    MediatorIn,
    MediatorOut,
    RegistryOut,
    recorded_at,
)
from shared.commands import CommandContext, Outcome
from shared.deps import Call
from shared.errors import ValidationFailed
from shared.events import Command

if TYPE_CHECKING:
    from services.mediation.bootstrap import Mediation

RegistryOutcome = Outcome[CommitteeState]


async def load_overlay(m: Mediation) -> int:
    docs = await m.committee_view.find({}, limit=100_000)
    for doc in docs:
        _put(m.registry, views.committee_state(doc))
    return len(docs)


async def register_committee(m: Mediation, body: CommitteeIn, call: Call) -> RegistryOut:
    existing = m.registry.committees.get(body.committee_id)
    if existing is not None and (existing.name, existing.regions) != (body.name, tuple(body.regions)):
        raise ValidationFailed(f"committee id {body.committee_id} is taken", field="committee_id")
    command = committees.RegisterCommittee(
        at=recorded_at(body.at, call.now),
        committee_id=body.committee_id,
        name=body.name,
        kind=body.kind,
        regions=body.regions,
        dispute_types=body.dispute_types,
        serves=body.serves,
        known_types=list(m.registry.dispute_types),
    )
    return await _change(m, body.committee_id, command, call)


async def add_mediator(m: Mediation, committee_id: str, body: MediatorIn, call: Call) -> RegistryOut:
    at = recorded_at(body.at, call.now)
    mediator = committees.MediatorIn(**body.model_dump(exclude={"at"}))
    await _adopt(m, committee_id, call)
    held = m.registry.mediators.get(mediator.mediator_id)
    command = committees.AddMediator(at=at, mediator=mediator, held_by=held.committee_id if held else None)
    return await _change(m, committee_id, command, call)


async def deactivate_mediator(
    m: Mediation, committee_id: str, mediator_id: str, body: DeactivateIn, call: Call
) -> RegistryOut:
    at = recorded_at(body.at, call.now)
    await _adopt(m, committee_id, call)
    command = committees.DeactivateMediator(at=at, mediator_id=mediator_id, reason=body.reason)
    return await _change(m, committee_id, command, call)


async def _change(m: Mediation, committee_id: str, command: Command, call: Call) -> RegistryOut:
    stream = committees.stream_id(committee_id)
    outcome = call.answered(await m.committee_bus.execute(stream, command, call.context()))
    _put(m.registry, outcome.state)
    return registry_out(outcome)


async def _adopt(m: Mediation, committee_id: str, call: Call) -> None:
    state, _ = await m.committee_bus.load(committees.stream_id(committee_id))
    if state.exists:
        return
    registry = m.registry
    c = registry.committee(committee_id)  # NotFound when neither the file nor a stream has it
    seed = committees.RegisterCommittee(
        at=call.now,
        committee_id=c.id,
        name=c.name,
        kind=c.kind,
        regions=list(c.regions),
        dispute_types=list(c.dispute_types),
        serves=c.serves,
        mediators=[
            committees.MediatorIn(
                mediator_id=x.id, display_name=x.display_name, specialisms=list(x.specialisms), active=x.active
            )
            for x in registry.mediators_of(c.id, active_only=False)
        ],
        known_types=list(registry.dispute_types),
    )
    ctx = CommandContext(actor=call.actor, idempotency_key=f"adopt:{c.id}:{registry.version}")
    await m.committee_bus.execute(committees.stream_id(c.id), seed, ctx)


def _put(registry: CommitteeRegistry, state: CommitteeState) -> None:
    if not state.exists or state.kind is None:
        return
    committee = Committee(state.committee_id, state.name, state.kind, state.regions, state.dispute_types, state.serves)
    mediators = [
        Mediator(x.mediator_id, state.committee_id, x.display_name, x.specialisms, x.active) for x in state.mediators
    ]
    registry.put(committee, mediators)


def registry_out(outcome: RegistryOutcome) -> RegistryOut:
    s = outcome.state
    return RegistryOut(
        committee_id=s.committee_id,
        version=outcome.version,
        duplicate=outcome.duplicate,
        events=[e.type for e in outcome.events],
        mediators=[
            MediatorOut(id=x.mediator_id, display_name=x.display_name, specialisms=list(x.specialisms), active=x.active)
            for x in s.mediators
        ],
    )


def committee_list(registry: CommitteeRegistry, region: str | None, dispute_type: str | None) -> CommitteeList:
    if region is not None:
        found = registry.covering(region, dispute_type)
    else:
        found = [c for c in registry.committees.values() if dispute_type is None or dispute_type in c.dispute_types]
    items = [
        CommitteeOut(
            id=c.id,
            name=c.name,
            kind=c.kind.value,
            regions=list(c.regions),
            dispute_types=list(c.dispute_types),
            mediators=[
                MediatorOut(id=x.id, display_name=x.display_name, specialisms=list(x.specialisms), active=x.active)
                for x in registry.mediators_of(c.id, active_only=False)
            ],
        )
        for c in found
    ]
    return CommitteeList(version=registry.version, dispute_types=registry.dispute_types, items=items)
