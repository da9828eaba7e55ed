"""A province's year in the event store: 1,000,000 streams and 10,000,000 events, loaded once with COPY.

`ensure` builds the schema `bench_preloaded` (core migrations, then the events and one idempotency key per ten
commits streamed in with `COPY … FROM STDIN`, indexes built afterwards, then VACUUM ANALYZE) and keeps it: a
later run finds it by the marker in the schema's comment, checks the row count, and reuses it. `--quick` (or
`CASEFLOW_BENCH_QUICK=1`) uses `bench_preloaded_quick`, 10,000 streams and 100,000 events.

Benchmarks that write into the preloaded store put it back as it was afterwards (`reset`: the rows past the
preloaded position, the outbox, the inbox and whatever a service added are removed). A department's service keeps
its tables in `<topic prefix>_<service>`; `borrowed` renames the preloaded schema to that name for the length of
a benchmark (and back), which costs milliseconds where a copy of 10M events per department would cost the preload
again, four times over, in time and disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from psycopg import AsyncConnection, sql

from bench.common import Report, Row
from shared.db import Database
from shared.settings import PlatformSettings

FORMAT = 2  # bump when the generated rows change: an older preload is then rebuilt
EVENTS_PER_STREAM = 10
KEY_EVERY = 10  # one commit in ten carries an idempotency key (commands from partners and retried requests)
CHUNK = 20_000  # rows per COPY write
YEAR = timedelta(days=365)
START = datetime(2025, 1, 1, tzinfo=UTC)
MARKER = "caseflow-bench-preload"
CORE_TABLES = ("events", "idempotency", "outbox", "inbox", "persons", "person_keys", "read_models")
MATTER = "拖欠工资 unpaid wages at a building site, eleven workers unpaid for four months"


def quick() -> bool:
    return os.environ.get("CASEFLOW_BENCH_QUICK", "") not in ("", "0")


@dataclass(frozen=True)
class Spec:
    schema: str
    streams: int

    @property
    def events(self) -> int:
        return self.streams * EVENTS_PER_STREAM

    @property
    def keys(self) -> int:
        return self.events // KEY_EVERY

    @property
    def label(self) -> str:
        return f"{self.events / 1e6:g}M events" if self.events >= 1_000_000 else f"{self.events // 1000}k events"


FULL = Spec("bench_preloaded", 1_000_000)
QUICK = Spec("bench_preloaded_quick", 10_000)


@dataclass(frozen=True)
class Preload:
    schema: str
    streams: int
    events: int
    keys: int
    max_position: int
    envelope_bytes: int  # the JSON text of one envelope
    copy_seconds: float
    index_seconds: float
    vacuum_seconds: float
    total_bytes: int  # events + idempotency, with their indexes, on disk
    format: int = FORMAT
    reused: bool = False
    label: str = ""

    @property
    def seconds(self) -> float:
        return self.copy_seconds + self.index_seconds + self.vacuum_seconds

    def stream_id(self, i: int) -> str:
        """The id of preloaded stream `i` (0 ≤ i < streams): every one is at version EVENTS_PER_STREAM."""
        return _stream_id(i)


_cached: dict[str, Preload] = {}


def url_of(settings: PlatformSettings) -> str:
    return settings.database_url.get_secret_value()  # type: ignore[no-any-return]


async def ensure(settings: PlatformSettings, report: Report | None = None) -> Preload:
    """The preloaded schema, built if missing or stale (once per process; the first call adds the report row)."""
    spec = QUICK if quick() else FULL
    if spec.schema in _cached:
        return _cached[spec.schema]
    url = url_of(settings)
    await _return_borrowed(url)
    found = await _existing(url, spec)
    if found is None:
        print(f"  preloading {spec.schema}: {spec.streams:,} streams, {spec.events:,} events (COPY)…", flush=True)
        found = await _build(url, spec)
    else:
        await reset(url, spec.schema, found)
        print(f"  reusing {spec.schema} ({found.events:,} events, loaded in {found.seconds:,.0f} s)", flush=True)
    found = Preload(**{**asdict(found), "reused": found.reused, "label": spec.label})
    _cached[spec.schema] = found
    if report is not None:
        report.add(
            Row(
                f"preload: {found.streams:,} streams, {found.events:,} events, {found.keys:,} idempotency keys"
                f" (COPY, {'reused from an earlier run' if found.reused else 'built in this run'})",
                found.seconds,
                "s",
                extra={
                    "COPY s": found.copy_seconds,
                    "indexes s": found.index_seconds,
                    "vacuum analyze s": found.vacuum_seconds,
                    "envelope bytes": found.envelope_bytes,
                    "on disk GB": found.total_bytes / 1e9,
                },
            )
        )
    return found


# ---- building ------------------------------------------------------------------------------------------------
def _stream_id(i: int) -> str:
    return f"rq-{uuid.UUID(int=(i * 0x9E3779B97F4A7C15F39CC0605CEDC835) % (1 << 128)).hex}"  # spread like uuid4


def _template() -> tuple[str, str]:
    """An envelope as stored (a valid `request_referred`), split around the fields that vary per event."""
    doc = {
        "id": "@@ID@@",
        "source": "caseflow/intake",
        "type": "caseflow.intake.request_referred",
        "specversion": "1.0",
        "time": "@@TIME@@",
        "subject": "@@SUBJECT@@",
        "datacontenttype": "application/json",
        "correlationid": "@@SUBJECT@@",
        "causationid": None,
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "actor": "dept:intake",
        "schemaversion": 1,
        "data": {
            "to_department": "legal_aid",
            "matter": MATTER,
            "person_ref": "p-" + "5a" * 16,
            "region": "431002001001",
            "dispute_type": None,
            "notary_matter": None,
        },
    }
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    assert not any(c in text for c in "\\\t\n\r"), "COPY text format: the template needs no escaping"
    return text, str(doc["type"])


async def _build(url: str, spec: Spec) -> Preload:
    db = Database(url, spec.schema)
    await db.drop()
    await db.open()
    await db.close()
    text, event_type = _template()
    head, rest = text.split('"@@ID@@"', 1)
    mid1, rest = rest.split('"@@TIME@@"', 1)
    mid2, rest = rest.split('"@@SUBJECT@@"', 1)
    mid3, tail = rest.split('"@@SUBJECT@@"', 1)
    step = YEAR / spec.events
    run_id = uuid.uuid4().hex[:12]
    streams = [_stream_id(i) for i in range(spec.streams)]
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(spec.schema)))
        await conn.execute("SET maintenance_work_mem = '1GB'")
        t0 = time.perf_counter()
        async with conn.transaction():  # truncated in the same transaction: COPY FREEZE writes frozen rows
            await conn.execute("ALTER TABLE events DROP CONSTRAINT events_pkey")
            await conn.execute("DROP INDEX events_position")
            await conn.execute("ALTER TABLE idempotency DROP CONSTRAINT idempotency_pkey")
            await conn.execute("TRUNCATE events, idempotency RESTART IDENTITY")
            cur = conn.cursor()
            # positions follow COPY order: event k (0-based) gets position k + 1
            async with cur.copy(
                "COPY events (stream_id, version, type, envelope, recorded_at) FROM STDIN (FREEZE)"
            ) as copy:
                buf: list[str] = []
                k = envelope_bytes = 0
                for version in range(1, EVENTS_PER_STREAM + 1):  # a year's events: every case moves over time
                    for sid in streams:
                        at = (START + step * k).isoformat()
                        eid = f"{run_id}-{k:019d}"
                        env = f'{head}"{eid}"{mid1}"{at}"{mid2}"{sid}"{mid3}"{sid}"{tail}'
                        buf.append(f"{sid}\t{version}\t{event_type}\t{env}\t{at}\n")
                        envelope_bytes = envelope_bytes or len(env.encode())
                        k += 1
                        if len(buf) == CHUNK:
                            await copy.write("".join(buf))
                            buf.clear()
                    print(f"    {k:,} events copied ({time.perf_counter() - t0:,.0f} s)", flush=True)
                if buf:
                    await copy.write("".join(buf))
            async with cur.copy(
                "COPY idempotency (key, stream_id, first_version, last_version, position, recorded_at)"
                " FROM STDIN (FREEZE)"
            ) as copy:
                buf.clear()
                for k in range(0, spec.events, KEY_EVERY):
                    sid, version = streams[k % spec.streams], k // spec.streams + 1
                    at = (START + step * k).isoformat()
                    buf.append(f"{run_id}-key-{k:019d}\t{sid}\t{version}\t{version}\t{k + 1}\t{at}\n")
                    if len(buf) == CHUNK:
                        await copy.write("".join(buf))
                        buf.clear()
                if buf:
                    await copy.write("".join(buf))
        copy_seconds = time.perf_counter() - t0
        print(f"    COPY done in {copy_seconds:,.0f} s; building indexes…", flush=True)
        t0 = time.perf_counter()  # the same indexes the migration made, built once over sorted input
        await conn.execute("ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (stream_id, version)")
        await conn.execute("CREATE UNIQUE INDEX events_position ON events (position)")
        await conn.execute("ALTER TABLE idempotency ADD CONSTRAINT idempotency_pkey PRIMARY KEY (key)")
        index_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE) events")
        await conn.execute("VACUUM (ANALYZE) idempotency")
        vacuum_seconds = time.perf_counter() - t0
        cur = await conn.execute(
            "SELECT pg_total_relation_size('events') + pg_total_relation_size('idempotency'), max(position) FROM events"
        )
        total_bytes, max_position = await cur.fetchone()  # type: ignore[misc]
        found = Preload(
            spec.schema, spec.streams, spec.events, spec.keys, int(max_position), envelope_bytes,
            copy_seconds, index_seconds, vacuum_seconds, int(total_bytes),
        )  # fmt: skip
        note = json.dumps({MARKER: {k: v for k, v in asdict(found).items() if k not in ("reused", "label")}})
        await conn.execute(sql.SQL("COMMENT ON SCHEMA {} IS {}").format(sql.Identifier(spec.schema), sql.Literal(note)))
    print(f"    indexes {index_seconds:,.0f} s, vacuum {vacuum_seconds:,.0f} s", flush=True)
    return found


async def _existing(url: str, spec: Spec) -> Preload | None:
    """The preload a previous run left, if it is whole and of this format."""
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s", (spec.schema,)
        )
        row = await cur.fetchone()
        if row is None or not row[0] or MARKER not in row[0]:
            return None
        found = Preload(**json.loads(row[0])[MARKER], reused=True)
        if (found.format, found.streams, found.events) != (FORMAT, spec.streams, spec.events):
            return None
        await conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(spec.schema)))
        cur = await conn.execute(
            "SELECT (SELECT count(*) FROM events WHERE position <= %s), (SELECT count(*) FROM idempotency"
            " WHERE position BETWEEN 1 AND %s)",
            (found.max_position, found.max_position),
        )
        events, keys = await cur.fetchone()  # type: ignore[misc]
    if (events, keys) != (found.events, found.keys):
        print(f"  {spec.schema} holds {events:,} events and {keys:,} keys, not the preload's: rebuilding", flush=True)
        return None
    return found


# ---- putting it back -----------------------------------------------------------------------------------------
async def reset(url: str, schema: str, pre: Preload) -> None:
    """Remove everything a benchmark added to the preloaded schema: it is as the preload left it."""
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        cur = await conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND NOT tablename = ANY(%s)",
            (schema, [*CORE_TABLES, "schema_migrations"]),
        )
        for (table,) in await cur.fetchall():
            await conn.execute(sql.SQL("DROP TABLE {} CASCADE").format(sql.Identifier(table)))
        await conn.execute("DELETE FROM schema_migrations WHERE component <> 'core'")
        await conn.execute("DELETE FROM read_models")
        await conn.execute("TRUNCATE outbox, inbox, persons, person_keys")
        await conn.execute("DELETE FROM idempotency WHERE position = 0 OR position > %s", (pre.max_position,))
        cur = await conn.execute("DELETE FROM events WHERE position > %s", (pre.max_position,))
        if cur.rowcount > 50_000:
            await conn.execute("VACUUM (ANALYZE) events")


@contextlib.asynccontextmanager
async def borrowed(settings: PlatformSettings, schema: str, pre: Preload) -> AsyncIterator[None]:
    """The preloaded schema under another name (a service's `<prefix>_<service>`) while the block runs."""
    url = url_of(settings)
    await _rename(url, pre.schema, schema)
    try:
        yield
    finally:
        await reset(url, schema, pre)
        await _rename(url, schema, pre.schema)


async def _rename(url: str, old: str, new: str) -> None:
    """Rename a schema, and point its functions' pinned search path (`SET search_path FROM CURRENT`) at it."""
    async with await AsyncConnection.connect(url, autocommit=True) as conn, conn.transaction():
        await conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(old), sql.Identifier(new)))
        cur = await conn.execute(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = %s AND p.proconfig IS NOT NULL",
            (new,),
        )
        for (signature,) in await cur.fetchall():
            await conn.execute(
                sql.SQL("ALTER FUNCTION {} SET search_path = {}").format(sql.SQL(signature), sql.Identifier(new))
            )


async def _return_borrowed(url: str) -> None:
    """Rename back a preloaded schema an interrupted run left under a service's name."""
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT nspname, obj_description(oid, 'pg_namespace') FROM pg_namespace"
            " WHERE obj_description(oid, 'pg_namespace') LIKE %s",
            (f"%{MARKER}%",),
        )
        rows = await cur.fetchall()
    names = {n for n, _ in rows}
    for name, note in rows:
        home = FULL.schema if json.loads(note)[MARKER]["streams"] == FULL.streams else QUICK.schema
        if name != home and home not in names:
            print(f"  {name} is the preloaded schema an interrupted run borrowed: renaming it back", flush=True)
            pre = Preload(**json.loads(note)[MARKER])
            await reset(url, name, pre)
            await _rename(url, name, home)
