"""Reconciliation: compare what clients were told (the ledger) with the event stores and the topics.

Reads everything from the outside, after the platform has gone quiet (outboxes empty, every listed consumer
group at the end of its topics):

- every HTTP command acknowledged with a 2xx is exactly one commit in the service's event store (matched by its
  Idempotency-Key, at the stream and version the response named); a stored command no client saw acknowledged
  must at least be one the client sent;
- every stored event is on its department topic (distinct `ce_id`), and nothing is on a topic that is not in a
  store; copies beyond the first are the duplicates the consumers' inboxes drop;
- per case, first copies on the topic carry strictly increasing stream versions;
- every consumer group's inbox holds every event of its topics (or the event was dead-lettered), and the events
  it turned into commands (referrals, partner requests: idempotency key `evt:<event id>`) are one commit each;
- an idempotency key is never on two commits of one store (no double count);
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
from pymongo import AsyncMongoClient

from services.metrics.config import Settings as MetricsSettings
from services.metrics.rebuild import compare_with_writer
from services.metrics.store import app_id, by_case_topic, partials_topic, reduce_group, route_group
from services.metrics.worker import source_topics
from shared import kafka
from shared.settings import PlatformSettings
from shared.topics import Topics
from tests.faults.load import Ledger

REFERRED = "caseflow.intake.request_referred"
REJECTED = "caseflow.platform.partner_event_rejected"


@dataclass(frozen=True)
class Group:
    """A consumer group the reconciliation checks: the service (its name in `dlq_consumer`), its database
    (holding `inbox`), the group id and its topics."""

    service: str
    db: str
    name: str
    topics: tuple[str, ...]


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
            found.append(Group(service, f"{prefix}_{service}", name, tuple(sorted({tp.topic for tp in committed}))))
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


async def _outbox_backlog(mongo: AsyncMongoClient, dbs: list[str]) -> int:
    return sum([await mongo[db]["commits_outbox"].count_documents({}) for db in dbs])


async def wait_quiet(
    settings: PlatformSettings, mongo: AsyncMongoClient, dbs: list[str], groups: list[Group], timeout: float = 180
) -> float:
    """Seconds until every outbox is empty and every group has consumed everything, twice in a row."""
    started = time.monotonic()
    quiet_polls = 0
    last: tuple[int, dict[str, int]] = (0, {})
    while quiet_polls < 2:
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"platform not quiet after {timeout:g} s: outbox backlog, lag = {last}")
        try:
            backlog, lag = await _outbox_backlog(mongo, dbs), await _lag(settings, groups)
        except Exception as exc:  # noqa: BLE001 - a server still recovering: poll again
            last = (-1, {"error": str(exc)})  # type: ignore[dict-item]
            quiet_polls = 0
        else:
            last = (backlog, lag)
            quiet_polls = quiet_polls + 1 if backlog == 0 and not any(lag.values()) else 0
        await asyncio.sleep(1.5)
    return time.monotonic() - started


async def _commits(mongo: AsyncMongoClient, db: str) -> list[dict[str, Any]]:
    proj = {"stream_id": 1, "first_version": 1, "last_version": 1, "idempotency_key": 1, "events": 1}
    return [d async for d in mongo[db]["commits"].find({}, proj)]


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
    dbs = {s: f"{settings.topic_prefix}_{s}" for s in services}
    mongo: AsyncMongoClient = AsyncMongoClient(settings.mongo_url, tz_aware=True, serverSelectionTimeoutMS=10_000)
    try:
        groups = [*groups, *await discover_groups(settings, groups)]
        await wait_quiet(settings, mongo, list(dbs.values()), groups, quiet_timeout)
        # the writers commit each stage once the next holds it: routed, folded into the changelog, published
        await wait_quiet(settings, mongo, [], metrics_groups(settings), quiet_timeout)
        commits = {s: await _commits(mongo, db) for s, db in dbs.items()}
        inbox_ids: dict[str, set[str]] = defaultdict(set)
        for db in {g.db for g in groups}:
            async for d in mongo[db]["inbox"].find({}, {"_id": 1}):
                group, _, event_id = d["_id"].partition(":")
                inbox_ids[group].add(event_id)
    finally:
        await mongo.close()
    on_topic = {s: await read_topic(settings, topics.department(s)) for s in services}
    dead = await read_topic(settings, topics.deadletter)
    result = check(ledger, commits, on_topic, dead, inbox_ids, groups, topics, entry)
    result.groups = [g.name for g in groups]
    metrics = await compare_with_writer(MetricsSettings(platform=settings), show_progress=False)
    result.figures.metrics_cases, result.figures.metrics_cells = metrics.live_cases, metrics.cells
    if not metrics.equal:
        result.add("indicators", metrics.summary())
    return result


def check(
    ledger: Ledger,
    commits: dict[str, list[dict[str, Any]]],
    on_topic: dict[str, list[Message]],
    dead: list[Message],
    inbox_ids: dict[str, set[str]],
    groups: list[Group],
    topics: Topics,
    entry: str,
) -> Result:
    """The checks, on data already read (pure: unit-testable without servers)."""
    fig = Figures(
        commands_sent=len(ledger.commands),
        acknowledged=sum(c.acked for c in ledger.commands),
        refused=sum(c.status is not None and 400 <= c.status < 500 for c in ledger.commands),
        partner_sent=len(ledger.partner),
        partner_acked=sum(p.acked for p in ledger.partner),
        dlq=len(dead),
    )
    fig.unacknowledged = fig.commands_sent - fig.acknowledged - fig.refused
    res = Result(fig)
    dead_ids: dict[str, set[str]] = defaultdict(set)  # consumer (service) → event ids it dead-lettered
    for m in dead:
        dead_ids[m.headers.get("dlq_consumer", "")].add(m.ce_id)
    all_dead = set().union(*dead_ids.values()) if dead_ids else set()

    # events in the stores, and idempotency keys never on two commits of one store
    event_at: dict[str, tuple[str, str, int, dict[str, Any]]] = {}  # id → service, stream, version, event
    by_key: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for service, docs in commits.items():
        keys: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for doc in docs:
            if doc.get("idempotency_key"):
                keys[doc["idempotency_key"]].append(doc)
            for i, ev in enumerate(doc["events"]):
                event_at[ev["id"]] = (service, doc["stream_id"], doc["first_version"] + i, ev)
        by_key[service] = keys
        for key, hits in keys.items():
            if len(hits) > 1:
                res.add("double_counted", f"{service}: key {key} on {len(hits)} commits")
    fig.events_stored = len(event_at)

    # HTTP commands: acknowledged → exactly one commit where the response said; unacknowledged → at most one
    entry_keys = by_key.get(entry, {})
    sent_keys = {c.key for c in ledger.commands}
    for cmd in ledger.commands:
        hits = entry_keys.get(cmd.key, [])
        if cmd.acked:
            if not hits:
                res.add("lost", f"{cmd.kind} {cmd.key} acknowledged as {cmd.request_id} v{cmd.version}, not stored")
            elif hits[0]["stream_id"] != cmd.request_id or not (
                hits[0]["first_version"] <= (cmd.version or 0) <= hits[0]["last_version"]
            ):
                res.add("misplaced", f"{cmd.key}: stored at {hits[0]['_id']}, answered {cmd.request_id} v{cmd.version}")
        elif hits and cmd.status is not None and 400 <= cmd.status < 500:
            res.add("refused_but_stored", f"{cmd.kind} {cmd.key} answered {cmd.status} but stored")
    for key in entry_keys:
        if key.startswith("fault-") and key not in sent_keys:
            res.add("phantom_command", f"{entry}: commit with key {key} no client sent")

    # topics: every stored event delivered once (distinct), nothing unknown, order per case
    for service, msgs in on_topic.items():
        copies = Counter(m.ce_id for m in msgs)
        fig.duplicates += sum(n - 1 for n in copies.values())
        stored_here = {eid for eid, at in event_at.items() if at[0] == service}
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
            _, stream, version, _ev = event_at[m.ce_id]
            prev = last.get(stream)
            if prev is not None and (prev[0] != m.partition or version <= prev[1]):
                res.add("order", f"{stream}: v{version}@p{m.partition} after v{prev[1]}@p{prev[0]}")
            last[stream] = (m.partition, version)

    # consumer groups: every event of their topics reached the inbox, or was dead-lettered by that group
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

    # events turned into commands downstream: one commit each (or dead-lettered)
    handled_keys: Counter[str] = Counter()
    for keys in by_key.values():
        for key, hits in keys.items():
            if key.startswith("evt:"):
                handled_keys[key.split(":")[1]] += len(hits)
    fig.handled_from_events = sum(handled_keys.values())
    expected: list[tuple[str, str]] = []
    for eid, (service, stream, _v, ev) in event_at.items():
        if service == entry and ev["type"] == REFERRED and ev["data"].get("to_department") in commits:
            expected.append((eid, f"referral {stream} → {ev['data']['to_department']}"))
    expected += [(p.event_id, f"partner {p.partner} {p.type}") for p in ledger.partner if p.acked]
    for eid, what in expected:
        if handled_keys[eid] == 0 and eid not in all_dead:
            res.add("not_handled", f"{what} ({eid}): no commit, not dead-lettered")
    return res
