"""What the console computes for its pages: times in China time with the zone, how long a department held a case,
the trend chart's axis for the chosen period, swimlane chips that neither overlap nor run off, and region names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.console import charts, regions
from services.console.handlers import trend_of
from services.console.pages import _lanes, chip_width
from services.console.rendering import held_for, region_label, when
from services.metrics.reference import load_regions
from shared.contracts.common import region_ancestors


def test_times_are_shown_in_china_time_with_the_zone():
    """Periods are China dates (DOMAIN, counting periods: days end at 24:00 China Standard Time), so the times
    shown beside them are China time, with the zone said."""
    assert when("2026-12-04T08:05:00+00:00") == "2026-12-04 16:05 CST (UTC+8)"
    assert when("2026-12-04T20:30:00Z") == "2026-12-05 04:30 CST (UTC+8)"  # the China day after
    assert when("2026-12-04T08:05:00") == "2026-12-04 16:05 CST (UTC+8)"  # the services write UTC
    assert when("2026-12-10") == "2026-12-10"  # a notary's due date is a China date already
    assert when(None) == "—" and when("soon") == "soon"


@pytest.mark.parametrize(
    ("hours", "shown"),
    [(0.0, "<1 min"), (40 / 3600, "<1 min"), (12 / 60, "12 min"), (59.4 / 60, "59 min"), (59.7 / 60, "1.0 h"),
     (3.4, "3.4 h"), (250.0, "250.0 h")],
)  # fmt: skip
def test_time_held_is_shown_in_minutes_or_hours_never_zero_hours(hours, shown):
    assert held_for(hours) == shown


@pytest.mark.parametrize(
    ("period", "now", "trend"),
    [
        ("year", datetime(2026, 12, 4, 8, tzinfo=UTC), ("month", 12)),  # January to December 2026, not 1997–2026
        ("year", datetime(2026, 12, 31, 17, tzinfo=UTC), ("month", 1)),  # already 2027-01-01 in China
        ("month", datetime(2026, 3, 9, 1, tzinfo=UTC), ("day", 9)),
        ("day", datetime(2026, 3, 9, 1, tzinfo=UTC), ("day", 7)),
        ("last-7d", datetime(2026, 3, 9, 1, tzinfo=UTC), ("day", 7)),
        ("last-24h", datetime(2026, 3, 9, 1, tzinfo=UTC), ("day", 2)),
    ],
)
def test_the_trend_chart_covers_the_chosen_period_in_china_time(period, now, trend):
    assert trend_of(period, now) == trend


def test_swimlane_chips_do_not_overlap_and_stay_on_the_track():
    t0 = datetime(2026, 3, 2, 1, tzinfo=UTC)
    at = [t0, t0 + timedelta(seconds=1), t0 + timedelta(seconds=2), t0 + timedelta(hours=5)]
    names = ["application_received", "application_reviewed", "provider_assigned", "confirmation_window_lapsed"]
    steps = [{"at": a.isoformat(), "department": "legal_aid", "event_type": f"caseflow.legal_aid.{n}"}
             for a, n in zip(at, names, strict=True)]  # fmt: skip
    [lane] = _lanes({"steps": steps, "hours_in_department": {"legal_aid": 5.0}})
    assert lane["held"] == "5.0 h"
    chips = lane["chips"]
    assert len({c["top"] for c in chips[:3]}) == 3  # three steps within seconds: three rows, not one heap
    boxes = [(float(c["left"]), float(c["left"]) + chip_width(c["name"]), c["top"]) for c in chips]
    for i, (l1, r1, top1) in enumerate(boxes):
        assert 0 <= l1 and r1 <= 100.05  # the last chip is pulled back onto the track (to the shown 0.1 %)
        assert all(top1 != top2 or r1 <= l2 or r2 <= l1 for l2, r2, top2 in boxes[i + 1 :])
    assert chips[-1]["title"].endswith("CST (UTC+8)")


def test_every_region_of_the_reference_data_and_its_ancestors_has_a_name():
    rf = load_regions()
    codes = {r.code for r in rf.regions} | {v.code for v in rf.villages}
    for code in codes | {a for c in codes for a in region_ancestors(c)}:
        region = regions.get(code)
        assert region.name_zh != code and region.name_en != code, code
        assert all(r.name_zh != r.code for r in regions.ancestors(code)), code
    assert region_label("500100000000") == "重庆市市辖区 Chongqing municipal districts"
    assert region_label("110101000000") == "未登记 not on record (110101000000)"  # said so, not a bare code twice


def test_the_trend_axis_labels_its_first_and_last_period_inside_the_chart():
    months = [(f"2026-{m:02d}", float(m)) for m in range(1, 13)]
    svg = str(charts.line_chart(months, title="t"))
    assert 'text-anchor="start" class="tick">2026-01<' in svg and 'text-anchor="end" class="tick">2026-12<' in svg
    assert "2025" not in svg  # the axis is this year's months only
