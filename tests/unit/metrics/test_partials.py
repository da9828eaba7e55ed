"""Partitioned folding without a broker: cases split by their by-case partition into one engine each, their shares
summed by the reducer's `Sums`, give every published indicator one engine folding everything gives; shares are
values, so sending them again or a new owner taking a partition over changes nothing."""

from __future__ import annotations

import pytest

from services.metrics.aggregates import is_published
from services.metrics.engine import MetricsEngine
from services.metrics.partials import ADVISOR, Shares, Sums, decode, encode, stale_names
from services.metrics.periods import current_period
from services.metrics.topics import partition_of
from shared.envelope import Envelope
from shared.errors import MalformedEvent
from tests.unit.metrics.helpers import (
    CHENZHOU_VILLAGE,
    EZHOU_TOWN,
    SHAOGUAN_VILLAGE,
    T0,
    applied,
    assigned,
    days,
    engine,
    env,
    notified,
    reviewed,
)

PARTITIONS = 3
NOW = T0 + days(40)


def stories(n: int) -> list[Envelope]:
    out: list[Envelope] = []
    for i in range(n):
        region = (CHENZHOU_VILLAGE, SHAOGUAN_VILLAGE, EZHOU_TOWN)[i % 3]
        out += [notified(f"n-{i}", region, T0 + days(i % 5)), assigned(f"n-{i}", T0 + days(i % 5 + 1))]
        out += [applied(f"a-{i}", region, T0 + days(i % 7)), reviewed(f"a-{i}", T0 + days(i % 7 + 2))]
    village, stream = "431002100002", "adv-431002100002"  # no advisor in the shipped data: one from the events
    out.append(env("caseflow.intake.advisor_assigned", stream, T0 + days(1), id="adv-1", village_region=village,
                   advisor_id="adv-431-0099", assigned_at=T0 + days(1)))  # fmt: skip
    return out


class Partitioned:
    """What the writers do between them: one engine per partition (published cells only), each flush's changed
    shares summed."""

    def __init__(self) -> None:
        self.engines = {p: engine(published_only=True) for p in range(PARTITIONS)}
        self.shares = Shares()
        self.sums = Sums(engine())
        self.sent = 0

    def fold(self, events: list[Envelope]) -> None:
        for e in events:
            self.engines[partition_of(e.correlationid.encode(), PARTITIONS)].apply(e, NOW)
        for p, eng in self.engines.items():
            self.send(self.shares.changes(p, eng, eng.take_changed()))

    def send(self, records: list[tuple[bytes, bytes]]) -> None:
        self.sent += len(records)
        for key, value in records:
            self.sums.put(key, value, NOW)


def assert_same_indicators(summed: MetricsEngine, whole: MetricsEngine) -> None:
    cells = {k for k in whole.aggregates.cells if is_published(k)} | {
        k for k in summed.aggregates.cells if is_published(k)
    }
    assert cells
    for key in sorted(cells):
        assert summed.value_of_cell(key, NOW) == whole.value_of_cell(key, NOW), key
    coverage = "advisor_coverage|431002000000|month:2026-04|*"
    assert summed.value_of_cell(coverage, NOW) == whole.value_of_cell(coverage, NOW)
    assert summed.value_of_cell(coverage, NOW).numerator == 48  # the advisor from the events, not only the shipped


def test_shares_of_every_partition_sum_to_what_one_engine_folds():
    events = stories(30)
    whole = engine()
    for e in events:
        whole.apply(e, NOW)
    parted = Partitioned()
    parted.fold(events[:50])
    parted.fold(events[50:])
    assert len({p for p, eng in parted.engines.items() if eng.cases}) == PARTITIONS  # the cases did spread
    assert_same_indicators(parted.sums.engine, whole)

    sent = parted.sent
    parted.fold(events)  # redelivered: no case moves, no share is sent again
    assert parted.sent == sent


def test_a_new_owner_puts_its_view_on_the_topic_including_cells_gone_to_zero():
    events = stories(12)
    parted = Partitioned()
    parted.fold(events)
    topic = {}  # the compacted partials topic: latest share per key
    for p, eng in parted.engines.items():
        for key, value in Shares().everything(p, eng):
            topic[key] = value
    # partition 0's owner dies; its successor recovers fewer cases (say, one case's later events were never
    # folded into the changelog and will be folded again): one cell it held is now zero
    p0 = parted.engines[0]
    successor = engine(published_only=True)
    kept = sorted(p0.cases)[1:]
    successor.restore_all([p0.cases[c] for c in kept], NOW)
    stale = {name for _, name in stale_names(topic.items(), {0: successor})}
    assert stale and stale.isdisjoint(successor.aggregates.cells)
    records = list(Shares().everything(0, successor, stale))
    zeros = [decode(k, v)[1] for k, v in records if decode(k, v)[2] == [0.0, 0.0, 0.0]]
    assert sorted(zeros) == sorted(stale)  # cells only the lost case filled are emptied, not left at the old value
    topic.update(records)
    held = {name: share for p, name, share in map(decode, *zip(*topic.items(), strict=True)) if p == 0}
    assert {n: s for n, s in held.items() if s != [0.0, 0.0, 0.0]} == {
        k: list(v) for k, v in successor.aggregates.cells.items() if is_published(k)
    }  # the topic now holds exactly the successor's view of partition 0
    assert stale_names(topic.items(), {0: successor}) == set()


