"""Read models: one document per case, rendered from the aggregate state, rebuildable from the events.

The command path updates the view right after a commit (guarded by version, so a slower writer never
overwrites a newer view); `rebuild` drops the collection and replays every commit in position order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.decider import Decider
from shared.envelope import Envelope
from shared.events import EventRegistry
from shared.events import registry as default_registry
from shared.eventstore import EventStore

S = TypeVar("S")
Render = Callable[[str, S, int], dict[str, Any]]


class ReadModel(Generic[S]):
    def __init__(
        self,
        collection: AsyncCollection,
        decider: Decider[S],
        render: Render[S],
        *,
        registry: EventRegistry = default_registry,
        indexes: tuple[str, ...] = (),
        streams: Callable[[str], bool] | None = None,
    ) -> None:
        self.collection = collection
        self.decider = decider
        self.render = render
        self.registry = registry
        self.indexes = indexes
        self.streams = streams  # which stream ids this view covers (a store may hold several aggregates)

    async def ensure_indexes(self) -> None:
        for name in self.indexes:
            await self.collection.create_index([(name, ASCENDING)])

    async def apply(self, stream_id: str, state: S, version: int, _envelopes: Any = None) -> None:
        """Write the view unless a newer version is there (read and write by `_id`: indexed on FerretDB too)."""
        if self.streams is not None and not self.streams(stream_id):
            return
        current = await self.collection.find_one({"_id": stream_id}, {"_version": 1})
        if current is not None and current.get("_version", 0) >= version:
            return
        doc = {**self.render(stream_id, state, version), "_version": version}
        doc.pop("_id", None)
        try:
            await self.collection.replace_one({"_id": stream_id}, doc, upsert=True)
        except DuplicateKeyError:
            pass  # a concurrent first write of the same view: it carries the same or a newer version

    async def get(self, stream_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": stream_id})

    async def find(
        self, query: dict[str, Any], *, sort: str = "_id", descending: bool = False, limit: int = 100, skip: int = 0
    ) -> list[dict[str, Any]]:
        cursor = self.collection.find(query).sort(sort, DESCENDING if descending else ASCENDING).skip(skip).limit(limit)
        return [d async for d in cursor]

    async def rebuild(
        self, store: EventStore, *, batch: int = 1000, progress: Callable[[int], None] | None = None
    ) -> int:
        """Drop and replay from the store; returns the number of cases rebuilt."""
        # delete, not drop: FerretDB sometimes fails to re-create the indexes of a just-dropped collection
        await self.collection.delete_many({})
        await self.ensure_indexes()
        states: dict[str, tuple[S, int]] = {}
        after = 0
        while True:
            commits = await store.read_all(after, batch)
            if not commits:
                break
            for c in commits:
                if self.streams is not None and not self.streams(c.stream_id):
                    continue
                state, _ = states.get(c.stream_id, (self.decider.initial_state(), 0))
                states[c.stream_id] = (self.decider.fold(_payloads(c.events, self.registry), state), c.last_version)
            after = commits[-1].position
            if progress:
                progress(len(commits))
        for stream_id, (state, version) in states.items():
            await self.apply(stream_id, state, version)
        return len(states)


def _payloads(envelopes: tuple[Envelope, ...], registry: EventRegistry) -> list[Any]:
    return [e.payload(registry) for e in envelopes]
