"""Reconciliation: compare what clients were told (the ledger) with the event stores and the topics.

Reads everything from the outside, after the platform has gone quiet (outboxes empty, every listed consumer
group at the end of its topics). A department's store is its schema (`shared.db.schema_for`): `events` (stream,
version, envelope), `idempotency` (key → the stream and versions of the commit made under it) and `inbox`.

- every HTTP command acknowledged with a 2xx is exactly one commit in the service's event store (matched by its
  Idempotency-Key, at the stream and version the response named); a stored command no client saw acknowledged
  must at least be one the client sent;
- every stored event is on its department topic (distinct `ce_id`), and nothing is on a topic that is not in a
  store; copies beyond the first are the duplicates the consumers' inboxes drop;
- per case, first copies on the topic carry strictly increasing stream versions;
- every consumer group's inbox holds every event of its topics (or the event was dead-lettered), and the events
  it turned into commands (referrals, partner requests: idempotency key `evt:<event id>`) are one commit each;
- no double count: every idempotency key names a commit that is stored, no event is under two keys or stored
  twice, a command made from an event is not stored again on its case beside the commit its key names, and in the
  entry service (whose clients send every command with a key) no commit is under no key;
- the metrics writers, once they have consumed everything, hold exactly what a recomputation from the topics gives:
  every case with the same events and every indicator cell with the same sums, and every indicator published is
  the recomputed one (`caseflow rebuild --check`).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, fields
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from psycopg import AsyncConnection, sql

from services.metrics.config import Settings as MetricsSettings
from services.metrics.rebuild import compare_with_writer
from services.metrics.sources import source_topics
from services.metrics.topics import app_id, by_case_topic, partials_topic, reduce_group, route_group
from shared import kafka
from shared.db import schema_for
from shared.settings import PlatformSettings
from shared.topics import Topics
from tests.faults.load import Ledger

REFERRED = "caseflow.intake.request_referred"
REJECTED = "caseflow.platform.partner_event_rejected"


@dataclass(frozen=True)
class Group:
    """A consumer group the reconciliation checks: the service (its name in `dlq_consumer`), its schema
    (holding `inbox`), the group id and its topics."""

    service: str
    schema: str
    name: str
    topics: tuple[str, ...]


@dataclass(frozen=True)
class StoredEvent:
    """One row of a department's `events`: where it is, and what the checks need of its envelope."""

    stream_id: str
    version: int
    id: str
    type: str
    data: dict[str, Any] = field(default_factory=dict)
    causation: str | None = None


@dataclass(frozen=True)
class KeyClaim:
    """One row of a department's `idempotency`: the commit its key names."""

    stream_id: str
    first_version: int
    last_version: int

    def versions(self) -> range:
        return range(self.first_version, self.last_version + 1)


@dataclass
class Store:
    """A department's stored commits: every event, and the idempotency keys naming the commits made under one."""

    events: list[StoredEvent] = field(default_factory=list)
    keys: dict[str, KeyClaim] = field(default_factory=dict)


@dataclass
class Message:
    topic: str
    partition: int
    offset: int
    headers: dict[str, str]

    @property
    def ce_id(self) -> str:
        return self.headers.get("ce_id", "")


@dataclass
class Figures:
    """Cumulative counts at one reconciliation point (subtract two for one scenario's share)."""

    commands_sent: int = 0
    acknowledged: int = 0
    refused: int = 0  # a final 4xx: nothing stored
    unacknowledged: int = 0  # gave up: outcome unknown to the client
    partner_sent: int = 0
    partner_acked: int = 0
    events_stored: int = 0
    delivered: int = 0  # distinct stored events found on their department topic
    duplicates: int = 0  # extra copies on the topics, dropped by the consumers' inboxes
    dlq: int = 0
    handled_from_events: int = 0  # commits made from consumed events (referrals, partner requests)
    metrics_cases: int = 0  # cases the metrics writer holds, each equal to its recomputation from the topics
    metrics_cells: int = 0  # indicator cells, likewise

    def minus(self, other: Figures) -> Figures:
        return Figures(**{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)})


@dataclass
class Result:
    figures: Figures
    groups: list[str] = field(default_factory=list)  # the consumer groups checked
    problems: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, check: str, detail: str) -> None:
        self.problems[check].append(detail)

    def summary(self) -> str:
        return "; ".join(f"{k}: {len(v)} (e.g. {v[:3]})" for k, v in self.problems.items() if v) or "none"


