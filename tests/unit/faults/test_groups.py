"""Reading DescribeGroups responses: members, their decoded assignments, and when a group counts as settled."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from aiokafka import TopicPartition
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from tests.faults.groups import parse


def assignment(*parts: tuple[str, list[int]]) -> bytes:
    return ConsumerProtocolMemberAssignment(0, list(parts), b"").encode()


def member_v0(member: str, raw: bytes) -> tuple[object, ...]:
    return (member, "aiokafka", "/127.0.0.1", b"", raw)


def member_v3(member: str, raw: bytes) -> tuple[object, ...]:
    return (member, None, "aiokafka", "/127.0.0.1", b"", raw)  # with group_instance_id


@pytest.mark.parametrize("member", [member_v0, member_v3])
def test_members_and_their_partitions(member) -> None:  # type: ignore[no-untyped-def]
    a = member("m-a", assignment(("t1", [0, 1]), ("t2", [0])))
    b = member("m-b", assignment(("t1", [2]), ("t2", [1, 2])))
    (view,) = parse(SimpleNamespace(groups=[(0, "g", "Stable", "consumer", "range", [a, b])]))
    assert view.name == "g" and view.stable
    assert view.members["m-a"] == {TopicPartition("t1", 0), TopicPartition("t1", 1), TopicPartition("t2", 0)}
    assert view.members["m-b"] == {TopicPartition("t1", 2), TopicPartition("t2", 1), TopicPartition("t2", 2)}
    assert len(view.owned()) == 6


def test_a_rebalancing_group_is_not_settled() -> None:
    members = [member_v0("m-a", b""), member_v0("m-b", assignment(("t1", [0])))]
    (view,) = parse(SimpleNamespace(groups=[(0, "g", "CompletingRebalance", "consumer", "range", members)]))
    assert not view.stable and view.members["m-a"] == frozenset()
    stable_but_unassigned = parse(SimpleNamespace(groups=[(0, "g", "Stable", "consumer", "range", members)]))
    assert not stable_but_unassigned[0].stable


def test_an_error_code_is_raised() -> None:
    with pytest.raises(RuntimeError, match="error code 16"):
        parse(SimpleNamespace(groups=[(16, "g", "", "", "", [])]))
