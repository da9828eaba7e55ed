"""Helpers for integration tests: wait for a condition, read a topic to the end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiokafka import ConsumerRecord

from shared import kafka
from shared.settings import PlatformSettings


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], timeout: float = 30, what: str | Callable[[], str] = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what() if callable(what) else what}")
        await asyncio.sleep(0.1)


async def read_topic(
    settings: PlatformSettings, topic: str, *, expect: int, timeout: float = 30
) -> list[ConsumerRecord]:
    """Every record on `topic` from the start, waiting until at least `expect` arrived."""
    consumer = kafka.consumer(settings, topic, group_id=None, isolation_level="read_uncommitted")
    await consumer.start()
    out: list[ConsumerRecord] = []
    try:
        deadline = time.monotonic() + timeout
        while len(out) < expect and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                out.extend(records)
    finally:
        await consumer.stop()
    return out
