"""`caseflow lag`: how far behind each of the platform's consumer groups is, per topic partition.

Lag = the partition's end offset minus the group's committed offset (a partition the group never committed
counts from the partition's start). Groups are those of the topic prefix (`<prefix>.…`), or all with `--all`.
Exit codes: 0 shown, 3 no group found, 4 Kafka unreachable. Needs a principal allowed to describe the groups
(the admin user on the secure broker): the operator profile `make run` writes (caseflow_cli/profile.py).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass

import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.table import Table

from caseflow_cli.profile import operator_settings
from shared import kafka
from shared.settings import PlatformSettings

console = Console()


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int
    end: int

    @property
    def lag(self) -> int:
        return max(self.end - self.committed, 0)


async def group_lags(settings: PlatformSettings, *, every_group: bool = False) -> list[PartitionLag]:
    """Committed and end offsets of every partition each group has committed on, sorted by group and topic."""
    options = kafka.client_options(settings)
    admin = AIOKafkaAdminClient(**options)
    await admin.start()
    try:
        names = sorted(g[0] for g in await admin.list_consumer_groups())
        wanted = [g for g in names if every_group or g.startswith(f"{settings.topic_prefix}.")]
        committed: dict[str, dict[TopicPartition, int]] = {}
        for group in wanted:
            offsets = await admin.list_consumer_group_offsets(group)
            committed[group] = {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
    finally:
        await admin.close()
    partitions = sorted({tp for per_group in committed.values() for tp in per_group})
    if not partitions:
        return []
    probe = AIOKafkaConsumer(**options, enable_auto_commit=False)
    await probe.start()
    try:
        ends = await probe.end_offsets(partitions)
        starts = await probe.beginning_offsets(partitions)
    finally:
        await probe.stop()
    return [
        PartitionLag(group, tp.topic, tp.partition, offset if offset >= 0 else starts[tp], ends[tp])
        for group, per_group in committed.items()
        for tp, offset in sorted(per_group.items())
    ]


def lag_command(
    as_json: bool = typer.Option(False, "--json", help="print machine-readable JSON"),
    every_group: bool = typer.Option(False, "--all", help="every group on the broker, not only this prefix's"),
    timeout: float = typer.Option(30, "--timeout", min=1, max=600, help="give up after this many seconds"),
) -> None:
    """Consumer lag per group and partition (end offset minus committed offset)."""
    settings = operator_settings()
    try:
        rows = asyncio.run(asyncio.wait_for(group_lags(settings, every_group=every_group), timeout))
    except (KafkaError, OSError, TimeoutError) as exc:
        Console(stderr=True).print(f"[red]Kafka unreachable at {settings.kafka_bootstrap}: {type(exc).__name__}[/red]")
        raise typer.Exit(4) from None
    if as_json:
        print(json.dumps([{**asdict(r), "lag": r.lag} for r in rows], indent=2))
    else:
        table = Table("group", "topic", "partition", "committed", "end", "lag", title="consumer lag")
        for r in rows:
            table.add_row(r.group, r.topic, str(r.partition), f"{r.committed:,}", f"{r.end:,}", f"{r.lag:,}")
        console.print(table)
        console.print(f"total lag {sum(r.lag for r in rows):,} over {len({r.group for r in rows})} groups")
    if not rows:
        raise typer.Exit(3)
