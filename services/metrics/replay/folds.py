"""The replay's fold: the cases of some by-case partitions, and each partition's share of every cell.

A replay reads every event before anyone reads an indicator, so it folds the cases only (`fold.fold`, pure) and
computes each case's contributions once, at the end (`MetricsEngine.restore_all`, what a writer does on start),
instead of after every event as the live engine does. A worker owns some by-case partitions (`topics.partition_of`
of the correlation id, as the router places them, docs/decisions/0003) and hands over its share of every cell and
each partition's advisor of every village; `reduce_shares` sums them with the reducer's own `partials.Sums`, so
the replay's indicators are built as the published ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.metrics.aggregates import Cell
from services.metrics.catalogue import Catalogue
from services.metrics.engine import MetricsEngine
from services.metrics.fold import CaseState, fold
from services.metrics.partials import ADVISOR, Sums
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

    def shares(self, engine: MetricsEngine, now: datetime, source: int) -> FoldedShares:
        """Every cell's sum over these partitions' cases (their contributions evaluated at `now`, spread by one
        engine: cells add up, so one engine for all of them spreads each place and hour once), and each
        partition's advisor of every village its cases name (the reducer keeps the lowest partition's)."""
        engine.forget_old_hours(now)  # as the writers trim them: only the rolling windows read hour cells
        engine.restore_all((case for cases in self.cases.values() for case in cases.values()), now)
        engine.tick(now)
        advisors: list[Share] = []
        for partition, cases in self.cases.items():
            named = {c.region: [c.advisor, c.advisor_kind] for c in cases.values() if c.advisor_known and c.region}
            advisors.extend((partition, ADVISOR + village, share) for village, share in named.items())
        return FoldedShares(source, engine.aggregates.cells, advisors)


@dataclass
class FoldedShares:
    """What one replay worker hands over: its cells' sums (as the share of `source`) and its advisors."""

    source: int
    cells: dict[str, Cell]
    advisors: list[Share]


def reduce_shares(engine: MetricsEngine, shares: Iterable[FoldedShares], now: datetime) -> MetricsEngine:
    """The engine (holding no cases) with every cell the sum of the workers' shares and each village's advisor the
    lowest partition's, as the reducer (`partials.Sums`) keeps them."""
    sums = Sums(engine)
    held = list(shares)
    sums.add_cells({s.source: s.cells for s in held})
    for s in held:
        for partition, name, share in s.advisors:
            sums.add(partition, name, share, now)
    engine.aggregates.take_touched()
    return engine
