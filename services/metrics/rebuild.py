"""Rebuild (重算): recompute every case state and indicator from the source topics from offset zero.

`python -m services.metrics.rebuild [--write]` reads every department topic and partner inbound topic up to the
end offsets present at start, with a progress bar, into a fresh engine; folds are deterministic and idempotent,
so the result equals the live writer's state. `--write` replaces the MongoDB snapshot the query API's followers
start from (stop the writer first: it keeps saving that snapshot). The faust writer's own state is its changelog
table, which this does not touch. Undecodable events are skipped here (the live writer dead-letters them).
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime

from aiokafka import TopicPartition
from pymongo import AsyncMongoClient
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from services.metrics.config import Settings
from services.metrics.engine import MetricsEngine
from services.metrics.store import Positions, Snapshots
from services.metrics.worker import build_engine, decode, source_topics
from shared import kafka
from shared.errors import CaseflowError
from shared.events import registry
from shared.settings import load_settings
from shared.topics import Topics


async def rebuild(
    settings: Settings, *, now: datetime | None = None, show_progress: bool = True
) -> tuple[MetricsEngine, Positions]:
    engine = build_engine(settings)
    platform = settings.platform
    await kafka.ensure_topics(platform)
    consumer = kafka.consumer(platform, group_id=None, isolation_level="read_committed")
    await consumer.start()
    positions: Positions = {}
    try:
        tps = [
            TopicPartition(t, p)
            for t in source_topics(Topics(platform.topic_prefix))
            for p in sorted(await kafka.partitions_of(consumer, t, timeout=10))
        ]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        total = sum(ends[tp] - starts[tp] for tp in tps)
        at = now or datetime.now(UTC)
        with Progress(
            TextColumn("[bold]metrics rebuild"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            disable=not show_progress,
        ) as bar:  # fmt: skip
            task = bar.add_task("events", total=total)
            left = {tp for tp in tps if ends[tp] > starts[tp]}
            while left:
                batches = await consumer.getmany(*left, timeout_ms=500, max_records=5000)
                for tp, records in batches.items():
                    for msg in records:
                        if msg.offset >= ends[tp]:
                            break
                        try:
                            engine.apply(decode(msg, registry), at)
                        except CaseflowError:
                            pass  # dead-lettered by the live writer already
                        bar.advance(task)
                    position = min(records[-1].offset + 1, ends[tp]) if records else None
                    if position is not None:
                        positions[(tp.topic, tp.partition)] = position
                        if position >= ends[tp]:
                            left.discard(tp)
                for tp in list(left):
                    if await consumer.position(tp) >= ends[tp]:
                        positions[(tp.topic, tp.partition)] = ends[tp]
                        left.discard(tp)
        engine.tick(at)
    finally:
        await consumer.stop()
    return engine, positions


async def rebuild_and_write(settings: Settings) -> int:
    engine, positions = await rebuild(settings)
    mongo: AsyncMongoClient = AsyncMongoClient(settings.platform.mongo_url, tz_aware=True)
    try:
        snapshots = Snapshots(mongo[f"{settings.platform.topic_prefix}_metrics"])
        await snapshots.clear()
        await snapshots.save(engine, positions)
    finally:
        await mongo.close()
    return len(engine.cases)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.metrics.rebuild", description=__doc__)
    parser.add_argument("--write", action="store_true", help="replace the MongoDB snapshot with the result")
    args = parser.parse_args()
    settings = load_settings(Settings)
    if args.write:
        n = asyncio.run(rebuild_and_write(settings))
    else:
        n = len(asyncio.run(rebuild(settings))[0].cases)
    print(f"rebuilt {n} cases")


if __name__ == "__main__":
    main()
