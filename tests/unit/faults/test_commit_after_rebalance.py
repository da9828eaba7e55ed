"""A consumer whose partition moved away while it handled a batch (a rebalance) must not retry its commit forever.

Found by the fault suite's rebalance scenario: the surviving member, mid-batch when the thawed one rejoined,
retried `commit` on a partition it no longer owned (IllegalStateError) every 5 s, so it never fetched again.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaConnectionError

from shared.consumer import EventConsumer, MemoryInbox

TP = TopicPartition("p.intake.events", 1)


class Consumer:
    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.commits: list[dict[TopicPartition, int]] = []

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(offsets)
        if self.errors:
            raise self.errors.pop(0)


class DeadLetters:
    def __init__(self) -> None:
        self.parked: list[str] = []

    async def park(self, _msg: ConsumerRecord, reason: str, _code: str, *, notify: bool = True) -> None:
        self.parked.append(reason)


def record(offset: int) -> ConsumerRecord[Any, Any]:
    # unreadable on purpose: it is dead-lettered, so the batch needs no handler, only its commit
    return ConsumerRecord(TP.topic, TP.partition, offset, 0, 0, None, b"{", None, 1, -1, [])


def consumer_with(raw: Consumer) -> tuple[EventConsumer, DeadLetters]:
    dead = DeadLetters()
    ec = EventConsumer(raw, name="g", inbox=MemoryInbox(), dead_letters=dead, max_backoff=0.01)  # type: ignore[arg-type]
    return ec, dead


@pytest.mark.parametrize(
    "lost",
    [IllegalStateError(f"Partition {TP} is not assigned"), CommitFailedError("rebalanced"), IllegalStateError()],
)
async def test_a_commit_on_a_moved_partition_is_given_up(lost: Exception) -> None:
    raw = Consumer(lost)
    ec, dead = consumer_with(raw)
    async with asyncio.timeout(5):
        await ec.process_batch(TP, [record(7), record(8)])
    assert raw.commits == [{TP: 9}]  # tried once, not again
    assert len(dead.parked) == 2


async def test_a_transient_commit_failure_is_still_retried() -> None:
    raw = Consumer(KafkaConnectionError(), KafkaConnectionError())
    ec, _ = consumer_with(raw)
    async with asyncio.timeout(5):
        await ec.process_batch(TP, [record(3)])
    assert raw.commits == [{TP: 4}] * 3
    assert ec.stats.retries == 2


async def test_a_handler_meeting_a_key_still_in_progress_is_retried_not_dead_lettered() -> None:
    """A concurrency conflict on a redelivered partner request (a rival attempt on the same case, say) is retried,
    not parked on the dead-letter topic."""
    from shared.contracts.legal_aid import DefenceNotified
    from shared.envelope import Envelope
    from shared.errors import ConcurrencyConflict

    payload = DefenceNotified(
        kind="notified_defence", region="431002001001", defendant_ref="p-" + "a" * 16, notified_by="court",
        partner_reference="court-1", stage="trial", charge="theft", notified_at="2026-11-29T08:00:00Z",
    )  # fmt: skip
    env = Envelope.wrap(payload, source="caseflow/legal_aid", subject="la-1", correlationid="la-1", actor="x")
    key, value, headers = env.to_kafka()
    msg = ConsumerRecord(TP.topic, TP.partition, 5, 0, 0, key, value, None, len(value), -1, headers)
    calls: list[str] = []

    async def handler(e: Envelope, _payload: Any) -> None:
        calls.append(e.id)
        if len(calls) < 3:
            raise ConcurrencyConflict(f"a request with idempotency key 'evt:{e.id}' is still in progress; retry")

    dead = DeadLetters()
    ec = EventConsumer(Consumer(), name="g", inbox=MemoryInbox(), dead_letters=dead,  # type: ignore[arg-type]
                       handlers={DefenceNotified: handler}, max_backoff=0.01)  # fmt: skip
    async with asyncio.timeout(5):
        await ec.process_batch(TP, [msg])
    assert calls == [env.id] * 3 and dead.parked == []
    assert ec.stats.handled == 1 and ec.stats.retries == 2
