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
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from sys import intern
from typing import Any

from services.metrics.aggregates import is_published
from services.metrics.engine import MetricsEngine
from shared.errors import MalformedEvent

ADVISOR = "@advisor|"
ZERO = [0.0, 0.0, 0.0]
PARTITIONS_AT_MOST = 1024  # a share naming a by-case partition beyond is refused (the reducer holds 3 per cell)


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
        if valid and name and 0 <= int(partition) < PARTITIONS_AT_MOST:
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
    """The writer's side: the records that put a partition's shares on the topic. A cell's share is sent whenever a
    batch touches it (a value: sending an unchanged one moves nothing); an advisor's only when it differs from the
    last one sent (every flush looks at every village, so this is the one thing remembered per partition)."""

    def __init__(self) -> None:
        self.advisors: dict[int, dict[str, list[Any]]] = {}  # partition → advisor name → share sent

    def changes(self, partition: int, engine: MetricsEngine, touched: Iterable[str]) -> list[tuple[bytes, bytes]]:
        """Records for the published cells `touched` and for the advisors that moved."""
        names = sorted(k for k in touched if is_published(k))
        return [encode(partition, name, share_of(engine, name)) for name in names] + self._advisors(partition, engine)

    def everything(
        self, partition: int, engine: MetricsEngine, stale: Iterable[str] = ()
    ) -> Iterator[tuple[bytes, bytes]]:
        """Records that make the topic hold the engine's view of `partition` (a new owner's, after it loaded the
        partition): every published cell and advisor, and an empty share for the `stale` names the topic holds for
        the partition that the engine no longer has (`stale_names`)."""
        self.advisors[partition] = {}
        cells = engine.aggregates.cells
        names = sorted({k for k in cells if is_published(k)} | set(stale))
        yield from (encode(partition, name, share_of(engine, name)) for name in names)  # one at a time: all of them
        yield from self._advisors(partition, engine)

    def _advisors(self, partition: int, engine: MetricsEngine) -> list[tuple[bytes, bytes]]:
        sent = self.advisors.setdefault(partition, {})
        out = []
        for village in sorted(engine.advisors):
            name = ADVISOR + village
            share = share_of(engine, name)
            if sent.get(name) != share:
                sent[name] = share
                out.append(encode(partition, name, share))
        return out


def stale_names(
    records: Iterable[tuple[bytes | None, bytes | None]], engines: Mapping[int, MetricsEngine]
) -> set[tuple[int, str]]:
    """(partition, name) of the shares on the topic, among `records`, for a partition in `engines` that the
    partition's engine no longer holds (a cell gone to zero, an advisor forgotten) and that are not empty yet."""
    out = set()
    for key, value in records:
        try:
            partition, name, share = decode(key, value)
        except MalformedEvent:
            continue  # the reducer dead-letters it
        engine = engines.get(partition)
        if engine is None:
            continue
        if name.startswith(ADVISOR):
            if name.removeprefix(ADVISOR) not in engine.advisors and any(x is not None for x in share):
                out.add((partition, name))
        elif share != ZERO and name not in engine.aggregates.cells:
            out.add((partition, name))
    return out


class Sums:
    """The reducer's side: the latest share of every (partition, cell), summed into an engine that holds no cases.

    A cell's shares are kept as one array of doubles, three per partition (an absent share is zero), and added up
    in partition order, so the sum does not depend on the order the shares arrived in."""

    def __init__(self, engine: MetricsEngine) -> None:
        self.engine = engine
        self.shares: dict[str, array[float]] = {}  # cell → [num, den, amount] of partition 0, then 1, …
        self.advisors: dict[str, dict[int, list[Any]]] = {}  # advisor name → partition → share

    def put(self, key: bytes | None, value: bytes | None, now: datetime) -> None:
        self.add(*decode(key, value), now)

    def add(self, partition: int, name: str, share: list[Any], now: datetime) -> None:
        """Take one decoded share (the replay's worker processes hand theirs over without the topic)."""
        if name.startswith(ADVISOR):  # one village's stream lives in one partition; the lowest naming one wins
            by_partition = self.advisors.setdefault(name, {})
            by_partition[partition] = share
            named = [s for _, s in sorted(by_partition.items()) if s[0] is not None]
            advisor, kind = (named[0][0], named[0][1] if len(named[0]) > 1 else None) if named else (None, None)
            self.engine.set_advisor(name.removeprefix(ADVISOR), advisor, now, kind)
            return
        self._hold(name, partition, share)
        self.engine.aggregates.set_cell(name, self._total(name))

    def add_cells(self, shares: Mapping[int, Mapping[str, Sequence[float]]]) -> None:
        """Take many partitions' shares of many cells at once (the replay's workers'), each cell summed once."""
        names: set[str] = set()
        for partition, cells in shares.items():
            for name, share in cells.items():
                self._hold(name, partition, share)
            names.update(cells)
        set_cell = self.engine.aggregates.set_cell
        for name in names:
            set_cell(name, self._total(name))

    def _hold(self, name: str, partition: int, share: Sequence[float]) -> None:
        held = self.shares.get(name)
        at = 3 * partition
        if held is None:
            held = self.shares[intern(name)] = array("d", bytes(8 * (at + 3)))  # the engine's cell shares the name
        elif len(held) < at + 3:
            held.frombytes(bytes(8 * (at + 3 - len(held))))
        held[at], held[at + 1], held[at + 2] = share

    def _total(self, name: str) -> list[float]:
        held = self.shares[name]
        return [sum(held[0::3]), sum(held[1::3]), sum(held[2::3])]
