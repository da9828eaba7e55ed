"""Aggregates (汇总): the contributions of every case summed per cell `indicator|region|period|dimension`.

A contribution counts in every ancestor region of its case × every period bucket of its hour × the dimensions
`*`, `dept:<department>` and `channel:<channel>`. The published cells (`is_published`) are those without a
dimension or an hour. Pure.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from sys import intern
from typing import TypeAlias

from services.metrics.fold import Contribution
from services.metrics.periods import hour_bucket, hour_of, period_keys
from services.metrics.values import HISTOGRAM
from shared.contracts.common import region_ancestors


def cell_keys(
    indicator: str, department: str, period: str, region: str, channel: str | None, *, published_only: bool = False
) -> list[str]:
    """The cells a contribution in one period bucket (`period_keys`) counts in: every ancestor region × the
    dimensions `*`, `dept:<department>` and `channel:<channel>` (only `*` when `published_only`)."""
    return [head + period + tail for head, tail in _places(indicator, department, region, channel, published_only)]


@lru_cache(maxsize=65536)
def _places(
    indicator: str, department: str, region: str, channel: str | None, published_only: bool
) -> tuple[tuple[str, str], ...]:
    """The parts of a cell key around its period, for every ancestor region and dimension."""
    dims = ["*"] if published_only else ["*", f"dept:{department}"] + ([f"channel:{channel}"] if channel else [])
    return tuple((f"{indicator}|{r}|", f"|{d}") for r in _ancestors(region) for d in dims)


def is_published(cell_key: str) -> bool:
    """Cells published as indicators (and summed across writers): every region and calendar period, no
    dimension and no hour (those are read by queries, off each replica's own state)."""
    return cell_key.endswith("|*") and "|hour:" not in cell_key


def is_indicator(cell_key: str) -> bool:
    """Published cells read as an indicator's value: not a histogram bucket (`throughput~3|…`), which only feeds
    its indicator's median."""
    return is_published(cell_key) and HISTOGRAM not in cell_key.partition("|")[0]


@lru_cache(maxsize=65536)
def _ancestors(region: str) -> tuple[str, ...]:
    return tuple(region_ancestors(region))


_MAX_PENDING = 100_000
Cell: TypeAlias = "array[float]"  # [numerator, denominator, amount]: three doubles, half a list of floats' bytes


class Aggregates:
    """Sums per cell `indicator|region|period|dimension`: [numerator, denominator, amount] (a `Cell`).

    `add` only sums the change per (indicator, department, hour, region, channel); `settle` spreads the net
    changes over the cells (every ancestor region × period bucket × dimension). Between two settles, the events
    of one village, hour and indicator merge into one change (or cancel), and the hours of one day, month or year
    into one change of that bucket, so a batch costs what its distinct places and buckets cost, not what its
    events cost. Reads settle first, so they never see a half-applied batch.
    """

    def __init__(self, *, published_only: bool = False) -> None:
        #: only the published cells (`is_published`): a writer's partition engines, whose other cells nobody reads
        self.published_only = published_only
        self._cells: dict[str, Cell] = {}
        self._pending: dict[tuple[str, str, datetime, str, str | None], list[float]] = {}
        self._touched: set[str] = set()  # cells changed since `take_touched`
        self._hours_from = ""  # hour cells before this bucket are forgotten (`forget_hours_before`), never made

    @property
    def cells(self) -> dict[str, Cell]:
        self.settle()
        return self._cells

    def add(self, contribs: Iterable[Contribution], region: str | None, channel: str | None, sign: int) -> None:
        if region is None:
            return  # a case that never told its region cannot be placed
        pending = self._pending
        for c in contribs:
            key = (c.indicator, c.department, hour_of(c.at), region, channel)
            delta = pending.get(key)
            if delta is None:
                delta = pending[key] = [0.0, 0.0, 0.0]
            delta[0] += sign * c.num
            delta[1] += sign * c.den
            delta[2] += sign * c.amount
        if len(pending) > _MAX_PENDING:  # a long replay without reads (rebuild, restore) settles as it goes
            self.settle()

    def set_cell(self, key: str, values: Sequence[float]) -> None:
        """Set one cell directly (the reducer, summing the writers' shares of it); touched only if it moved."""
        self.settle()
        num, den, amount = values
        cell = self._cells.get(key)
        if num == 0 and den == 0 and abs(amount) < 1e-9:
            if cell is None:
                return
            del self._cells[key]
        elif cell is None:
            self._cells[intern(key)] = array("d", (num, den, amount))
        elif (cell[0], cell[1], cell[2]) == (num, den, amount):
            return
        else:
            cell[0], cell[1], cell[2] = num, den, amount
        self._touched.add(key)

    def touch(self, keys: Iterable[str]) -> None:
        """Cells whose value moved without a contribution (e.g. a reference-data change)."""
        self._touched.update(keys)

    def settle(self, *, track: bool = True) -> None:
        """Spread the pending changes over their cells; `track=False` leaves them out of `take_touched` (a state
        restored, not news to publish). The changes are first summed per period bucket (the hours of one day
        merge into one day change, the days of a month into one month change), then spread over the regions and
        dimensions: a batch costs what its distinct places and buckets cost."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        hours_from = self._hours_from
        buckets: dict[tuple[str, str, str, str | None, str], list[float]] = {}
        for (indicator, department, hour, region, channel), (num, den, amount) in pending.items():
            if num == 0 and den == 0 and abs(amount) < 1e-9:
                continue  # added and removed within the batch: no cell moves
            periods = period_keys(hour)
            if self.published_only or hours_from and periods[-1] < hours_from:
                periods = periods[:-1]  # the hour bucket (last): not published, or a forgotten hour
            for period in periods:
                bucket = (indicator, department, region, channel, period)
                delta = buckets.get(bucket)
                if delta is None:
                    buckets[bucket] = [num, den, amount]
                else:
                    delta[0] += num
                    delta[1] += den
                    delta[2] += amount
        cells = self._cells
        touched = self._touched if track else None
        for (indicator, department, region, channel, period), (num, den, amount) in buckets.items():
            if num == 0 and den == 0 and abs(amount) < 1e-9:
                continue
            keys = cell_keys(indicator, department, period, region, channel, published_only=self.published_only)
            for key in keys:
                cell = cells.get(key)
                if cell is None:
                    cells[intern(key)] = array("d", (num, den, amount))  # one key string per process
                    continue
                cell[0] += num
                cell[1] += den
                cell[2] += amount
                if cell[0] == 0 and cell[1] == 0 and abs(cell[2]) < 1e-9:
                    del cells[key]
            if touched is not None:
                touched.update(keys)

    def take_touched(self) -> set[str]:
        """The cells changed since the last call (settling first)."""
        self.settle()
        touched, self._touched = self._touched, set()
        return touched

    def forget_hours_before(self, cutoff: datetime) -> int:
        """Drop the hour cells of hours before `cutoff`'s (only the last-24h / last-7d windows read hour cells, and
        never before their start): what keeps a long-running writer's cells from growing by the hour. Returns how
        many. A late change to a forgotten hour makes no hour cell."""
        oldest = self._hours_from = max(self._hours_from, hour_bucket(cutoff))
        self.settle()
        cells = self._cells
        old = [k for k in cells if (h := k.find("|hour:")) >= 0 and k[h + 1 : k.index("|", h + 1)] < oldest]
        for key in old:
            del cells[key]
        return len(old)

    def get(self, key: str) -> tuple[float, float, float]:
        cell = self.cells.get(key)  # `cells` settles
        return (cell[0], cell[1], cell[2]) if cell else (0.0, 0.0, 0.0)

    def window(self, indicator: str, region: str, dim: str, now: datetime, hours: int) -> tuple[float, float, float]:
        num = den = amount = 0.0
        for h in range(hours):
            n, d, a = self.get(f"{indicator}|{region}|{hour_bucket(now - timedelta(hours=h))}|{dim}")
            num, den, amount = num + n, den + d, amount + a
        return num, den, amount
