"""The replay's fold: the cases of some by-case partitions, and each partition's share of every cell.

A replay reads every event before anyone reads an indicator, so it folds the cases only (`fold.fold`, pure) and
computes each case's contributions once, at the end (`MetricsEngine.restore_all`, what a writer does on start),
instead of after every event as the live engine does. Each by-case partition (`topics.partition_of` of the
correlation id, as the router places it) gets its own engine, as in the writers (docs/decisions/0003), and sends
its share of every cell and the advisor of every village it names; `reduce_shares` sums them with the reducer's
own `partials.Sums`, so the replay's indicators are built exactly as the published ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from services.metrics.catalogue import Catalogue
from services.metrics.engine import MetricsEngine
from services.metrics.fold import CaseState, fold
from services.metrics.partials import ADVISOR, Sums, share_of
from services.metrics.replay.decode import Replayed

Share = tuple[int, str, list[Any]]  # (by-case partition, cell or advisor name, share)


class PartitionFolds:
    """The folded cases of the by-case partitions this process owns (partition → correlation id → state)."""

    def __init__(self, catalogue: Catalogue, owned: Iterable[int]) -> None:
        self.catalogue = catalogue
        self.cases: dict[int, dict[str, CaseState]] = {p: {} for p in owned}
        self.folded = 0
        self.duplicates = 0

    def fold(self, partition: int, event: Replayed) -> str | None:
        """Fold one event of an owned partition; the reason when the fold fails (the live writer parks the event
        as `fold_failed` then, and the case stays as it was)."""
        cases = self.cases[partition]
        cid = event.correlationid
        case = cases.get(cid) or CaseState(cid)
        try:
            new = fold(case, event, self.catalogue)
        except Exception as exc:  # a fold bug must not stop the replay
            return f"fold failed: {exc!r}"
        if new is case:
            self.duplicates += 1
        else:
            cases[cid] = new
            self.folded += 1
        return None

    def case_count(self) -> int:
        return sum(len(cases) for cases in self.cases.values())

    def event_ids(self) -> dict[str, frozenset[str]]:
        return {cid: case.event_ids for cases in self.cases.values() for cid, case in cases.items()}

    def shares(self, new_engine: Callable[[], MetricsEngine], now: datetime) -> Iterator[Share]:
        """Each partition's share of every cell and advisor, its cases' contributions evaluated at `now`."""
        for partition, cases in self.cases.items():
            engine = new_engine()
            engine.restore_all(cases.values(), now)
            engine.tick(now)
            for name, cell in engine.aggregates.cells.items():
                yield partition, name, list(cell)
            for village in engine.advisors:
                yield partition, ADVISOR + village, share_of(engine, ADVISOR + village)


def reduce_shares(engine: MetricsEngine, shares: Iterable[Share], now: datetime) -> MetricsEngine:
    """The engine (holding no cases) with every cell the sum of the partitions' shares, as the reducer keeps it."""
    sums = Sums(engine)
    for partition, name, share in shares:
        sums.add(partition, name, share, now)
    engine.aggregates.take_touched()
    return engine