def test_shares_sent_again_publish_nothing_new():
    parted = Partitioned()
    parted.fold(stories(6))
    parted.sums.engine.take_changed()
    for p, eng in parted.engines.items():  # a new owner sends every share again: all of them unchanged
        parted.send(list(Shares().everything(p, eng)))
    assert parted.sums.engine.take_changed() == set()


def test_the_reducer_sums_shares_in_partition_order_whatever_order_they_arrive_in():
    shares = [(2, [0.1, 1.0, 0.0]), (0, [0.2, 1.0, 0.0]), (1, [0.3, 1.0, 0.0])]
    one, other = Sums(engine()), Sums(engine())
    for p, share in shares:
        one.add(p, "cell|*", share, NOW)
    for p, share in reversed(shares):
        other.add(p, "cell|*", share, NOW)
    expected = [0.2 + 0.3 + 0.1, 3.0, 0.0]  # partition 0, 1, 2: float sums depend on the order
    assert list(one.engine.aggregates.cells["cell|*"]) == list(other.engine.aggregates.cells["cell|*"]) == expected


def test_advisor_shares_carry_an_unassignment():
    parted = Partitioned()
    stream, village = "adv-431002001001", "431002001001"  # the shipped data names an advisor here
    off = env("caseflow.intake.advisor_unassigned", stream, T0 + days(2), id="adv-2", village_region=village,
              advisor_id="adv-431-0001", unassigned_at=T0 + days(2))  # fmt: skip
    whole = engine()
    whole.apply(off, NOW)
    parted.fold([off])
    coverage = "advisor_coverage|431002000000|month:2026-04|*"
    assert parted.sums.engine.value_of_cell(coverage, NOW) == whole.value_of_cell(coverage, NOW)
    p = partition_of(stream.encode(), PARTITIONS)
    assert decode(*encode(p, ADVISOR + village, [None])) == (p, ADVISOR + village, [None])


@pytest.mark.parametrize(
    ("key", "value"),
    [(None, b"[1,2,3]"), (b"x|cell", b"[1,2,3]"), (b"0|cell", b"not json"), (b"0|cell", b"[1,2]"),
     (b"0|cell", b'["a","b","c"]'), (b"0|", b"[1,2,3]"), (b"0|@advisor|v", b"[1,2]"), (b"-1|cell", b"[1,2,3]"),
     (b"1024|cell", b"[1,2,3]")],
)  # fmt: skip
def test_a_record_that_is_not_a_share_is_refused(key, value):
    with pytest.raises(MalformedEvent):
        decode(key, value)


def test_the_median_and_the_advisors_qualification_reach_the_reducer():
    """DOMAIN.md throughput (median handling time) and seed 000 indicator 18 (advisors' qualifications): the
    handling-time histogram and each advisor's qualification travel as shares, so the reducer publishes the same
    median and lawyer share one engine folding everything reads."""
    events: list[Envelope] = []
    for i in range(9):
        events += [applied(f"c-{i}", CHENZHOU_VILLAGE, T0),
                   env("caseflow.legal_aid.case_closed", f"c-{i}", T0 + days(i * 0.3), closed_at=T0)]  # fmt: skip
    village = "431002100002"
    events.append(env("caseflow.intake.advisor_assigned", f"adv-{village}", T0, id="adv-q", village_region=village,
                      advisor_id="adv-q", assigned_at=T0, advisor_kind="other"))  # fmt: skip
    whole = engine()
    for e in events:
        whole.apply(e, NOW)
    parted = Partitioned()
    parted.fold(events)
    summed = parted.sums.engine
    cell = "throughput|431000000000|month:2026-03|*"
    median = whole.value_of_cell(cell, NOW).extra["median_handling_hours"]
    assert summed.value_of_cell(cell, NOW).extra["median_handling_hours"] == pytest.approx(median)
    share = "advisor_lawyer_share|431002100000|month:2026-03|*"
    assert summed.value_of_cell(share, NOW) == whole.value_of_cell(share, NOW)
    assert summed.reference.kinds[village] == "other"


