"""`caseflow dlq`: list, show and replay the dead letters on `<prefix>.deadletter`.

A dead letter is the refused message as it was (value, key, headers) plus `dlq_reason`, `dlq_error`,
`dlq_consumer`, `dlq_topic`, `dlq_partition`, `dlq_offset` and `dlq_time` (shared/consumer.py `DeadLetters`). Its id
here is `<partition>:<offset>` on the dead-letter topic. `replay` re-publishes it, after a fix, to the topic it was
refused on, with its own headers (the same event id) plus `dlq_replayed_from`: the consumers' inbox keeps only the
events they handled, so the group that parked it handles it now, and every other group drops it as one it has
seen (and the handlers' idempotency keys make a second delivery a no-op). Each replay is recorded on
`<prefix>.deadletter.replays` (compacted, keyed by the id), and a dead letter replayed once is not replayed again
unless `--again`. Needs the admin principal on the secure broker (it reads the dead-letter topic and writes every
topic): the operator profile `make run` writes. Exit codes: 0 done, 1 declined at the prompt, 2 bad input,
3 not found, 4 Kafka unreachable.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.table import Table

from caseflow_cli.profile import operator_settings
from shared import kafka
from shared.settings import PlatformSettings
from shared.topics import Topics

T = TypeVar("T")
console = Console()
errors = Console(stderr=True)
dlq_app = typer.Typer(no_args_is_help=True, help="dead letters: list, show, replay after a fix")
ID_RE = re.compile(r"^(\d{1,4}):(\d{1,19})$")
REPLAYED_FROM = "dlq_replayed_from"


@dataclass(frozen=True)
class DeadLetter:
    """One record of the dead-letter topic, and whether (when) it was replayed."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    replayed_at: str | None = None

    @property
    def id(self) -> str:
        return f"{self.partition}:{self.offset}"

    def header(self, name: str) -> str | None:
        raw = dict(self.headers).get(name)
        return None if raw is None else raw.decode(errors="replace")

    @property
    def origin(self) -> tuple[str, int, int] | None:
        """Where it was refused: topic, partition, offset (None when the headers do not say)."""
        topic, partition, offset = (self.header(f"dlq_{n}") for n in ("topic", "partition", "offset"))
        if not topic or partition is None or offset is None:
            return None
        return topic, int(partition), int(offset)

    def summary(self) -> dict[str, Any]:
        origin = self.origin
        return {
            "id": self.id,
            "time": self.header("dlq_time"),
            "error": self.header("dlq_error"),
            "reason": self.header("dlq_reason"),
            "consumer": self.header("dlq_consumer"),
            "topic": origin[0] if origin else None,
            "source_partition": origin[1] if origin else None,
            "source_offset": origin[2] if origin else None,
            "event_type": self.header("ce_type"),
            "event_id": self.header("ce_id"),
            "replayed_at": self.replayed_at,
        }

    def full(self) -> dict[str, Any]:
        value = (self.value or b"").decode(errors="replace")
        try:
            data: Any = json.loads(value)
        except ValueError:
            data = value
        key = None if self.key is None else self.key.decode(errors="replace")
        headers = [[n, v.decode(errors="replace")] for n, v in self.headers]
        return {**self.summary(), "key": key, "headers": headers, "value": data}

    def replay_headers(self, at: datetime) -> list[tuple[str, bytes]]:
        """Its original headers (event id, type, trace context…) without the parking ones, marked as replayed."""
        kept = [(n, v) for n, v in self.headers if not n.startswith("dlq_")]
        return [*kept, (REPLAYED_FROM, self.id.encode()), ("dlq_replayed_at", at.isoformat().encode())]


def parse_id(raw: str) -> tuple[int, int]:
    """`<partition>:<offset>` → (partition, offset); typer.BadParameter (exit 2) otherwise."""
    match = ID_RE.match(raw.strip())
    if match is None:
        raise typer.BadParameter(f"{raw!r} is not a dead-letter id <partition>:<offset> (e.g. 0:17)")
    return int(match.group(1)), int(match.group(2))


