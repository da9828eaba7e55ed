"""The consumer's inbox keeps the events it handled, not the ones it parked: a dead letter replayed after a fix
(`caseflow dlq replay`, same event id) is handled then, and a handled event delivered again is still dropped."""

from __future__ import annotations

from typing import Any

from aiokafka import ConsumerRecord, TopicPartition

from shared.consumer import EventConsumer, MemoryInbox
from shared.contracts.intake import RequestReferred
from shared.envelope import Envelope
from shared.errors import ValidationFailed

TP = TopicPartition("p.intake.events", 0)


class Consumer:
    async def commit(self, _offsets: dict[TopicPartition, int]) -> None:
        return None


class DeadLetters:
    def __init__(self) -> None:
        self.parked: list[str] = []

    async def park(self, _msg: ConsumerRecord, reason: str, _code: str, *, notify: bool = True) -> None:
        self.parked.append(reason)


def record(env: Envelope, offset: int) -> ConsumerRecord[Any, Any]:
    key, value, headers = env.to_kafka()
    return ConsumerRecord(TP.topic, TP.partition, offset, 0, 0, key, value, None, len(value), -1, headers)


def referral(subject: str) -> Envelope:
    payload = RequestReferred(to_department="legal_aid", matter="m", region="431002000000")
    return Envelope.wrap(payload, source="caseflow/intake", subject=subject, correlationid=subject, actor="x")


async def test_a_parked_event_is_handled_when_replayed_and_a_handled_one_is_not_handled_twice():
    fixed = False
    handled: list[str] = []

    async def handler(env: Envelope, _payload: Any) -> None:
        if env.subject == "rq-broken" and not fixed:
            raise ValidationFailed("not yet", field="region")
        handled.append(env.subject)

    inbox, dead = MemoryInbox(), DeadLetters()
    ec = EventConsumer(Consumer(), name="g", inbox=inbox, dead_letters=dead,  # type: ignore[arg-type]
                       handlers={RequestReferred: handler}, max_backoff=0.01)  # fmt: skip
    good, broken = referral("rq-good"), referral("rq-broken")
    await ec.process_batch(TP, [record(good, 0), record(broken, 1)])
    assert handled == ["rq-good"] and dead.parked == ["not yet"]
    assert inbox.ids == {good.id}  # the parked one is not marked as processed
    fixed = True
    await ec.process_batch(TP, [record(broken, 2), record(good, 3)])  # the replay, and a redelivery of the good one
    assert handled == ["rq-good", "rq-broken"] and ec.stats.duplicates == 1
    assert inbox.ids == {good.id, broken.id}
