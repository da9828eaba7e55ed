"""Where personal data could leak to, and a scanner for it: every record of a topic prefix, log lines, span files."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from opentelemetry.sdk.trace.export import SpanExportResult

from shared import kafka
from shared.settings import PlatformSettings
from shared.telemetry import JsonLinesSpanExporter


@dataclass(frozen=True)
class Hit:
    where: str  # e.g. "t123.intake.events[0]@4 header ce_subject", "log line 17", "span 'POST /requests'"
    needle: str


def forms(needle: str) -> list[bytes]:
    """The needle as UTF-8 and as JSON writes it with ensure_ascii (\\uXXXX), the two ways it reaches bytes."""
    escaped = json.dumps(needle)[1:-1]
    return list(dict.fromkeys([needle.encode(), escaped.encode()]))


def find(blob: bytes | str | None, needles: Iterable[str]) -> list[str]:
    if not blob:
        return []
    raw = blob.encode() if isinstance(blob, str) else blob
    return [n for n in needles if any(f in raw for f in forms(n))]


async def prefix_topics(settings: PlatformSettings) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        return sorted(t for t in await admin.list_topics() if t.startswith(f"{settings.topic_prefix}."))
    finally:
        await admin.close()


async def scan_topics(settings: PlatformSettings, needles: list[str], *, timeout: float = 30) -> tuple[int, list[Hit]]:
    """Read every topic of the prefix from the beginning to its end offsets; (records read, hits)."""
    hits: list[Hit] = []
    count = 0
    for topic in await prefix_topics(settings):
        consumer = kafka.consumer(settings, group_id=None, isolation_level="read_uncommitted")
        await consumer.start()
        try:
            parts = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or ())]
            if not parts:
                await consumer._client.force_metadata_update()  # noqa: SLF001 (fresh topic, metadata not yet cached)
                parts = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or ())]
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            ends = await consumer.end_offsets(parts)
            deadline = time.monotonic() + timeout
            while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
                assert time.monotonic() < deadline, f"could not read {topic} to its end in {timeout}s"
                for tp, records in (await consumer.getmany(timeout_ms=300)).items():
                    for r in records:
                        count += 1
                        at = f"{topic}[{tp.partition}]@{r.offset}"
                        hits += [Hit(f"{at} key", n) for n in find(r.key, needles)]
                        hits += [Hit(f"{at} value", n) for n in find(r.value, needles)]
                        for name, value in r.headers or ():
                            hits += [
                                Hit(f"{at} header {name}", n)
                                for n in find(name.encode() + b"=" + (value or b""), needles)
                            ]
        finally:
            await consumer.stop()
    return count, hits


def scan_lines(kind: str, lines: Iterable[str], needles: list[str]) -> list[Hit]:
    return [Hit(f"{kind} line {i}: {line[:160]}", n) for i, line in enumerate(lines, 1) for n in find(line, needles)]


class LogCapture(logging.Handler):
    """Every record, formatted with its arguments and any traceback, as an operator's log would show it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # a record that cannot be formatted still counts: keep its raw parts
            self.lines.append(f"{record.msg!r} {record.args!r}")


class SwitchableSpanFile(JsonLinesSpanExporter):
    """The platform's JSON-lines span exporter, switched off after the test (a provider keeps its processors)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.enabled = True

    def export(self, spans):  # type: ignore[no-untyped-def]
        return super().export(spans) if self.enabled else SpanExportResult.SUCCESS
