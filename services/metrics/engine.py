"""The live metrics state of one process: case states, the contributions applied from each, and the aggregates.

`MetricsEngine.apply(envelope, now)` runs the pure fold for the envelope's case and replaces that case's old
contributions with its new ones in the aggregates; `take_changed()` returns the cells changed since it was last
called (a publishing round). `tick(now)` re-evaluates cases whose deadline has just passed (a missed deadline
counts at once, not when the case finally closes). Given a `SettledCases` store, only what can still change stays
in memory: `evict_settled()` moves settled cases (`fold.settled`) there, their contributions staying in the
aggregates; a later event for one reloads it first (docs/decisions/0013). Queries (value, scorecard, series,
timeline, progress: `queries.EngineQueries`) read the same state. No I/O here beyond loading the shipped data
(`build_engine`): the writers keep case states in Kafka and drive this; the aggregates are always the sum of the
cases' applied contributions, so they are rebuilt from the cases on start.
"""

from __future__ import annotations

import gc
import heapq
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

import shared.contracts  # noqa: F401  (registers every event type `build_engine` reads)
from services.metrics.aggregates import Aggregates, is_indicator, is_published
from services.metrics.catalogue import READS_REFERENCE, REFERENCE_KINDS, Catalogue, Indicator, load_catalogue
from services.metrics.config import Settings
from services.metrics.fold import CaseState, Contribution, contributions, fold, next_due, settled
from services.metrics.periods import WINDOW_HOURS, current_period, previous_year
from services.metrics.queries import EngineQueries
from services.metrics.reference import Reference, load_reference
from services.metrics.settled_store import SettledCases
from services.metrics.values import HISTOGRAM
from shared.contracts.common import region_ancestors
from shared.events import EventRegistry
from shared.events import registry as default_registry

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


