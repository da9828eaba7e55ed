"""The replay's parallel fold: partitions folded apart and their shares summed equal one engine folding it all."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench.case_streams import events
from services.metrics.replay.decode import BatchDecoder
from services.metrics.replay.folds import PartitionFolds, reduce_shares
from services.metrics.topics import partition_of
from shared.events import registry
from tests.unit.metrics.helpers import engine
from tests.unit.metrics.test_replay_decode import of

NOW = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
PARTITIONS = 6


def test_two_workers_folding_three_partitions_each_reduce_to_the_sequential_fold():
    sample = [of(e, i) for i, (_, e) in enumerate(events(3000, seed=11))]
    decoded, refused = BatchDecoder(registry).decode(sample)
    assert refused == []

    sequential = engine()
    for _, event in decoded:
        sequential.apply(event, NOW)
    sequential.tick(NOW)
    sequential.forget_old_hours(NOW)  # as a writer's publishing round does (`trim`), and the replay

    workers = [PartitionFolds(sequential.catalogue, range(w, PARTITIONS, 2)) for w in (0, 1)]
    for _, event in decoded:
        partition = partition_of(event.correlationid.encode(), PARTITIONS)
        assert workers[partition % 2].fold(partition, event) is None
    replayed = reduce_shares(engine(), (w.shares(engine(), NOW, i) for i, w in enumerate(workers)), NOW)

    assert sum(w.case_count() for w in workers) == len(sequential.cases)
    assert {cid: ids for w in workers for cid, ids in w.event_ids().items()} == {
        cid: case.event_ids for cid, case in sequential.cases.items()
    }
    a, b = replayed.aggregates.cells, sequential.aggregates.cells
    assert len(a) > 1000 and set(a) == set(b)
    assert all(abs(x - y) < 1e-6 for k in a for x, y in zip(a[k], b[k], strict=True))
    assert replayed.advisors == sequential.advisors and replayed.advisors  # the villages' advisors came through
    published = [k for k in a if sequential.publishes(k)]
    assert published
    for key in published:  # sums in another order: equal up to the last float digit, as `rebuild --check` compares
        x, y = replayed.value_of_cell(key, NOW), sequential.value_of_cell(key, NOW)
        assert (x.numerator, x.denominator, x.value) == pytest.approx((y.numerator, y.denominator, y.value)), key
        assert x.status == y.status, key


def test_an_event_folded_twice_counts_once():
    sample = [of(e, i) for i, (_, e) in enumerate(events(50, seed=3))]
    decoded, _ = BatchDecoder(registry).decode(sample + sample)
    folds = PartitionFolds(engine().catalogue, range(PARTITIONS))
    for _, event in decoded:
        folds.fold(partition_of(event.correlationid.encode(), PARTITIONS), event)
    assert (folds.folded, folds.duplicates) == (50, 50)