def replays_topic(settings: PlatformSettings) -> str:
    return Topics(settings.topic_prefix).deadletter_replays


async def _read_all(settings: PlatformSettings, topic: str) -> list[Any]:
    """Every record of `topic` from its start to its end as of now (no consumer group; none if there is no topic)."""
    probe = AIOKafkaConsumer(**kafka.client_options(settings), enable_auto_commit=False)
    try:
        await probe.start()
        if topic not in await probe.topics():
            return []
    finally:
        await probe.stop()
    consumer = kafka.consumer(settings, topic, group_id=None, isolation_level="read_uncommitted")
    try:
        await consumer.start()
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        ends = await consumer.end_offsets(tps)
        out: list[Any] = []
        pending = {tp for tp in tps if ends[tp] > 0}
        while pending:
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                out += [r for r in records if r.offset < ends[tp]]
            pending = {
                tp for tp in pending if tp not in consumer.assignment() or await consumer.position(tp) < ends[tp]
            }
        return out
    finally:
        await consumer.stop()


async def dead_letters(settings: PlatformSettings) -> list[DeadLetter]:
    """Every dead letter, oldest first per partition, each with the time it was replayed (if it was)."""
    replayed: dict[str, str] = {}
    for r in await _read_all(settings, replays_topic(settings)):
        if r.key is not None and r.value is not None:
            replayed[r.key.decode()] = json.loads(r.value)["replayed_at"]
    records = await _read_all(settings, Topics(settings.topic_prefix).deadletter)
    letters = [DeadLetter(r.partition, r.offset, r.key, r.value, tuple(r.headers or ()), None) for r in records]
    return [DeadLetter(d.partition, d.offset, d.key, d.value, d.headers, replayed.get(d.id)) for d in letters]


async def replay(settings: PlatformSettings, letters: list[DeadLetter], *, by: str) -> list[tuple[DeadLetter, int]]:
    """Re-publish each to the topic it was refused on and record the replay; returns (letter, new offset)."""
    await kafka.ensure_topics(settings, [replays_topic(settings)], compacted=True, partitions=1)
    producer = kafka.producer(settings)
    done: list[tuple[DeadLetter, int]] = []
    try:
        await producer.start()
        for letter in letters:
            origin = letter.origin
            assert origin is not None  # checked by the caller
            at = datetime.now(UTC)
            meta = await producer.send_and_wait(
                origin[0], value=letter.value, key=letter.key, headers=letter.replay_headers(at)
            )
            log = {"id": letter.id, "topic": origin[0], "partition": meta.partition, "offset": meta.offset,
                   "replayed_at": at.isoformat(), "by": by}  # fmt: skip
            await producer.send_and_wait(
                replays_topic(settings), value=json.dumps(log).encode(), key=letter.id.encode()
            )
            done.append((letter, meta.offset))
    finally:
        await producer.stop()
    return done


def _run(settings: PlatformSettings, work: Callable[[], Awaitable[T]], timeout: float) -> T:
    try:
        return asyncio.run(asyncio.wait_for(work(), timeout))
    except (KafkaError, OSError, TimeoutError) as exc:
        errors.print(f"[red]Kafka unreachable at {settings.kafka_bootstrap}: {type(exc).__name__}[/red]")
        raise typer.Exit(4) from None


TIMEOUT = typer.Option(30, "--timeout", min=1, max=600, help="give up after this many seconds")


@dlq_app.command("list")
def list_command(
    topic: str | None = typer.Option(None, "--topic", help="only those refused on this topic"),
    as_json: bool = typer.Option(False, "--json", help="print machine-readable JSON"),
    timeout: float = TIMEOUT,
) -> None:
    """Dead letters per topic: reason, time, where they came from, event type, replayed or not."""
    settings = operator_settings()
    rows = [d.summary() for d in _run(settings, lambda: dead_letters(settings), timeout)]
    rows = [r for r in rows if topic is None or r["topic"] == topic]
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table("id", "time", "topic", "from", "event type", "error", "reason", "replayed", title="dead letters")
    for r in sorted(rows, key=lambda r: (r["topic"] or "", r["time"] or "")):
        origin = f"{r['source_partition']}@{r['source_offset']}" if r["topic"] else "-"
        table.add_row(r["id"], r["time"] or "-", r["topic"] or "-", origin, r["event_type"] or "-", r["error"] or "-",
                      (r["reason"] or "")[:120], r["replayed_at"] or "")  # fmt: skip
    console.print(table)
    per_topic: dict[str, int] = {}
    for r in rows:
        per_topic[r["topic"] or "-"] = per_topic.get(r["topic"] or "-", 0) + 1
    console.print(", ".join(f"{t}: {n}" for t, n in sorted(per_topic.items())) or "no dead letters")