class MetricsEngine(EngineQueries):
    """The state and its changes (the queries come from `EngineQueries`)."""

    def __init__(
        self,
        catalogue: Catalogue,
        reference: Reference,
        known_types: Iterable[str],
        settled: SettledCases | None = None,
        *,
        published_only: bool = False,
    ) -> None:
        """`published_only`: keep only the published cells (a writer's partition engine: its shares are those cells,
        and nobody queries it), not the dimensions and hours a query replica answers from."""
        self.catalogue = catalogue
        self.shipped_reference = reference
        self.reference = reference  # the shipped data with the advisor changes folded from intake's events
        self.advisors: dict[str, str | None] = {}  # village → advisor, from the event stream
        self.advisor_kinds: dict[str, str | None] = {}  # village → its advisor's qualification, from the stream
        self.known_types = set(known_types)
        self.indicators = catalogue.by_id
        self._deadlines = catalogue.deadline_rules
        self.cases: dict[str, CaseState] = {}  # the hot cases: all of them without a `settled` store
        self.settled = settled  # the settled cases, off the heap
        self._settling: set[str] = set()  # hot cases that may be settled: checked by `evict_settled`
        self._trimmed_at: datetime | None = None
        self.applied: dict[str, tuple[Contribution, ...]] = {}
        self.aliases: dict[str, str] = {}  # case id / partner reference → correlation id
        self.aggregates = Aggregates(published_only=published_only)
        self.regions_seen: set[str] = set()
        self._due: list[tuple[datetime, str]] = []  # heap of (next due, correlation id)
        self._readers: dict[str, list[Indicator]] = {}  # indicator → the indicators reading its per-village cells
        for ind in catalogue.indicators:
            if ind.reads:
                self._readers.setdefault(ind.reads, []).append(ind)
        self._next: dict[str, datetime] = {}
        self._reference_moved: set[str] = set()  # regions whose villages or advisors changed since `take_changed`
        self._coverage_keys: set[str] = set()  # coverage cells touched so far (they have no sums to find them by)

    # -- folding ----------------------------------------------------------------------------------------------
    def apply(self, env: Any, now: datetime) -> bool:
        """Fold one envelope; False when it changed nothing (a duplicate)."""
        cid = env.correlationid
        case = self._hot(cid, now) or CaseState(cid)
        new = fold(case, env, self.catalogue)
        if new is case:
            return False
        self._replace(new, now)
        return True

    def take_changed(self) -> set[str]:
        """The aggregate cells changed since the last call, with the cells whose value moved with no sum of their
        own: every published cell of an indicator that reads the reference data under a region whose villages or
        advisors changed, a growth cell whose same period a year earlier changed, and the indicator cells a touched
        histogram bucket (`throughput~3|…`) or per-village cell (villages under target) moves."""
        touched = self.aggregates.take_touched()
        touched |= self._growth_after(touched)
        if self._reference_moved:
            moved, self._reference_moved = self._reference_moved, set()
            reading = {ind.id for ind in self.catalogue.indicators if ind.kind in READS_REFERENCE}
            for key in (*self.aggregates.cells, *self._coverage_keys):
                ind_id, region, _ = key.split("|", 2)
                if region in moved and ind_id in reading and is_published(key):
                    touched.add(key)
        for key in list(touched):
            ind_id, _, rest = key.partition("|")
            ind_id = ind_id.partition(HISTOGRAM)[0]
            touched.add(f"{ind_id}|{rest}")
            touched.update(f"{r.id}|{rest}" for r in self._readers.get(ind_id, ()) if _calendar(rest) in r.periods)
        return touched

    def _growth_after(self, touched: set[str]) -> set[str]:
        """The growth cells a year after the touched ones (growth compares a period with the same one a year
        earlier), where they hold a value."""
        growth = {ind.id for ind in self.catalogue.indicators if ind.kind == "growth"}
        out = set()
        for key in touched:
            ind_id, region, period, dim = key.split("|")
            kind, _, value = period.partition(":")
            if ind_id in growth and previous_year(period) is not None:
                later = f"{ind_id}|{region}|{kind}:{int(value[:4]) + 1:04d}{value[4:]}|{dim}"
                if later in self.aggregates.cells:
                    out.add(later)
        return out

    def publishes(self, cell_key: str) -> bool:
        """A cell published as an indicator value: no dimension, hour or histogram bucket
        (`aggregates.is_indicator`), and a calendar period the indicator offers (not villages' hours by day)."""
        if not is_indicator(cell_key):
            return False
        ind_id, _, rest = cell_key.partition("|")
        ind = self.indicators.get(ind_id)
        return ind is not None and _calendar(rest) in ind.periods

    def restore_all(self, cases: Iterable[CaseState], now: datetime) -> int:
        """Load snapshotted cases (on start): their contributions are re-added at `now`, as state, not as changes
        to publish (what `take_changed` would have returned is dropped). Returns how many."""
        n = 0
        for case in cases:
            self._hot(case.correlation_id, now)  # a later record of a case replaces the earlier, wherever it is
            self._replace(case, now)
            n += 1
        self.aggregates.settle(track=False)
        self.aggregates.take_touched()
        self._reference_moved.clear()
        self.evict_settled(now)
        return n

    def _hot(self, cid: str, now: datetime) -> CaseState | None:
        """The case in memory, reloaded from the settled store if it was there (its contributions, the same at
        any time since it settled, are still in the aggregates)."""
        case = self.cases.get(cid)
        if case is not None or self.settled is None:
            return case
        case = self.settled.take(cid)
        if case is not None:
            self.cases[cid] = case
            self.applied[cid] = contributions(case, now, self.catalogue)
            for alias in (*case.subjects, *case.references):
                self.aliases[alias] = cid
            self._settling.add(cid)  # a duplicate leaves it as settled as it was
        return case

    def evict_settled(self, now: datetime) -> int:
        """Move the hot cases that have settled to the settled store; returns how many."""
        if self.settled is None or not self._settling:
            return 0
        going = [self.cases[cid] for cid in self._settling if cid in self.cases and settled(self.cases[cid], now)]
        self._settling.clear()
        self.settled.put_all((case, (*case.subjects, *case.references)) for case in going)
        for case in going:
            cid = case.correlation_id
            del self.cases[cid]
            self.applied.pop(cid, None)
            self._next.pop(cid, None)
            for alias in (*case.subjects, *case.references):
                if self.aliases.get(alias) == cid:
                    del self.aliases[alias]
        return len(going)

    def trim(self, now: datetime) -> int:
        """Free what can no longer change or be read, in a writer's or a follower's publishing round: settled cases
        (`evict_settled`), and once a day the hour cells older than the longest window. Returns the cases moved."""
        if self._trimmed_at is None or now - self._trimmed_at >= timedelta(days=1):
            self._trimmed_at = now
            self.forget_old_hours(now)
        return self.evict_settled(now)

    def forget_old_hours(self, now: datetime) -> int:
        """Drop (and stop making) the hour cells before the longest rolling window: no query reads them."""
        return self.aggregates.forget_hours_before(now - timedelta(hours=max(WINDOW_HOURS.values()) + 1))

    def all_cases(self) -> Iterator[CaseState]:
        """Every case this engine holds: the hot ones, then the settled ones."""
        yield from self.cases.values()
        if self.settled is not None:
            yield from self.settled

    def _replace(self, case: CaseState, now: datetime) -> None:
        cid = case.correlation_id
        old_case = self.cases.get(cid)
        self.cases[cid] = case
        if self.settled is not None:
            self._settling.add(cid)
        for alias in (*case.subjects, *case.references):
            self.aliases[alias] = cid
        due = next_due(case, now)
        if due is not None and self._next.get(cid) != due:  # one heap entry per due time, not per event
            self._next[cid] = due
            heapq.heappush(self._due, (due, cid))
        new = contributions(case, now, self.catalogue)
        old = self.applied.get(cid, ())
        self._advisor_changed(case, now)
        if new == old and old_case is not None and old_case.region == case.region:
            return
        removed, added = old, new
        if old_case is not None and (old_case.region, old_case.channel) == (case.region, case.channel):
            # only the difference moves: most of a case's contributions survive an event unchanged
            before, after = Counter(old), Counter(new)
            removed, added = tuple((before - after).elements()), tuple((after - before).elements())
        if old_case is not None:
            self.aggregates.add(removed, old_case.region, old_case.channel, -1)
        self.aggregates.add(added, case.region, case.channel, +1)
        self.applied[cid] = new
        if case.region:
            self.regions_seen.add(case.region)

    def _advisor_changed(self, case: CaseState, now: datetime) -> None:
        if case.advisor_known and case.region is not None:
            self.set_advisor(case.region, case.advisor, now, case.advisor_kind)

    def set_advisor(self, village: str, advisor: str | None, now: datetime, kind: str | None = None) -> None:
        """Fold a village's advisor (and their qualification) into the reference data; touches the reference-data
        cells of its regions if it moved."""
        if self.advisors.get(village, "-") == advisor and self.advisor_kinds.get(village) == kind:
            return
        self.advisors[village] = advisor
        self.advisor_kinds[village] = kind
        self.reference = self.shipped_reference.with_advisors(self.advisors, self.advisor_kinds)
        self.regions_seen.add(village)
        regions = region_ancestors(village)
        self._reference_moved.update(regions)
        for ind in self.catalogue.indicators:
            if ind.kind in REFERENCE_KINDS:
                periods = [current_period(k, now) for k in ind.periods if k in ("day", "month", "year")]
                keys = {f"{ind.id}|{r}|{p}|*" for r in regions for p in periods}
                self._coverage_keys |= keys
                self.aggregates.touch(keys)

    def tick(self, now: datetime) -> None:
        """Re-evaluate cases whose earliest open deadline has passed."""
        while self._due and self._due[0][0] <= now:  # a deadline instant is already past (shared.calendar.on_time)
            _, cid = heapq.heappop(self._due)
            self._next.pop(cid, None)
            case = self.cases.get(cid)
            if case is not None:
                self._replace(case, now)


def _calendar(rest: str) -> str:
    """`<region>|<period>|<dimension>` → the period's kind (`month`, `year`, …; `hour` for an hour bucket)."""
    return rest.split("|")[1].partition(":")[0]


def build_engine(
    settings: Settings, registry: EventRegistry = default_registry, settled: SettledCases | None = None
) -> MetricsEngine:
    """An engine over the catalogue and reference data the settings name, empty; settled cases go to `settled`."""
    return MetricsEngine(
        load_catalogue(settings.catalogue_file), load_reference(settings.regions_file), registry.types(), settled
    )


def keep_out_of_gc(what: str) -> None:
    """Collect once, then move the state just restored (it lives as long as the process) out of the cyclic GC's
    reach: full collections then walk only what was created since (docs/decisions/0005)."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    log.info("metrics: %s state frozen out of the GC (%d objects, %.2f s)", what, gc.get_freeze_count(),
             time.perf_counter() - started)  # fmt: skip
