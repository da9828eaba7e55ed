"""Publishing the indicators: changes and target crossings to `<prefix>.metrics.indicators`, dead letters, and the
in-process listeners behind the SSE stream.

A writer's `Publisher` holds its producer (its reducer publishes, its fold parks dead letters); a follower's has
none and only feeds its listeners.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from opentelemetry.trace import SpanKind

from services.metrics.catalogue import Target
from services.metrics.engine import MetricsEngine
from services.metrics.values import Value
from shared.consumer import DeadLetters
from shared.contracts.metrics import IndicatorChanged, IndicatorTargetCrossed
from shared.envelope import Envelope
from shared.telemetry import current_traceparent, tracer
from shared.topics import Topics

log = logging.getLogger(__name__)
Listener = Callable[[list[Value]], None]
ROUND = 2_000  # indicators computed and sent before waiting for their acknowledgements
# the registered contracts partners read (shared/contracts/metrics.py); `published` builds their payload
CHANGED = IndicatorChanged.event_type
CROSSED = IndicatorTargetCrossed.event_type


def published(value: Value) -> dict[str, Any]:
    return {
        "indicator": value.indicator,
        "region": value.region,
        "period": value.period,
        "dimension": value.dimension,
        "value": value.value,
        "numerator": value.numerator,
        "denominator": value.denominator,
        "unit": value.unit,
        "target": _target(value.target),
        "status": value.status,
        "reason": value.reason,
        **({"extra": value.extra} if value.extra else {}),
        "target_from": value.target_from,
        "annualised": value.annualised,
    }


def _target(target: Target | None) -> dict[str, Any] | None:
    return None if target is None else {"op": target.op, "value": target.value, "per": target.per}


class Publisher:
    """Sends indicator changes and target crossings, parks dead letters, feeds in-process listeners (SSE).

    With no producer (a follower's) only the listeners are fed.
    """

    def __init__(self, topics: Topics, producer: AIOKafkaProducer | None = None) -> None:
        self.topics = topics
        self.producer = producer
        self.listeners: list[Listener] = []
        self.last_status: dict[str, str] = {}  # published cell → status last published

    def prime(self, engine: MetricsEngine, now: datetime) -> None:
        """Remember restored statuses, so the first crossing after a restart still alerts."""
        self.last_status.clear()
        for key in engine.aggregates.cells:
            if engine.publishes(key):
                self.last_status[key] = engine.value_of_cell(key, now).status

    async def park(self, msg: Any, reason: str, code: str) -> None:
        """`msg`: anything with a Kafka record's topic, partition, offset, key, value and headers."""
        if self.producer is not None:
            log.warning("metrics: dead-lettering %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, reason)
            await DeadLetters(self.producer, self.topics.deadletter, "metrics").park(msg, reason, code)

    async def changed(self, engine: MetricsEngine, touched: set[str], now: datetime) -> int:
        """Publish the values of the published cells `touched`, `ROUND` at a time (a restarted reducer publishes
        every cell); returns how many."""
        keys = [key for key in sorted(touched) if engine.publishes(key)]
        for start in range(0, len(keys), ROUND):
            await self._round(engine, keys[start : start + ROUND], now)
        return len(keys)

    async def _round(self, engine: MetricsEngine, keys: list[str], now: datetime) -> None:
        values = [engine.value_of_cell(key, now) for key in keys]
        for listener in list(self.listeners):
            listener(values)
        if self.producer is None or not values:
            return
        futures = []
        # one span per round: every indicator it publishes carries its trace context
        with tracer.start_as_current_span(
            "publish indicators", kind=SpanKind.PRODUCER,
            attributes={"messaging.destination.name": self.topics.indicators, "caseflow.indicators": len(values)},
        ):  # fmt: skip
            for cell, v in zip(keys, values, strict=True):
                key = f"{v.indicator}|{v.region}|{v.period}"
                body = published(v)
                futures.append(await self._send(key, CHANGED, body, now))
                before = self.last_status.get(cell)
                self.last_status[cell] = v.status
                if before in ("met", "not_met") and v.status in ("met", "not_met") and before != v.status:
                    futures.append(await self._send(f"alert|{key}", CROSSED, {**body, "previous_status": before}, now))
        await asyncio.gather(*futures)

    async def _send(self, key: str, event_type: str, data: dict[str, Any], now: datetime) -> asyncio.Future[Any]:
        assert self.producer is not None
        env = Envelope(
            source="caseflow/metrics", type=event_type, time=now, subject=key[:128], correlationid=key[:128],
            actor="service:metrics", traceparent=current_traceparent(), data=data,
        )  # fmt: skip
        _, value, headers = env.to_kafka()
        return await self.producer.send(self.topics.indicators, value=value, key=key.encode(), headers=headers)

    def subscribe(self, region: str) -> tuple[asyncio.Queue[dict[str, Any]], Callable[[], None]]:
        """SSE support: a queue of the region's indicator changes, and the function that unsubscribes it."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)

        def listener(values: list[Value]) -> None:
            for v in values:
                if v.region == region and not queue.full():
                    queue.put_nowait(published(v))

        self.listeners.append(listener)
        return queue, lambda: self.listeners.remove(listener)
