"""The router's choices without a broker: a record goes to its correlation id's partition (or under its own key,
to be dead-lettered by the fold), a dead letter names where the router read the record, not the by-case copy, and
a batch is committed only once acknowledged, in order (else read again from its first record)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from aiokafka import TopicPartition
from aiokafka.errors import KafkaTimeoutError

from services.metrics.route import CaseRouter, as_routed, correlation_key, origin_of
from shared.settings import PlatformSettings

ORIGIN = [
    ("caseflow_origin_topic", b"cf.legal_aid.events"),
    ("caseflow_origin_partition", b"2"),
    ("caseflow_origin_offset", b"41"),
]


def record(headers, key=b"la-1"):  # type: ignore[no-untyped-def]
    return SimpleNamespace(topic="cf.metrics.writer-by-case", partition=5, offset=7, key=key, value=b"{}",
                           headers=headers)  # fmt: skip


def test_a_record_is_keyed_by_its_correlation_id_else_by_its_own_key():
    assert correlation_key(record([("ce_correlationid", b"rq-9"), ("ce_subject", b"la-1")])) == b"rq-9"
    assert correlation_key(record([("ce_correlationid", b"")])) == b"la-1"  # the fold parks it with the reason
    assert correlation_key(record([], key=None)) == b"-"


def test_a_dead_letter_names_where_the_router_read_the_record():
    msg = record([("ce_type", b"x"), *ORIGIN])
    assert origin_of(msg.headers) == ("cf.legal_aid.events", 2, 41)
    routed = as_routed(msg)
    assert (routed.topic, routed.partition, routed.offset) == ("cf.legal_aid.events", 2, 41)
    assert routed.value == msg.value and routed.headers == msg.headers


def test_a_record_without_a_readable_origin_is_parked_as_it_is():
    assert origin_of([]) is None
    assert origin_of([*ORIGIN[:2], ("caseflow_origin_offset", b"not a number")]) is None
    msg = record([])
    assert as_routed(msg) is msg


class FakeConsumer:
    """Hands out the scripted batches, then nothing; notes commits and seeks."""

    def __init__(self, batches):  # type: ignore[no-untyped-def]
        self.batches, self.commits, self.seeks = list(batches), [], []

    async def getmany(self, timeout_ms, max_records):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0)
        return self.batches.pop(0) if self.batches else {}

    async def commit(self, offsets):  # type: ignore[no-untyped-def]
        self.commits.append(dict(offsets))

    def seek(self, tp, offset):  # type: ignore[no-untyped-def]
        self.seeks.append((tp, offset))


class FakeProducer:
    """Acknowledges every copy, except those of the values in `refused` (the broker failed them)."""

    def __init__(self, refused=()):  # type: ignore[no-untyped-def]
        self.refused, self.sent = set(refused), []

    async def send(self, topic, value, **_):  # type: ignore[no-untyped-def]
        self.sent.append(value)
        acked = asyncio.get_running_loop().create_future()
        if value in self.refused:
            acked.set_exception(KafkaTimeoutError())
        else:
            acked.set_result(None)
        return acked


def batch(tp, *offsets):  # type: ignore[no-untyped-def]
    return {tp: [SimpleNamespace(offset=o, key=b"la-1", value=f"{tp.partition}@{o}".encode(), headers=[])
                 for o in offsets]}  # fmt: skip


async def routed(consumer, producer):  # type: ignore[no-untyped-def]
    router = CaseRouter(PlatformSettings(topic_prefix="unitroute"), ["s"], lambda: producer, max_batch=10,
                        session_timeout=10, fetch_max_wait_ms=100)  # fmt: skip
    router._consumer = consumer
    task = asyncio.create_task(router._run())
    while consumer.batches:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # the idle fetch after the last batch settles it
    router._stopping = True
    await asyncio.wait_for(task, 5)
    return router


async def test_each_batch_is_committed_once_acknowledged_in_order():
    a, b = TopicPartition("s", 0), TopicPartition("s", 1)
    consumer = FakeConsumer([batch(a, 0, 1), batch(b, 5), batch(a, 2)])
    router = await routed(consumer, FakeProducer())
    assert consumer.commits == [{a: 2}, {b: 6}, {a: 3}] and consumer.seeks == []
    assert router.read_to == {("s", 0): 3, ("s", 1): 6}


async def test_a_refused_copy_sends_both_unsettled_batches_again_from_their_first_records():
    a, b = TopicPartition("s", 0), TopicPartition("s", 1)
    # the first batch's copy of a@1 is refused; the second batch went out before that was known
    consumer = FakeConsumer([batch(a, 0, 1), {**batch(a, 2), **batch(b, 7)}])
    router = await routed(consumer, FakeProducer(refused={b"0@1"}))
    assert consumer.commits == [] and sorted(consumer.seeks) == [(a, 0), (b, 7)]
    assert router.read_to == {}
