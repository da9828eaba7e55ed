"""Settled cases leave memory (docs/decisions/0013): the aggregates, timelines and progress stay what a fold that
keeps every case in memory gives, late events reload a case, and redeliveries never count twice."""

from __future__ import annotations

import logging
import random
from datetime import timedelta
from pathlib import Path

import pytest

from bench.closed_cases import case_events, closed_cases
from services.metrics.engine import MetricsEngine
from services.metrics.settled_store import SettledCases, process_stores
from tests.unit.metrics.helpers import engine


def evicting(tmp_path: Path) -> MetricsEngine:
    e = engine()
    e.settled = SettledCases.fresh(tmp_path / "settled")
    return e


def fold_all(e: MetricsEngine, cases: list[list]) -> None:  # type: ignore[type-arg]
    for events in cases:
        for ev in events:
            e.apply(ev, ev.time)
        e.tick(events[-1].time)
        e.evict_settled(events[-1].time)


def test_a_closed_case_with_settled_deadlines_leaves_memory_and_stays_queryable(tmp_path: Path) -> None:
    """A legal aid case reviewed (7 days, 法律援助法 art. 43), assigned (3 days, art. 44) and closed: its final
    marks stay in the aggregates, its timeline and progress answer the same from the settled store."""
    rng = random.Random(1)
    cases = [case_events(3, rng)]  # i % 5 == 3: intake → legal aid → closed
    hot, cold = engine(), evicting(tmp_path)
    fold_all(hot, cases)
    fold_all(cold, cases)
    end = cases[0][-1].time + timedelta(days=1)
    assert "cs-3" in hot.cases and cold.cases == {} and len(cold.settled or []) == 1
    assert cold.aggregates.cells == hot.aggregates.cells
    for any_id in ("cs-3", "la-3", "rq-3"):
        assert cold.timeline(any_id, end) == hot.timeline(any_id, end)
        assert cold.progress(any_id, end) == hot.progress(any_id, end)
    assert cold.progress("la-3", end)["status"] == "case_closed"


def test_an_open_deadline_keeps_a_closed_case_in_memory_until_it_is_missed(tmp_path: Path) -> None:
    """A mediation agreement with its 30-day judicial confirmation window (人民调解法 art. 33) still open keeps the
    case hot after archiving; once the window has passed (missed) it settles and leaves."""
    rng = random.Random(2)
    events = case_events(4, rng)  # i % 5 == 4: mediation
    cold = evicting(tmp_path)
    signed = next(ev for ev in events if ev.type.endswith("agreement_signed"))
    archived = type(events[-1])(**{**vars(events[-1]), "time": signed.time + timedelta(days=1)})
    archived.data = {**archived.data, "archived_at": archived.time.isoformat()}
    for ev in (*events[: events.index(signed) + 1], archived):
        cold.apply(ev, ev.time)
    cold.evict_settled(archived.time)
    assert "cs-4" in cold.cases  # the confirmation deadline is pending
    later = signed.time + timedelta(days=31)
    cold.tick(later)
    cold.evict_settled(later)
    assert cold.cases == {}
    assert cold.timeline("md-4", later)["deadlines"][0]["status"] == "missed"


def test_a_late_event_reloads_the_case_and_a_redelivery_counts_once(tmp_path: Path) -> None:
    """A late event for a settled case (a confirmation requested after archiving) is folded into it, as a fold
    without eviction folds it; the same event delivered again after a restart counts once."""
    rng = random.Random(3)
    cases = [case_events(i, rng) for i in range(20)]
    hot, cold = engine(), evicting(tmp_path)
    fold_all(hot, cases)
    fold_all(cold, cases)
    assert cold.cases == {}
    requested = next(ev for ev in cases[4] if ev.type.endswith("confirmation_requested"))
    late = type(requested)(**{**vars(requested), "id": "cs-4-late", "time": cases[4][-1].time + timedelta(days=90)})
    for e in (hot, cold):
        assert e.apply(late, late.time)
        e.evict_settled(late.time)
    assert cold.cases == {} and cold.aggregates.cells == hot.aggregates.cells
    assert "cs-4-late" in cold.resolve("cs-4").event_ids
    # a restart: the changelog's cases restored into a new engine, then the late event redelivered
    restarted = evicting(tmp_path / "restart")
    restarted.restore_all(list(cold.all_cases()), late.time)
    assert not restarted.apply(late, late.time)
    restarted.evict_settled(late.time)
    assert restarted.cases == {} and restarted.aggregates.cells == hot.aggregates.cells


