"""Consumer groups seen from the coordinator: who the members are and which partitions each one owns.

`describe_consumer_groups` in aiokafka returns the raw DescribeGroups responses; this reads them into
`GroupView`s (a member's assignment is the consumer protocol's bytes, decoded here). While a group rebalances its
members carry no assignment yet, so a view counts as settled only when the group is `Stable`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from shared import kafka
from shared.settings import PlatformSettings


@dataclass(frozen=True)
class GroupView:
    name: str
    state: str
    members: dict[str, frozenset[TopicPartition]] = field(default_factory=dict)  # member id → its partitions

    @property
    def stable(self) -> bool:
        return self.state == "Stable" and all(self.members.values())

    def owned(self) -> frozenset[TopicPartition]:
        return frozenset().union(*self.members.values()) if self.members else frozenset()


def parse(response: object) -> list[GroupView]:
    """The groups of one DescribeGroups response (any version: members sit at index 5, the assignment last)."""
    views = []
    for g in response.groups:  # type: ignore[attr-defined]
        error_code, name, state, members = g[0], g[1], g[2], g[5]
        if error_code:
            raise RuntimeError(f"describe group {name}: error code {error_code}")
        owned: dict[str, frozenset[TopicPartition]] = {}
        for m in members:
            raw = m[-1]
            parts = ConsumerProtocolMemberAssignment.decode(raw).partitions() if raw else []
            owned[m[0]] = frozenset(parts)
        views.append(GroupView(name, state, owned))
    return views


async def describe(settings: PlatformSettings, *names: str) -> dict[str, GroupView]:
    admin = AIOKafkaAdminClient(**kafka.client_options(settings))
    await admin.start()
    try:
        views = [v for r in await admin.describe_consumer_groups(list(names)) for v in parse(r)]
        return {v.name: v for v in views}
    finally:
        await admin.close()


async def committed(settings: PlatformSettings, group: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(**kafka.client_options(settings))
    await admin.start()
    try:
        return {tp: meta.offset for tp, meta in (await admin.list_consumer_group_offsets(group)).items()}
    finally:
        await admin.close()
