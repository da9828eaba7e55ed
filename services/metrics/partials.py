"""Partial sums: each by-case partition's share of every published cell, and how the reducer adds them up.

A writer owns some partitions of the by-case topic (`services.metrics.route`) and folds each partition's cases
into an engine of its own. After a batch it sends, for every published cell (`aggregates.is_published`) the batch
moved, that partition's sums to the compacted topic `<prefix>.metrics.writer-partials` (key `<partition>|<cell>`,
value `[numerator, denominator, amount]`), and the advisor of every village its cases name (key
`<partition>|@advisor|<village>`, value `[advisor or null, qualification or null]`). The topic holds the latest
share of every (partition, cell), so a cell is the sum of its shares: the reducer (`services.metrics.reduce`)
keeps those sums in an engine without cases and publishes indicators from it. A share is a value, not a delta: a
share sent twice, or a new owner sending its partition's shares again after a rebalance, changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from services.metrics.aggregates import is_published
from services.metrics.engine import MetricsEngine
from shared.errors import MalformedEvent

ADVISOR = "@advisor|"
ZERO = [0.0, 0.0, 0.0]


def encode(partition: int, name: str, share: list[Any]) -> tuple[bytes, bytes]:
    return f"{partition}|{name}".encode(), json.dumps(share).encode()


def decode(key: bytes | None, value: bytes | None) -> tuple[int, str, list[Any]]:
    """(partition, cell or advisor name, share); a record that is not a share raises `MalformedEvent`."""
    try:
        partition, _, name = (key or b"").decode().partition("|")
        share = json.loads(value or b"null")
        valid = name.startswith(ADVISOR) and len(share) in (1, 2) and all(
            x is None or isinstance(x, str) for x in share
        ) or len(share) == 3 and all(
            isinstance(x, int | float) for x in share
        )  # fmt: skip
        if valid and name:
            return int(partition), name, share
    except (ValueError, TypeError):
        pass
    raise MalformedEvent(f"not a partial share: key {key!r}", field="key")


def share_of(engine: MetricsEngine, name: str) -> list[Any]:
    if name.startswith(ADVISOR):
        village = name.removeprefix(ADVISOR)
        return [engine.advisors.get(village), engine.advisor_kinds.get(village)]
    return list(engine.aggregates.get(name))


class Shares:
    """The writer's side: what it has sent per partition (what the topic holds for it), to send only what moved."""

    def __init__(self) -> None:
        self.sent: dict[int, dict[str, list[Any]]] = {}

    def load(self, held: dict[bytes, bytes], partitions: set[int]) -> None:
        """Take what the topic holds for `partitions` (a new owner's starting point); forget every other one."""
        self.sent = {p: {} for p in partitions}
        for key, value in held.items():
            partition, name, share = decode(key, value)
            if partition in self.sent:
                self.sent[partition][name] = share

    def changes(
        self, partition: int, engine: MetricsEngine, touched: Iterable[str] | None
    ) -> list[tuple[bytes, bytes]]:
        """Records for the shares of `partition` that differ from what was sent: among the cells `touched` and the
        advisors, or (`touched` None) among everything the engine or the topic holds for it."""
        sent = self.sent.setdefault(partition, {})
        names: set[str] = {ADVISOR + village for village in engine.advisors}
        if touched is None:
            names.update(k for k in engine.aggregates.cells if is_published(k))
            names.update(sent)
        else:
            names.update(k for k in touched if is_published(k))
        out = []
        for name in sorted(names):
            share = share_of(engine, name)
            if sent.get(name, None if name.startswith(ADVISOR) else ZERO) != share:
                sent[name] = share
                out.append(encode(partition, name, share))
        return out


class Sums:
    """The reducer's side: the latest share of every (partition, cell), summed into an engine that holds no cases."""

    def __init__(self, engine: MetricsEngine) -> None:
        self.engine = engine
        self.shares: dict[str, dict[int, list[Any]]] = {}  # cell or advisor name → partition → share

    def put(self, key: bytes | None, value: bytes | None, now: datetime) -> None:
        self.add(*decode(key, value), now)

    def add(self, partition: int, name: str, share: list[Any], now: datetime) -> None:
        """Take one decoded share (the replay's worker processes hand theirs over without the topic)."""
        by_partition = self.shares.setdefault(name, {})
        by_partition[partition] = share
        if name.startswith(ADVISOR):  # one village's stream lives in one partition; the lowest naming one wins
            named = [s for _, s in sorted(by_partition.items()) if s[0] is not None]
            advisor, kind = (named[0][0], named[0][1] if len(named[0]) > 1 else None) if named else (None, None)
            self.engine.set_advisor(name.removeprefix(ADVISOR), advisor, now, kind)
            return
        total = [sum(s[i] for s in by_partition.values()) for i in range(3)]
        self.engine.aggregates.set_cell(name, total)

    def add_cells(self, shares: Mapping[int, Mapping[str, list[float]]]) -> None:
        """Take many partitions' shares of many cells at once (the replay's workers'), each cell summed once."""
        names: set[str] = set()
        for partition, cells in shares.items():
            for name, share in cells.items():
                held = self.shares.get(name)
                if held is None:
                    self.shares[name] = {partition: share}
                else:
                    held[partition] = share
            names.update(cells)
        set_cell = self.engine.aggregates.set_cell
        for name in names:
            parts = self.shares[name].values()
            if len(parts) == 1:
                set_cell(name, next(iter(parts)))
                continue
            num = den = amount = 0.0
            for n, d, a in parts:
                num, den, amount = num + n, den + d, amount + a
            set_cell(name, [num, den, amount])
