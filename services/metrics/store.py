"""Snapshots of the fold state in MongoDB: one document per end-to-end case, plus the topic positions folded.

The writer saves the cases changed by a batch first and the positions after, so a crash in between replays
events whose ids the saved cases already hold — the fold drops them (idempotent by event id). The aggregates are
not stored: they are the sum of the cases' contributions and are recomputed when the snapshot is loaded.
Case states are stored pickled (they are this service's own frozen dataclasses, never read by anyone else).
"""

from __future__ import annotations

import pickle
from collections.abc import AsyncIterator
from datetime import datetime

from bson import Binary
from pymongo import ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase

from services.metrics.domain import CaseState
from services.metrics.engine import MetricsEngine

Positions = dict[tuple[str, int], int]  # (topic, partition) → next offset to read


class Snapshots:
    def __init__(self, db: AsyncDatabase) -> None:
        self.cases = db["metrics_cases"]
        self.positions = db["metrics_positions"]

    async def save(self, engine: MetricsEngine, positions: Positions) -> int:
        dirty = list(engine.dirty)
        if dirty:
            ops = [
                ReplaceOne({"_id": cid}, {"_id": cid, "s": Binary(pickle.dumps(engine.cases[cid], protocol=5))},
                           upsert=True)
                for cid in dirty
            ]  # fmt: skip
            for i in range(0, len(ops), 1000):
                await self.cases.bulk_write(ops[i : i + 1000], ordered=False)
            engine.dirty.difference_update(dirty)
        if positions:
            await self.positions.bulk_write(
                [
                    ReplaceOne({"_id": f"{t}:{p}"}, {"_id": f"{t}:{p}", "topic": t, "partition": p, "offset": o},
                               upsert=True)
                    for (t, p), o in positions.items()
                ],
                ordered=False,
            )  # fmt: skip
        return len(dirty)

    async def load_cases(self) -> AsyncIterator[CaseState]:
        async for doc in self.cases.find({}):
            yield pickle.loads(doc["s"])  # noqa: S301 — our own snapshot, written by this service

    async def load_positions(self) -> Positions:
        return {(d["topic"], d["partition"]): d["offset"] async for d in self.positions.find({})}

    async def restore(self, engine: MetricsEngine, now: datetime) -> tuple[int, Positions]:
        n = engine.restore_all([case async for case in self.load_cases()], now)
        return n, await self.load_positions()

    async def clear(self) -> None:
        await self.cases.delete_many({})
        await self.positions.delete_many({})
