"""Read models: one row per case in a table of its own, rendered from the aggregate state, rebuildable.

A view declares the fields it is filtered and sorted on (`columns`: name → SQL type); those are real, indexed
columns, and the whole rendered document is kept beside them as JSONB. A command writes its view rows in the
same transaction as its events (`writes`, guarded by version so an older state never overwrites a newer one).
When a view's column layout changes, its table is dropped and replayed from the events at start.
Queries take a small filter language over the columns (`shared.viewquery`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar

from psycopg import sql

from shared.db import Database
from shared.decider import Decider
from shared.events import EventRegistry
from shared.events import registry as default_registry
from shared.eventstore import EventStore, ViewWrite
from shared.viewquery import SQL_TYPES, order_by, seek, where

S = TypeVar("S")
S_in = TypeVar("S_in", contravariant=True)
Render = Callable[[str, S, int], dict[str, Any]]
log = logging.getLogger(__name__)
LAYOUT = 1  # bump when the table shape below changes for every view


class Views(Protocol[S_in]):
    """What use cases and routes need from a read model (PostgreSQL's `ReadModel`, or tests/fakes.py's)."""

    name: str

    async def ensure(self) -> bool: ...

    def writes(self, stream_id: str, state: S_in, version: int) -> list[ViewWrite]: ...

    async def apply(self, stream_id: str, state: S_in, version: int, _envelopes: Any = None) -> None: ...

    async def get(self, stream_id: str) -> dict[str, Any] | None: ...

    async def find(
        self,
        query: dict[str, Any],
        *,
        sort: str = "_id",
        descending: bool = False,
        limit: int = 100,
        skip: int = 0,
        after: str | None = None,
    ) -> list[dict[str, Any]]: ...

    async def count(self, query: dict[str, Any]) -> int: ...

    async def rebuild(
        self, store: EventStore, *, batch: int = 5000, progress: Callable[[int], None] | None = None
    ) -> int: ...


ViewFactory = Callable[
    [str, Decider[Any], Render[Any], Mapping[str, str] | None, Callable[[str], bool] | None], Views[Any]
]


class ReadModel(Generic[S]):
    def __init__(
        self,
        db: Database,
        name: str,
        decider: Decider[S],
        render: Render[S],
        *,
        columns: Mapping[str, str] | None = None,
        registry: EventRegistry = default_registry,
        streams: Callable[[str], bool] | None = None,
    ) -> None:
        self.db = db
        self.name = name
        self.decider = decider
        self.render = render
        self.columns = dict(columns or {})
        for column, kind in self.columns.items():
            if kind not in SQL_TYPES or not column.isidentifier() or column in ("id", "version", "doc"):
                raise ValueError(f"view {name}: column {column!r} of type {kind!r} is not allowed")
        self.registry = registry
        self.streams = streams  # which stream ids this view covers (a store may hold several aggregates)
        self.table = sql.Identifier(f"view_{name}")
        self._upsert = self._upsert_statement()

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps([LAYOUT, sorted(self.columns.items())]).encode()).hexdigest()[:16]

    async def ensure(self) -> bool:
        """Create the table (or re-create it for a new column layout); True when it starts empty."""
        async with self.db.pool.connection() as conn, conn.transaction():
            cur = await conn.execute("SELECT fingerprint FROM read_models WHERE name = %s FOR UPDATE", (self.name,))
            row = await cur.fetchone()
            if row is not None and row[0] == self.fingerprint:
                return False
            await conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self.table))
            cols = [sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(k)) for c, k in self.columns.items()]
            await conn.execute(
                sql.SQL("CREATE TABLE {} (id text PRIMARY KEY, version integer NOT NULL, doc jsonb NOT NULL{})").format(
                    self.table, sql.SQL("").join(sql.SQL(", ") + c for c in cols)
                )
            )
            for c, kind in self.columns.items():
                method = sql.SQL("USING gin ") if kind.endswith("[]") else sql.SQL("")
                await conn.execute(
                    sql.SQL("CREATE INDEX {} ON {} {}({})").format(
                        sql.Identifier(f"view_{self.name}_{c}"), self.table, method, sql.Identifier(c)
                    )
                )
            await conn.execute(
                "INSERT INTO read_models (name, fingerprint) VALUES (%s, %s)"
                " ON CONFLICT (name) DO UPDATE SET fingerprint = EXCLUDED.fingerprint",
                (self.name, self.fingerprint),
            )
        return True

    def covers(self, stream_id: str) -> bool:
        return self.streams is None or self.streams(stream_id)

    def writes(self, stream_id: str, state: S, version: int) -> list[ViewWrite]:
        """The row for this state, to commit with the events that produced it (none for a stream not covered)."""
        if not self.covers(stream_id):
            return []
        doc = {**self.render(stream_id, state, version)}
        doc.pop("_id", None)
        values = tuple(_column_value(doc.get(c)) for c in self.columns)
        params = (stream_id, version, dumps(doc), *values)
        return [ViewWrite(self._upsert, params, self.name, stream_id, {"_id": stream_id, **doc})]

    async def apply(self, stream_id: str, state: S, version: int, _envelopes: Any = None) -> None:
        """Write the view outside a command (a rebuild), unless a newer version is there."""
        for w in self.writes(stream_id, state, version):
            async with self.db.pool.connection() as conn:
                await conn.execute(w.statement, w.params)

    async def get(self, stream_id: str) -> dict[str, Any] | None:
        async with self.db.pool.connection() as conn:
            cur = await conn.execute(sql.SQL("SELECT doc::text FROM {} WHERE id = %s").format(self.table), (stream_id,))
            row = await cur.fetchone()
        return None if row is None else {"_id": stream_id, **loads(row[0])}

    async def find(
        self,
        query: dict[str, Any],
        *,
        sort: str = "_id",
        descending: bool = False,
        limit: int = 100,
        skip: int = 0,
        after: str | None = None,
    ) -> list[dict[str, Any]]:
        """Rows matching the filter, sorted on a column (then by id), `limit` of them: after the row a cursor names
        (`after`, from `cursor_after`: keyset pagination, as fast on the last page as on the first) or `skip`."""
        condition, params = where(query, self.columns)
        if after is not None:
            keyset, more = seek(after, sort, descending, self.columns)
            condition, params = sql.SQL("({}) AND {}").format(condition, keyset), [*params, *more]
        statement = sql.SQL("SELECT id, doc::text FROM {} WHERE {} ORDER BY {} LIMIT %s OFFSET %s").format(
            self.table, condition, order_by(sort, descending, self.columns)
        )
        async with self.db.pool.connection() as conn:
            cur = await conn.execute(statement, (*params, limit, skip))
            rows = await cur.fetchall()
        return [{"_id": rid, **loads(doc)} for rid, doc in rows]

    async def count(self, query: dict[str, Any]) -> int:
        condition, params = where(query, self.columns)
        async with self.db.pool.connection() as conn:
            cur = await conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE {}").format(self.table, condition), params)
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def rebuild(
        self, store: EventStore, *, batch: int = 5000, progress: Callable[[int], None] | None = None
    ) -> int:
        """Empty the table and replay every event of the store; returns the number of rows written."""
        async with self.db.pool.connection() as conn:
            await conn.execute(sql.SQL("TRUNCATE {}").format(self.table))
        states: dict[str, tuple[S, int]] = {}
        after = 0
        while commits := await store.read_all(after, batch):
            for c in commits:
                if not self.covers(c.stream_id):
                    continue
                state, _ = states.get(c.stream_id, (self.decider.initial_state(), 0))
                events = [e.payload(self.registry) for e in c.events]
                states[c.stream_id] = (self.decider.fold(events, state), c.last_version)
            after = commits[-1].position
            if progress:
                progress(len(commits))
        for stream_id, (state, version) in states.items():
            await self.apply(stream_id, state, version)
        log.info("view %s rebuilt: %d rows", self.name, len(states))
        return len(states)

    def _upsert_statement(self) -> sql.Composed:
        names = [sql.Identifier(c) for c in ("id", "version", "doc", *self.columns)]
        updates = [sql.SQL("{0} = EXCLUDED.{0}").format(n) for n in names[1:]]
        return sql.SQL(
            "INSERT INTO {t} ({names}) VALUES ({values}) ON CONFLICT (id) DO UPDATE SET {updates}"
            " WHERE {t}.version < EXCLUDED.version"
        ).format(
            t=self.table,
            names=sql.SQL(", ").join(names),
            values=sql.SQL(", ").join(sql.Placeholder() * len(names)),
            updates=sql.SQL(", ").join(updates),
        )


# -- the JSON a view row keeps: dates and exact numbers survive the round trip --------------------------------
def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$date": value.isoformat()}
    if isinstance(value, date):
        return {"$day": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"cannot store {type(value).__name__} in a view")


def _hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        if "$date" in obj:
            return datetime.fromisoformat(obj["$date"])
        if "$day" in obj:
            return date.fromisoformat(obj["$day"])
        if "$decimal" in obj:
            return Decimal(obj["$decimal"])
    return obj


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, default=_default, ensure_ascii=False, separators=(",", ":"))


def loads(text: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(text, object_hook=_hook)
    return result


def _column_value(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return value
