"""Decider stories of the committee registry (名册)."""

from datetime import UTC, datetime

import pytest

from services.mediation import committees
from services.mediation.committees import AddMediator, DeactivateMediator, MediatorIn, RegisterCommittee, decider
from shared.contracts.mediation import CommitteeKind, CommitteeRegistered, MediatorDeactivated, MediatorRegistered
from shared.errors import DomainError, NotFound, ValidationFailed

T0 = datetime(2026, 7, 1, tzinfo=UTC)
KNOWN = ["traffic", "medical", "neighbourhood"]


def register(**kw) -> RegisterCommittee:
    base = {
        "at": T0,
        "committee_id": "500114-traffic",
        "name": "黔江区道路交通事故纠纷人民调解委员会",
        "kind": CommitteeKind.TRADE,
        "regions": ["500114000000"],
        "dispute_types": ["traffic"],
        "known_types": KNOWN,
    }
    return RegisterCommittee(**{**base, **kw})


def mediator(mid="m-1", **kw) -> MediatorIn:
    return MediatorIn(mediator_id=mid, display_name="周调解员", specialisms=kw.pop("specialisms", ["traffic"]), **kw)


def test_register_then_add_then_deactivate():
    state, events = decider.run(
        [
            register(),
            AddMediator(at=T0, mediator=mediator()),
            DeactivateMediator(at=T0, mediator_id="m-1", reason="退休"),
        ]
    )
    assert [type(e) for e in events] == [CommitteeRegistered, MediatorRegistered, MediatorDeactivated]
    assert events[0].region == "500114000000"
    assert state.mediator("m-1").active is False
    assert decider.decide(DeactivateMediator(at=T0, mediator_id="m-1", reason="x"), state) == []


def test_adoption_brings_mediators_and_marks_inactive_ones():
    seed = register(mediators=[mediator("m-1"), mediator("m-2", active=False)])
    state, events = decider.run([seed])
    assert [type(e).__name__ for e in events] == [
        "CommitteeRegistered",
        "MediatorRegistered",
        "MediatorRegistered",
        "MediatorDeactivated",
    ]
    assert decider.decide(seed, state) == []  # adopting again changes nothing


@pytest.mark.parametrize(
    "kw,field",
    [
        ({"dispute_types": ["ufo"]}, "dispute_types"),
        ({"serves": "police"}, "serves"),
        ({"mediators": [mediator("m-1"), mediator("m-1")]}, "mediators"),
        ({"mediators": [mediator("m-1", specialisms=["medical"])]}, "specialisms"),
    ],
)
def test_bad_registrations_are_refused(kw, field):
    with pytest.raises(ValidationFailed) as err:
        decider.run([register(**kw)])
    assert err.value.field == field


def test_mediator_rules():
    state, _ = decider.run([register()])
    with pytest.raises(DomainError):
        decider.decide(AddMediator(at=T0, mediator=mediator(), held_by="other-committee"), state)
    with pytest.raises(NotFound):
        decider.decide(DeactivateMediator(at=T0, mediator_id="m-9", reason="x"), state)
    with pytest.raises(NotFound):
        decider.decide(AddMediator(at=T0, mediator=mediator()), committees.initial_state())
    with pytest.raises(DomainError):
        decider.run([register(name="另一个名字")], state)