def _find(letters: list[DeadLetter], wanted: tuple[int, int]) -> DeadLetter:
    for d in letters:
        if (d.partition, d.offset) == wanted:
            return d
    errors.print(f"[red]no dead letter {wanted[0]}:{wanted[1]}[/red]")
    raise typer.Exit(3)


@dlq_app.command("show")
def show_command(
    letter_id: str = typer.Argument(..., metavar="ID", help="<partition>:<offset> as `dlq list` shows it"),
    timeout: float = TIMEOUT,
) -> None:
    """The whole dead letter: every header and the message as it was refused."""
    wanted = parse_id(letter_id)
    settings = operator_settings()
    letter = _find(_run(settings, lambda: dead_letters(settings), timeout), wanted)
    print(json.dumps(letter.full(), indent=2, ensure_ascii=False))


def choose(letters: list[DeadLetter], ids: list[tuple[int, int]], topic: str | None, again: bool) -> list[DeadLetter]:
    """The dead letters a replay names: by id, or every one refused on `topic`; never one replayed before unless
    `again`, never one whose origin the headers do not name."""
    chosen = [_find(letters, i) for i in ids] if ids else [d for d in letters if d.origin and d.origin[0] == topic]
    for d in chosen:
        if d.origin is None:
            errors.print(f"[red]dead letter {d.id} names no source topic (dlq_topic): it cannot be replayed[/red]")
            raise typer.Exit(2)
    if again:
        return chosen
    skipped = [d for d in chosen if d.replayed_at]
    for d in skipped:
        errors.print(f"dead letter {d.id} was replayed at {d.replayed_at}: skipped (--again replays it again)")
    return [d for d in chosen if not d.replayed_at]


@dlq_app.command("replay")
def replay_command(
    letter_ids: list[str] = typer.Argument(None, metavar="[ID]...", help="<partition>:<offset> of each to replay"),
    every: bool = typer.Option(False, "--all", help="every dead letter refused on --topic"),
    topic: str | None = typer.Option(None, "--topic", help="with --all: the source topic"),
    again: bool = typer.Option(False, "--again", help="also those replayed before"),
    yes: bool = typer.Option(False, "--yes", "-y", help="no confirmation prompt"),
    timeout: float = TIMEOUT,
) -> None:
    """Re-publish dead letters to the topic they were refused on, after a fix (asks first)."""
    if bool(letter_ids) == every:
        raise typer.BadParameter("name dead-letter ids, or --all with --topic (not both)")
    if every and not topic:
        raise typer.BadParameter("--all needs --topic: the source topic whose dead letters to replay")
    if topic and not every:
        raise typer.BadParameter("--topic goes with --all")
    ids = [parse_id(i) for i in letter_ids or []]
    settings = operator_settings()
    chosen = choose(_run(settings, lambda: dead_letters(settings), timeout), ids, topic, again)
    if not chosen:
        console.print("nothing to replay")
        return
    for d in chosen:
        console.print(
            f"{d.id}: {d.header('ce_type') or '?'} → {d.origin[0] if d.origin else '?'} ({d.header('dlq_reason')})"
        )
    if not yes and not typer.confirm(f"replay {len(chosen)} dead letter(s) to their source topics?"):
        raise typer.Exit(1)
    by = settings.kafka_username or "operator"
    for letter, offset in _run(settings, lambda: replay(settings, chosen, by=by), timeout):
        console.print(f"replayed {letter.id} to {letter.origin[0] if letter.origin else '?'} at offset {offset}")