# -- reading -------------------------------------------------------------------------------------------------
async def read_topic(settings: PlatformSettings, topic: str) -> list[Message]:
    """Every message on `topic` from the beginning to the current end (headers decoded)."""
    consumer = kafka.consumer(settings, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = await kafka.partitions_of(consumer, topic)
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: list[Message] = []
        pending = {tp for tp in tps if ends[tp] > 0}
        deadline = time.monotonic() + 60
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic}: {pending} not at their end offsets")
            batches = await consumer.getmany(*pending, timeout_ms=500, max_records=2000)
            for tp, records in batches.items():
                for r in records:
                    hdrs = {k: v.decode(errors="replace") for k, v in (r.headers or ()) if v is not None}
                    out.append(Message(topic, r.partition, r.offset, hdrs))
                    if r.offset + 1 >= ends[tp]:
                        pending.discard(tp)
            for tp in list(pending):  # transaction markers / compaction can leave the last offset unseen
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return out
    finally:
        await consumer.stop()


async def _lag(settings: PlatformSettings, groups: list[Group]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(**kafka.client_options(settings))
    consumer = kafka.consumer(settings, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        lag: dict[str, int] = {}
        for g in groups:
            committed = await admin.list_consumer_group_offsets(g.name)
            tps = []
            for t in g.topics:
                tps += [TopicPartition(t, p) for p in await kafka.partitions_of(consumer, t)]
            ends = await consumer.end_offsets(tps)
            lag[g.name] = sum(
                max(0, ends[tp] - (committed[tp].offset if tp in committed else 0)) for tp in tps if ends[tp] > 0
            )
        return lag
    finally:
        await consumer.stop()
        await admin.close()


async def discover_groups(settings: PlatformSettings, known: list[Group]) -> list[Group]:
    """Other consumer groups of this prefix (e.g. the router's), with the topics they committed offsets on.

    The metrics worker's groups are left out: it is a black box here (its state is not an inbox).
    """
    prefix, names = settings.topic_prefix, {g.name for g in known}
    admin = AIOKafkaAdminClient(**kafka.client_options(settings))
    await admin.start()
    try:
        found = []
        for entry in await admin.list_consumer_groups():
            name = entry[0]
            if not name.startswith(f"{prefix}.") or name in names or "metrics" in name:
                continue
            committed = await admin.list_consumer_group_offsets(name)
            service = name.split(".")[1]
            topics = tuple(sorted({tp.topic for tp in committed}))
            found.append(Group(service, schema_for(settings, service), name, topics))
        return found
    finally:
        await admin.close()


def metrics_groups(settings: PlatformSettings) -> list[Group]:
    """The metrics writers' three stages: routers on the source topics, folds on the by-case topic, the reducer."""
    return [
        Group("metrics", "", route_group(settings), tuple(source_topics(Topics(settings.topic_prefix)))),
        Group("metrics", "", app_id(settings), (by_case_topic(settings),)),
        Group("metrics", "", reduce_group(settings), (partials_topic(settings),)),
    ]


def _table(schema: str, name: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(name))


async def _outbox_backlog(url: str, schemas: list[str]) -> int:
    if not schemas:
        return 0
    async with await AsyncConnection.connect(url, autocommit=True, connect_timeout=5) as conn:
        total = 0
        for schema in schemas:
            cur = await conn.execute(sql.SQL("SELECT count(*) FROM {}").format(_table(schema, "outbox")))
            total += (await cur.fetchone() or (0,))[0]
        return total


async def wait_quiet(
    settings: PlatformSettings, schemas: list[str], groups: list[Group], timeout: float = 180
) -> float:
    """Seconds until every outbox is empty and every group has consumed everything, twice in a row."""
    url = settings.database_url.get_secret_value()
    started = time.monotonic()
    quiet_polls = 0
    last: tuple[int, dict[str, int]] = (0, {})
    while quiet_polls < 2:
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"platform not quiet after {timeout:g} s: outbox backlog, lag = {last}")
        try:
            backlog, lag = await _outbox_backlog(url, schemas), await _lag(settings, groups)
        except Exception as exc:  # noqa: BLE001 - a server still recovering: poll again
            last = (-1, {"error": str(exc)})  # type: ignore[dict-item]
            quiet_polls = 0
        else:
            last = (backlog, lag)
            quiet_polls = quiet_polls + 1 if backlog == 0 and not any(lag.values()) else 0
        await asyncio.sleep(1.5)
    return time.monotonic() - started


async def read_store(conn: AsyncConnection[Any], schema: str) -> Store:
    """A department's stored commits: its events and the idempotency keys naming them."""
    cur = await conn.execute(
        sql.SQL(
            "SELECT stream_id, version, envelope->>'id', type, envelope->'data', envelope->>'causationid'"
            " FROM {} ORDER BY stream_id, version"
        ).format(_table(schema, "events"))
    )
    events = [StoredEvent(s, v, eid, t, data or {}, cause) for s, v, eid, t, data, cause in await cur.fetchall()]
    cur = await conn.execute(
        sql.SQL("SELECT key, stream_id, first_version, last_version FROM {}").format(_table(schema, "idempotency"))
    )
    keys = {key: KeyClaim(s, first, last) for key, s, first, last in await cur.fetchall()}
    return Store(events, keys)


async def read_inboxes(conn: AsyncConnection[Any], schemas: set[str]) -> dict[str, set[str]]:
    """Consumer group → ids of the events its inbox holds."""
    inbox_ids: dict[str, set[str]] = defaultdict(set)
    for schema in sorted(schemas):
        cur = await conn.execute(sql.SQL("SELECT consumer, event_id FROM {}").format(_table(schema, "inbox")))
        for consumer, event_id in await cur.fetchall():
            inbox_ids[consumer].add(event_id)
    return inbox_ids


# -- the reconciliation ----------------------------------------------------------------------------------------
async def reconcile(
    settings: PlatformSettings,
    ledger: Ledger,
    *,
    services: list[str],
    groups: list[Group],
    entry: str = "intake",
    quiet_timeout: float = 180,
) -> Result:
    topics = Topics(settings.topic_prefix)
    schemas = {s: schema_for(settings, s) for s in services}
    groups = [*groups, *await discover_groups(settings, groups)]
    await wait_quiet(settings, list(schemas.values()), groups, quiet_timeout)
    # the writers commit each stage once the next holds it: routed, folded into the changelog, published
    await wait_quiet(settings, [], metrics_groups(settings), quiet_timeout)
    url = settings.database_url.get_secret_value()
    async with await AsyncConnection.connect(url, autocommit=True, connect_timeout=10) as conn:
        stores = {s: await read_store(conn, schema) for s, schema in schemas.items()}
        inbox_ids = await read_inboxes(conn, {g.schema for g in groups})
    on_topic = {s: await read_topic(settings, topics.department(s)) for s in services}
    dead = await read_topic(settings, topics.deadletter)
    result = check(ledger, stores, on_topic, dead, inbox_ids, groups, topics, entry)
    result.groups = [g.name for g in groups]
    metrics = await compare_with_writer(MetricsSettings(platform=settings), show_progress=False)
    result.figures.metrics_cases, result.figures.metrics_cells = metrics.live_cases, metrics.cells
    if not metrics.equal:
        result.add("indicators", metrics.summary())
    return result


def check(
    ledger: Ledger,
    stores: dict[str, Store],
    on_topic: dict[str, list[Message]],
    dead: list[Message],
    inbox_ids: dict[str, set[str]],
    groups: list[Group],
    topics: Topics,
    entry: str,
) -> Result:
    """The checks, on data already read (pure: unit-testable without servers)."""
    res = Result(_figures(ledger, dead))
    dead_ids: dict[str, set[str]] = defaultdict(set)  # consumer (service) → event ids it dead-lettered
    for m in dead:
        dead_ids[m.headers.get("dlq_consumer", "")].add(m.ce_id)
    event_at: dict[str, tuple[str, StoredEvent]] = {}  # id → service, event
    stored_keys: dict[str, dict[str, KeyClaim]] = {}  # service → key → commit, only keys whose commit is stored
    for service, store in stores.items():
        stored_keys[service] = _check_store(res, service, store, event_at, service == entry)
    res.figures.events_stored = len(event_at)
    _check_commands(res, ledger, stored_keys.get(entry, {}), entry)
    for service, msgs in on_topic.items():
        _check_topic(res, service, msgs, event_at, topics)
    _check_consumers(res, ledger, on_topic, inbox_ids, dead_ids, groups, topics)
    _check_handled(res, ledger, stores, stored_keys, event_at, dead_ids, entry)
    return res


def _figures(ledger: Ledger, dead: list[Message]) -> Figures:
    fig = Figures(
        commands_sent=len(ledger.commands),
        acknowledged=sum(c.acked for c in ledger.commands),
        refused=sum(c.status is not None and 400 <= c.status < 500 for c in ledger.commands),
        partner_sent=len(ledger.partner),
        partner_acked=sum(p.acked for p in ledger.partner),
        dlq=len(dead),
    )
    fig.unacknowledged = fig.commands_sent - fig.acknowledged - fig.refused
    return fig


def _check_store(
    res: Result, service: str, store: Store, event_at: dict[str, tuple[str, StoredEvent]], is_entry: bool
) -> dict[str, KeyClaim]:
    """Events in one store; each key names one whole stored commit, and no command's commit is stored twice.
    Records the store's events in `event_at`; returns the keys whose commit is stored."""
    at = {(ev.stream_id, ev.version): ev for ev in store.events}
    for ev in store.events:
        if ev.id in event_at:
            first = event_at[ev.id]
            res.add(
                "double_counted",
                f"event {ev.id} stored twice: {first[0]} {first[1].stream_id} v{first[1].version}"
                f" and {service} {ev.stream_id} v{ev.version}",
            )
        event_at.setdefault(ev.id, (service, ev))
    stored, keyed = _check_keys(res, service, store, at)
    _check_caused_again(res, service, store, stored, at)
    if is_entry:  # every command the clients send carries a key: a keyless commit is one stored twice
        for ev in store.events:
            if (ev.stream_id, ev.version) not in keyed:
                res.add("double_counted", f"{service}: {ev.stream_id} v{ev.version} ({ev.type}) under no key")
    return stored


def _check_keys(
    res: Result, service: str, store: Store, at: dict[tuple[str, int], StoredEvent]
) -> tuple[dict[str, KeyClaim], dict[tuple[str, int], str]]:
    """The keys whose commit is stored, and the key naming each stored (stream, version)."""
    stored: dict[str, KeyClaim] = {}
    keyed: dict[tuple[str, int], str] = {}  # (stream, version) → the key naming it
    for key, claim in store.keys.items():
        absent = [v for v in claim.versions() if (claim.stream_id, v) not in at]
        if absent:  # a retry under this key would be told "done" for a commit that is not there
            res.add("key_without_commit", f"{service}: key {key} names {claim.stream_id} v{absent}, not stored")
            continue
        stored[key] = claim
        for v in claim.versions():
            other = keyed.setdefault((claim.stream_id, v), key)
            if other != key:
                res.add("double_counted", f"{service}: {claim.stream_id} v{v} under keys {other} and {key}")
    return stored, keyed


def _check_caused_again(
    res: Result, service: str, store: Store, stored: dict[str, KeyClaim], at: dict[tuple[str, int], StoredEvent]
) -> None:
    """A command made from an event, stored again on its case beside the commit its key names."""
    by_stream: dict[str, list[StoredEvent]] = defaultdict(list)
    for ev in store.events:
        by_stream[ev.stream_id].append(ev)
    for key, claim in stored.items():
        causes = {at[(claim.stream_id, v)].causation for v in claim.versions()} - {None}
        for ev in by_stream[claim.stream_id] if causes else ():
            if ev.causation in causes and ev.version not in claim.versions():
                res.add(
                    "double_counted",
                    f"{service}: {ev.stream_id} v{ev.version} caused by {ev.causation} again, beside key {key}"
                    f" (v{claim.first_version}-{claim.last_version})",
                )


def client_key(stored: str) -> str:
    """The key a client sent, from the key the store holds (`http:<METHOD> <route>:<key>`: shared/deps.py)."""
    return stored.split(":", 2)[2] if stored.startswith("http:") else stored


def _check_commands(res: Result, ledger: Ledger, stored_keys: dict[str, KeyClaim], entry: str) -> None:
    """HTTP commands: acknowledged → stored, where the response said; refused → nothing stored."""
    entry_keys = {client_key(k): claim for k, claim in stored_keys.items()}
    sent_keys = {c.key for c in ledger.commands}
    for cmd in ledger.commands:
        hit = entry_keys.get(cmd.key)
        if cmd.acked:
            if hit is None:
                res.add("lost", f"{cmd.kind} {cmd.key} acknowledged as {cmd.request_id} v{cmd.version}, not stored")
            elif hit.stream_id != cmd.request_id or (cmd.version or 0) not in hit.versions():
                res.add(
                    "misplaced",
                    f"{cmd.key}: stored at {hit.stream_id} v{hit.first_version}-{hit.last_version},"
                    f" answered {cmd.request_id} v{cmd.version}",
                )
        elif hit is not None and cmd.status is not None and 400 <= cmd.status < 500:
            res.add("refused_but_stored", f"{cmd.kind} {cmd.key} answered {cmd.status} but stored")
    for key in entry_keys:
        if key.startswith("fault-") and key not in sent_keys:
            res.add("phantom_command", f"{entry}: commit with key {key} no client sent")


def _check_topic(
    res: Result, service: str, msgs: list[Message], event_at: dict[str, tuple[str, StoredEvent]], topics: Topics
) -> None:
    """A department topic: every stored event delivered once (distinct), nothing unknown, order per case."""
    fig = res.figures
    copies = Counter(m.ce_id for m in msgs)
    fig.duplicates += sum(n - 1 for n in copies.values())
    stored_here = {eid for eid, (where, _ev) in event_at.items() if where == service}
    fig.delivered += len(stored_here & copies.keys())
    for eid in stored_here - copies.keys():
        res.add("not_published", f"{service}: event {eid} stored, not on {topics.department(service)}")
    notices = {m.ce_id for m in msgs if m.headers.get("ce_type") == REJECTED}
    for eid in copies.keys() - stored_here - notices:  # rejection notices go straight to the topic
        res.add("unknown_on_topic", f"{service}: {eid} on the topic but in no store")
    last: dict[str, tuple[int, int]] = {}
    seen: set[str] = set()
    for m in sorted(msgs, key=lambda m: (m.partition, m.offset)):
        if m.ce_id in seen or m.ce_id not in event_at:
            continue
        seen.add(m.ce_id)
        ev = event_at[m.ce_id][1]
        stream, version = ev.stream_id, ev.version
        prev = last.get(stream)
        if prev is not None and (prev[0] != m.partition or version <= prev[1]):
            res.add("order", f"{stream}: v{version}@p{m.partition} after v{prev[1]}@p{prev[0]}")
        last[stream] = (m.partition, version)


def _check_consumers(
    res: Result,
    ledger: Ledger,
    on_topic: dict[str, list[Message]],
    inbox_ids: dict[str, set[str]],
    dead_ids: dict[str, set[str]],
    groups: list[Group],
    topics: Topics,
) -> None:
    """Consumer groups: every event of their topics reached the inbox, or was dead-lettered by that group."""
    topic_ids: dict[str, set[str]] = {}
    for service, msgs in on_topic.items():
        topic_ids[topics.department(service)] = {m.ce_id for m in msgs}
    partner_ids_by_topic: dict[str, set[str]] = defaultdict(set)
    for p in ledger.partner:
        if p.acked:
            partner_ids_by_topic[topics.partner_inbound(p.partner)].add(p.event_id)
    for g in groups:
        wanted: set[str] = set()
        for t in g.topics:
            wanted |= topic_ids.get(t, partner_ids_by_topic.get(t, set()))
        missing = wanted - inbox_ids.get(g.name, set()) - dead_ids.get(g.service, set())
        for eid in sorted(missing)[:20]:
            res.add("not_consumed", f"{g.name}: {eid}")
        if len(missing) > 20:
            res.add("not_consumed", f"{g.name}: ... {len(missing) - 20} more")


def _check_handled(
    res: Result,
    ledger: Ledger,
    stores: dict[str, Store],
    stored_keys: dict[str, dict[str, KeyClaim]],
    event_at: dict[str, tuple[str, StoredEvent]],
    dead_ids: dict[str, set[str]],
    entry: str,
) -> None:
    """Events turned into commands downstream: one commit each (or dead-lettered)."""
    all_dead = set().union(*dead_ids.values()) if dead_ids else set()
    handled_keys: Counter[str] = Counter()  # event id → commits made from it (keys `evt:<event id>[:<step>]`)
    for keys in stored_keys.values():
        for key in keys:
            if key.startswith("evt:"):
                handled_keys[key.split(":")[1]] += 1
    res.figures.handled_from_events = sum(handled_keys.values())
    expected: list[tuple[str, str]] = []
    for eid, (service, ev) in event_at.items():
        if service == entry and ev.type == REFERRED and ev.data.get("to_department") in stores:
            expected.append((eid, f"referral {ev.stream_id} → {ev.data['to_department']}"))
    expected += [(p.event_id, f"partner {p.partner} {p.type}") for p in ledger.partner if p.acked]
    for eid, what in expected:
        if handled_keys[eid] == 0 and eid not in all_dead:
            res.add("not_handled", f"{what} ({eid}): no commit, not dead-lettered")