@pytest.mark.timeout(900)  # ~100 s on an idle 2-core machine, several minutes when it is shared
def test_memory_stays_bounded_over_200000_closed_cases(tmp_path: Path) -> None:
    """200,000 cases through intake, legal aid and mediation, closed with their deadlines met or missed, folded with
    the writer's publishing rounds (`trim`): the hot state never holds more than the cases still open (none at the
    end), and the aggregates equal those of a fold that keeps every case in memory (compared on the first 10,000,
    with the same rounds)."""
    cold, reference = evicting(tmp_path), engine()
    most_hot = 0
    for i, events in enumerate(closed_cases(200_000)):
        for ev in events:
            cold.apply(ev, ev.time)
            if i < 10_000:
                reference.apply(ev, ev.time)
        if i % 500 == 499:  # a publishing round: deadlines passed, settled cases leave, old hour cells go
            now = events[-1].time
            for e in (cold, reference) if i < 10_000 else (cold,):
                e.tick(now)
                e.trim(now)
                e.take_changed()
            most_hot = max(most_hot, len(cold.cases))
        if i == 9_999:
            assert len(reference.cases) == 10_000 and cold.aggregates.cells == reference.aggregates.cells
            del reference
    end = events[-1].time + timedelta(days=60)
    cold.tick(end)
    cold.trim(end)
    assert most_hot <= 500  # the cases opened since the last round at most: bounded, whatever the total
    assert len(cold.cases) == 0 and len(cold.applied) == 0 and cold.case_count == 200_000
    assert len(cold.aliases) == 0 and len(cold.settled or []) == 200_000


def test_a_corrupted_store_left_behind_is_named_in_the_log_and_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A store a dead process left (here: truncated to garbage) is not trusted: it is logged and removed."""
    left = tmp_path / "settled" / "writer" / "999999999" / "stores-x" / "g0-p0"
    left.mkdir(parents=True)
    (left / "CURRENT").write_text("garbage\n")
    with caplog.at_level(logging.INFO):
        mine = process_stores(tmp_path, "writer")
    assert not left.exists() and mine.is_dir()
    assert process_stores(tmp_path, "writer").is_dir() and mine.is_dir()  # a second writer of this process: kept
    assert any("g0-p0" in r.message and "rebuilding from the changelog" in r.message for r in caplog.records)


def test_trim_drops_hour_cells_no_window_reads_and_keeps_the_windows(tmp_path: Path) -> None:
    """Hour cells feed only the last-24h / last-7d windows: past the longest window they go, the windows, days,
    months and years keep their values."""
    cold = evicting(tmp_path)
    cases = list(closed_cases(200))
    fold_all(cold, cases)
    now = max(ev.time for case in cases for ev in case) + timedelta(days=2)
    region = "431000000000"
    asked = [("throughput", "last-7d"), ("throughput", "last-24h"), ("aid_reviewed_on_time", "year:2026")]

    def values() -> list[tuple[float, float]]:
        return [(v.numerator, v.denominator) for v in (cold.value(i, region, p, now) for i, p in asked)]

    before = values()
    assert before[0][0] > 0 and before[2] == (7, 8)  # one review in eight past its 7 days (法律援助法 art. 43)
    hours = sum("|hour:" in k for k in cold.aggregates.cells)
    cold.trim(now)
    left = [k for k in cold.aggregates.cells if "|hour:" in k]
    assert 0 < len(left) < hours
    assert all(k.split("|")[2] >= f"hour:{(now - timedelta(hours=169)).isoformat()[:13]}" for k in left)
    assert values() == before


def test_a_late_event_for_a_forgotten_hour_counts_in_its_day_and_year_but_makes_no_hour_cell(tmp_path: Path) -> None:
    """After a trim, hour cells before the longest window are never made again (no window reads them), while the
    calendar periods of the late event's hour still count it."""
    cold, hot = evicting(tmp_path), engine()
    cases = list(closed_cases(40))
    early, late = cases[:-1], cases[-1]
    now = max(ev.time for case in cases for ev in case) + timedelta(days=30)
    fold_all(cold, early)
    fold_all(hot, cases)
    cold.trim(now)
    fold_all(cold, [late])  # its hours lie before the window now
    hot.forget_old_hours(now)
    floor = f"hour:{(now - timedelta(hours=169)).isoformat()[:13]}"
    assert all(k.split("|")[2] >= floor for k in cold.aggregates.cells if "|hour:" in k)
    assert cold.aggregates.cells == hot.aggregates.cells  # days, months and years: as if it had come in time
