"""The event store port and its MongoDB implementation.

One document per commit holds every event of one command, so an append is atomic without multi-document
transactions (FerretDB has none). The commit's `_id` is `<stream>:<first version>`: two writers that read the
same version collide on it, so exactly one wins and the other gets `ConcurrencyConflict` — never a lost update.
Each commit takes a global `position` from a counter (gaps are possible when a writer loses a race), and an
`idempotency_key` under a unique index, so a retried command (or a redelivered message) never appends twice.
Unpublished commits are the outbox (`shared.outbox`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.envelope import Envelope
from shared.errors import ConcurrencyConflict


@dataclass(frozen=True)
class Commit:
    stream_id: str
    first_version: int
    last_version: int
    position: int
    events: tuple[Envelope, ...]
    idempotency_key: str
    published: bool = False
    recorded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def id(self) -> str:
        return commit_id(self.stream_id, self.first_version)


@dataclass(frozen=True)
class Stream:
    stream_id: str
    version: int  # 0 for a stream with no events yet
    events: tuple[Envelope, ...]

    @property
    def exists(self) -> bool:
        return self.version > 0


@dataclass(frozen=True)
class AppendResult:
    stream_id: str
    first_version: int
    last_version: int
    position: int
    duplicate: bool = False  # the idempotency key had been used: nothing new was appended


def commit_id(stream_id: str, first_version: int) -> str:
    return f"{stream_id}:{first_version}"


class EventStore(Protocol):
    """What handlers, the outbox relay and projections need from a store."""

    async def read_stream(self, stream_id: str) -> Stream: ...

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[Envelope],
        *,
        idempotency_key: str | None = None,
    ) -> AppendResult: ...

    async def find_commit_by_key(self, idempotency_key: str) -> Commit | None: ...

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[Commit]: ...

    async def unpublished(self, limit: int = 500) -> list[Commit]: ...

    async def mark_published(self, commit_ids: Sequence[str]) -> None: ...


class MongoEventStore:
    """Event store on any MongoDB-wire server (MongoDB replica set, FerretDB)."""

    def __init__(self, db: AsyncDatabase, *, collection: str = "commits") -> None:
        self._db = db
        self._commits = db[collection]
        self._counters = db[f"{collection}_counters"]
        self._counter_id = "position"

    async def ensure_indexes(self) -> None:
        await self._commits.create_index([("idempotency_key", ASCENDING)], unique=True, name="idem")
        await self._commits.create_index([("stream_id", ASCENDING), ("first_version", ASCENDING)], name="stream")
        await self._commits.create_index([("position", ASCENDING)], name="position")
        await self._commits.create_index([("published", ASCENDING), ("position", ASCENDING)], name="outbox")

    async def read_stream(self, stream_id: str) -> Stream:
        cursor = self._commits.find({"stream_id": stream_id}, {"events": 1, "last_version": 1}).sort(
            "first_version", ASCENDING
        )
        events: list[Envelope] = []
        version = 0
        async for doc in cursor:
            events.extend(Envelope.model_validate(e) for e in doc["events"])
            version = doc["last_version"]
        return Stream(stream_id, version, tuple(events))

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[Envelope],
        *,
        idempotency_key: str | None = None,
    ) -> AppendResult:
        if not events:
            raise ValueError("append needs at least one event")
        if expected_version < 0:
            raise ValueError("expected_version must be >= 0")
        first = expected_version + 1
        last = expected_version + len(events)
        key = idempotency_key or f"auto:{uuid.uuid4()}"
        position = await self._next_position()
        doc = {
            "_id": commit_id(stream_id, first),
            "stream_id": stream_id,
            "first_version": first,
            "last_version": last,
            "position": position,
            "events": [e.to_dict() for e in events],
            "idempotency_key": key,
            "published": False,
            "recorded_at": datetime.now(UTC),
        }
        try:
            await self._commits.insert_one(doc)
        except DuplicateKeyError:
            if idempotency_key is not None:
                earlier = await self.find_commit_by_key(idempotency_key)
                if earlier is not None:
                    return AppendResult(
                        earlier.stream_id, earlier.first_version, earlier.last_version, earlier.position, True
                    )
            raise ConcurrencyConflict(
                f"stream {stream_id} moved past version {expected_version}; reload and retry"
            ) from None
        return AppendResult(stream_id, first, last, position)

    async def find_commit_by_key(self, idempotency_key: str) -> Commit | None:
        doc = await self._commits.find_one({"idempotency_key": idempotency_key})
        return _to_commit(doc) if doc else None

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[Commit]:
        cursor = self._commits.find({"position": {"$gt": after_position}}).sort("position", ASCENDING).limit(limit)
        return [_to_commit(d) async for d in cursor]

    async def unpublished(self, limit: int = 500) -> list[Commit]:
        cursor = self._commits.find({"published": False}).sort("position", ASCENDING).limit(limit)
        return [_to_commit(d) async for d in cursor]

    async def mark_published(self, commit_ids: Sequence[str]) -> None:
        if commit_ids:
            await self._commits.update_many({"_id": {"$in": list(commit_ids)}}, {"$set": {"published": True}})

    async def count_unpublished(self) -> int:
        return await self._commits.count_documents({"published": False})

    async def _next_position(self) -> int:
        doc = await self._counters.find_one_and_update(
            {"_id": self._counter_id},
            {"$inc": {"value": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert doc is not None  # upsert with AFTER always returns the document
        return int(doc["value"])


def _to_commit(doc: dict[str, Any]) -> Commit:
    recorded = doc.get("recorded_at") or datetime.now(UTC)
    if recorded.tzinfo is None:
        recorded = recorded.replace(tzinfo=UTC)
    return Commit(
        stream_id=doc["stream_id"],
        first_version=doc["first_version"],
        last_version=doc["last_version"],
        position=doc["position"],
        events=tuple(Envelope.model_validate(e) for e in doc["events"]),
        idempotency_key=doc["idempotency_key"],
        published=doc.get("published", False),
        recorded_at=recorded,
    )


class InMemoryEventStore:
    """The same contract in memory, for unit tests of handlers (never used to run the platform)."""

    def __init__(self) -> None:
        self.commits: dict[str, Commit] = {}
        self._by_key: dict[str, str] = {}
        self._position = 0
        self._lock = asyncio.Lock()

    async def read_stream(self, stream_id: str) -> Stream:
        mine = sorted((c for c in self.commits.values() if c.stream_id == stream_id), key=lambda c: c.first_version)
        events = tuple(e for c in mine for e in c.events)
        return Stream(stream_id, mine[-1].last_version if mine else 0, events)

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[Envelope],
        *,
        idempotency_key: str | None = None,
    ) -> AppendResult:
        if not events:
            raise ValueError("append needs at least one event")
        async with self._lock:
            if idempotency_key is not None and idempotency_key in self._by_key:
                c = self.commits[self._by_key[idempotency_key]]
                return AppendResult(c.stream_id, c.first_version, c.last_version, c.position, True)
            cid = commit_id(stream_id, expected_version + 1)
            if cid in self.commits:
                raise ConcurrencyConflict(f"stream {stream_id} moved past version {expected_version}")
            self._position += 1
            key = idempotency_key or f"auto:{uuid.uuid4()}"
            commit = Commit(
                stream_id,
                expected_version + 1,
                expected_version + len(events),
                self._position,
                tuple(events),
                key,
            )
            self.commits[cid] = commit
            self._by_key[key] = cid
            return AppendResult(stream_id, commit.first_version, commit.last_version, commit.position)

    async def find_commit_by_key(self, idempotency_key: str) -> Commit | None:
        cid = self._by_key.get(idempotency_key)
        return self.commits.get(cid) if cid else None

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[Commit]:
        ordered = sorted((c for c in self.commits.values() if c.position > after_position), key=lambda c: c.position)
        return ordered[:limit]

    async def unpublished(self, limit: int = 500) -> list[Commit]:
        return [c for c in await self.read_all(0, 10**9) if not c.published][:limit]

    async def mark_published(self, commit_ids: Sequence[str]) -> None:
        for cid in commit_ids:
            c = self.commits[cid]
            self.commits[cid] = Commit(
                c.stream_id,
                c.first_version,
                c.last_version,
                c.position,
                c.events,
                c.idempotency_key,
                True,
                c.recorded_at,
            )

    def all_events(self) -> list[Envelope]:
        return [e for c in sorted(self.commits.values(), key=lambda c: c.position) for e in c.events]