def test_published_hours_per_village_move_when_a_new_village_joins_the_province():
    """村居法律顾问 service hours per village (seed 000: ≥50 h a year): the reducer's published value follows the
    villages counted, so when an advisor is assigned to a village not on record in another city of the province,
    the province's hours per village are published again and equal what one engine folding everything serves."""
    parted = Partitioned()
    published: dict[str, tuple[float | None, float, float]] = {}  # the latest value per cell, as the reducer sends

    def publish() -> None:
        for key in parted.sums.engine.take_changed():
            if is_published(key):
                v = parted.sums.engine.value_of_cell(key, NOW)
                published[key] = (v.value, v.numerator, v.denominator)

    def logged(village: str, n: int, hours: float) -> Envelope:
        return env("caseflow.intake.advisor_service_logged", f"adv-{village}", T0 + days(n), id=f"log-{village}-{n}",
                   village_region=village, advisor_id="adv-x", hours=hours, kind="consultation",
                   served_on=(T0 + days(n)).date().isoformat(), logged_at=T0 + days(n))  # fmt: skip

    changsha = "430102001001"  # a second Hunan city, not in the shipped reference data
    events = [
        logged(CHENZHOU_VILLAGE, 1, 6.0),
        env("caseflow.intake.advisor_assigned", f"adv-{changsha}", T0 + days(2), id="adv-cs", village_region=changsha,
            advisor_id="adv-430-0001", assigned_at=T0 + days(2)),
        logged(changsha, 3, 2.0),
    ]  # fmt: skip
    whole = engine()
    for e in events:
        whole.apply(e, NOW)
        parted.fold([e])
        publish()
    province = [k for k in published if k.startswith("advisor_hours|430000000000|")]
    assert province
    for key in province:
        served = whole.value_of_cell(key, NOW)
        assert published[key] == (served.value, served.numerator, served.denominator), key
    on_record = len(engine().reference.villages_under("430000000000"))
    assert published["advisor_hours|430000000000|year:2026|*"] == (8.0 / (on_record + 1), 8.0, on_record + 1.0)


def test_coverage_published_on_an_earlier_day_moves_when_an_advisor_changes_later():
    """村居法律顾问覆盖率 (seeds 000–002: 100%) reads the advisors on record: a day's coverage published yesterday
    is published again when an advisor leaves today, so it equals what the query API serves for that day."""
    village, stream = "431002001001", "adv-431002001001"
    yesterday, today = NOW - days(1), NOW
    on = env("caseflow.intake.advisor_assigned", stream, yesterday, id="adv-on", village_region=village,
             advisor_id="adv-431-0009", assigned_at=yesterday)  # fmt: skip
    off = env("caseflow.intake.advisor_unassigned", stream, today, id="adv-off", village_region=village,
              advisor_id="adv-431-0009", unassigned_at=today)  # fmt: skip
    reducer = Partitioned().sums.engine  # the reducer as it ran yesterday: the advisor's share arrives
    reducer.set_advisor(village, "adv-431-0009", yesterday)
    first = reducer.take_changed()
    key = f"advisor_coverage|431002000000|{current_period('day', yesterday)}|*"
    assert key in first
    reducer.set_advisor(village, None, today)  # today: the advisor leaves
    assert key in reducer.take_changed()  # yesterday's coverage is published again with the advisors on record
    whole = engine()
    whole.apply(on, today)
    whole.apply(off, today)
    assert reducer.value_of_cell(key, today) == whole.value_of_cell(key, today)


def test_growth_published_this_year_moves_when_last_years_volume_arrives_late():
    """热线服务量增长率 (seed 000: hotline services up ≥10% on last year) compares a period with the same one a
    year earlier: calls of last year folded after this year's growth was published publish it again."""
    parted = Partitioned()
    published: dict[str, float | None] = {}
    last_year = T0 - days(365)

    def calls(prefix: str, n: int, at) -> list[Envelope]:  # type: ignore[no-untyped-def]
        return [env("caseflow.intake.call_offered", f"{prefix}-{i}", at, region=EZHOU_TOWN, line="hotline_12348")
                for i in range(n)]

    def publish() -> None:
        for key in parted.sums.engine.take_changed():
            published[key] = parted.sums.engine.value_of_cell(key, NOW).value

    whole = engine()
    for batch in (calls("old", 5, last_year), calls("new", 12, T0), calls("late", 5, last_year)):
        for e in batch:
            whole.apply(e, NOW)
        parted.fold(batch)
        publish()
    key = "hotline_growth|420700000000|year:2026|*"
    assert published[key] == whole.value_of_cell(key, NOW).value == pytest.approx(20.0)  # 12 on 10, not on 5


def test_a_writers_partition_engine_keeps_only_the_published_cells():
    events = stories(12)
    full, lean = engine(), engine(published_only=True)
    for e in events:
        full.apply(e, NOW)
        lean.apply(e, NOW)
    published = {k: v for k, v in full.aggregates.cells.items() if is_published(k)}
    assert lean.aggregates.cells == published and len(published) < len(full.aggregates.cells)
    assert full.take_changed() >= lean.take_changed() and lean.take_changed() == set()
