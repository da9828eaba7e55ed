"""The event store port, its PostgreSQL implementation and an in-memory one for unit tests.

Events live in one table keyed by (stream id, version), with a global position. A command's append is one
call of the `append_events` SQL function (shared/sql/core): it checks the expected version, claims the
idempotency key, writes the events and the outbox row and wakes the relay, in the caller's transaction together
with the read-model rows it passes (`views`). Two writers that read the same version: exactly one commits, the
other gets `ConcurrencyConflict`. A key used before returns the first outcome (`duplicate`), nothing appended.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from psycopg import AsyncConnection, errors, sql

from shared.db import Database
from shared.envelope import Envelope
from shared.errors import ConcurrencyConflict

DUPLICATE_KEY = "CF200"  # SQLSTATEs raised by append_events
VERSION_CONFLICT = "CF409"


@dataclass(frozen=True)
class Commit:
    """Events appended together to one stream (one command's, or one event's when read back in bulk)."""

    stream_id: str
    first_version: int
    last_version: int
    position: int
    events: tuple[Envelope, ...]
    idempotency_key: str | None = None
    outbox_id: int = 0
    recorded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def id(self) -> str:
        return f"{self.stream_id}:{self.first_version}"


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


@dataclass(frozen=True)
class ViewWrite:
    """A read-model write that commits in the same transaction as the events (built by `shared.readmodel`)."""

    statement: sql.Composed
    params: tuple[Any, ...]
    table: str = ""
    row_id: str = ""
    doc: dict[str, Any] = field(default_factory=dict)


class EventStore(Protocol):
    """What command buses, the outbox relay and projections need from a store."""

    async def read_stream(self, stream_id: str) -> Stream: ...

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[Envelope],
        *,
        idempotency_key: str | None = None,
        views: Sequence[ViewWrite] = (),
    ) -> AppendResult: ...

    async def find_key(self, idempotency_key: str) -> AppendResult | None: ...

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[Commit]: ...

    def claim_unpublished(self, limit: int = 500) -> contextlib.AbstractAsyncContextManager[list[Commit]]: ...

    async def count_unpublished(self) -> int: ...


class PostgresEventStore:
    """The event store in one service's PostgreSQL schema."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @property
    def channel(self) -> str:
        """The NOTIFY channel `append_events` signals after each commit."""
        return f"{self.db.schema}.outbox"

    async def read_stream(self, stream_id: str) -> Stream:
        async with self.db.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT version, envelope::text FROM events WHERE stream_id = %s ORDER BY version", (stream_id,)
            )
            rows = await cur.fetchall()
        events = tuple(Envelope.model_validate_json(raw) for _, raw in rows)
        return Stream(stream_id, rows[-1][0] if rows else 0, events)

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[Envelope],
        *,
        idempotency_key: str | None = None,
        views: Sequence[ViewWrite] = (),
    ) -> AppendResult:
        if not events:
            raise ValueError("append needs at least one event")
        if expected_version < 0:
            raise ValueError("expected_version must be >= 0")
        payload = json.dumps([e.to_dict() for e in events], ensure_ascii=False, separators=(",", ":"))
        call = (
            "SELECT first_version, last_version, commit_position FROM append_events(%s, %s, %s::jsonb, %s)",
            (stream_id, expected_version, payload, idempotency_key),
        )
        try:
            async with self.db.pool.connection() as conn:
                if not views:  # one statement in autocommit: one round trip, one transaction
                    cur = await conn.execute(*call)
                    row = await cur.fetchone()
                else:  # events, outbox and views in one transaction, sent as one pipeline
                    async with conn.pipeline(), conn.transaction():
                        cur = await conn.execute(*call)
                        for v in views:
                            await conn.execute(v.statement, v.params)
                    row = await cur.fetchone()
        except errors.DatabaseError as exc:
            if isinstance(exc, errors.UniqueViolation) or exc.sqlstate in (DUPLICATE_KEY, VERSION_CONFLICT):
                return _refused(exc, stream_id, expected_version)
            raise
        assert row is not None
        return AppendResult(stream_id, row[0], row[1], row[2])

    async def find_key(self, idempotency_key: str) -> AppendResult | None:
        async with self.db.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT stream_id, first_version, last_version, position FROM idempotency WHERE key = %s",
                (idempotency_key,),
            )
            row = await cur.fetchone()
        return None if row is None else AppendResult(row[0], row[1], row[2], row[3], duplicate=True)

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[Commit]:
        """Every event after a position, in position order, one `Commit` each (rebuilds and replays)."""
        async with self.db.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT stream_id, version, position, envelope::text, recorded_at FROM events"
                " WHERE position > %s ORDER BY position LIMIT %s",
                (after_position, limit),
            )
            rows = await cur.fetchall()
        return [Commit(s, v, v, p, (Envelope.model_validate_json(raw),), recorded_at=at) for s, v, p, raw, at in rows]

    @contextlib.asynccontextmanager
    async def claim_unpublished(self, limit: int = 500) -> AsyncIterator[list[Commit]]:
        """Lock a batch of outbox rows for publishing; they are deleted when the block exits without error.

        Rows another relay holds are skipped, and so is every row of a stream with an earlier row not in this
        batch: a stream's commits are only ever published in order, whatever the number of relays."""
        async with self.db.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(_CLAIM, (limit,))
            rows = await cur.fetchall()
            commits = [
                Commit(
                    stream_id=s,
                    first_version=first,
                    last_version=first + len(envs) - 1,
                    position=pos,
                    events=tuple(Envelope.model_validate(e) for e in envs),
                    outbox_id=oid,
                    recorded_at=at,
                )
                for oid, s, first, pos, envs, at in rows
            ]
            yield commits
            if commits:
                await conn.execute("DELETE FROM outbox WHERE id = ANY(%s)", ([c.outbox_id for c in commits],))

    async def wakeups(self) -> AsyncIterator[None]:
        """Yields each time a commit lands (LISTEN on the store's channel), until the connection fails."""
        async with await AsyncConnection.connect(self.db.url, autocommit=True) as conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            async for _ in conn.notifies():
                yield None

    async def count_unpublished(self) -> int:
        async with self.db.pool.connection() as conn:
            cur = await conn.execute("SELECT count(*) FROM outbox")
            row = await cur.fetchone()
        return int(row[0]) if row else 0


_CLAIM = """
WITH batch AS (
    SELECT id, stream_id FROM outbox ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED
)
SELECT o.id, o.stream_id, o.first_version, o.position, o.envelopes, o.created_at
FROM outbox o JOIN batch b ON b.id = o.id
WHERE NOT EXISTS (
    SELECT 1 FROM outbox e WHERE e.stream_id = b.stream_id AND e.id < b.id AND e.id NOT IN (SELECT id FROM batch)
)
ORDER BY o.id
"""


def _refused(exc: errors.DatabaseError, stream_id: str, expected_version: int) -> AppendResult:
    """A duplicate key's first outcome, or the conflict the caller must reload and retry on."""
    if exc.sqlstate == DUPLICATE_KEY and exc.diag.message_primary:
        earlier = json.loads(exc.diag.message_primary)
        return AppendResult(
            earlier["stream_id"], earlier["first_version"], earlier["last_version"], earlier["position"], True
        )
    raise ConcurrencyConflict(f"stream {stream_id} moved past version {expected_version}; reload and retry") from None


class InMemoryEventStore:
    """The same contract in memory, for unit tests of handlers (never used to run the platform)."""

    def __init__(self) -> None:
        self.commits: dict[str, Commit] = {}
        self.published: set[str] = set()
        self.views: dict[tuple[str, str], dict[str, Any]] = {}
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
        views: Sequence[ViewWrite] = (),
    ) -> AppendResult:
        if not events:
            raise ValueError("append needs at least one event")
        async with self._lock:
            if idempotency_key is not None and idempotency_key in self._by_key:
                c = self.commits[self._by_key[idempotency_key]]
                return AppendResult(c.stream_id, c.first_version, c.last_version, c.position, True)
            current = (await self.read_stream(stream_id)).version
            if current != expected_version:
                raise ConcurrencyConflict(f"stream {stream_id} moved past version {expected_version}")
            self._position += 1
            commit = Commit(
                stream_id,
                expected_version + 1,
                expected_version + len(events),
                self._position,
                tuple(events),
                idempotency_key,
            )
            self.commits[commit.id] = commit
            if idempotency_key is not None:
                self._by_key[idempotency_key] = commit.id
            for v in views:
                self.views[(v.table, v.row_id)] = v.doc
            return AppendResult(stream_id, commit.first_version, commit.last_version, commit.position)

    async def find_key(self, idempotency_key: str) -> AppendResult | None:
        cid = self._by_key.get(idempotency_key)
        if cid is None:
            return None
        c = self.commits[cid]
        return AppendResult(c.stream_id, c.first_version, c.last_version, c.position, True)

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[Commit]:
        ordered = sorted((c for c in self.commits.values() if c.position > after_position), key=lambda c: c.position)
        return ordered[:limit]

    @contextlib.asynccontextmanager
    async def claim_unpublished(self, limit: int = 500) -> AsyncIterator[list[Commit]]:
        batch = [c for c in await self.read_all(0, 10**9) if c.id not in self.published][:limit]
        yield batch
        self.published.update(c.id for c in batch)

    async def count_unpublished(self) -> int:
        return sum(1 for c in self.commits.values() if c.id not in self.published)

    def all_events(self) -> list[Envelope]:
        return [e for c in sorted(self.commits.values(), key=lambda c: c.position) for e in c.events]
