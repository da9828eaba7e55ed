"""The partner router: moves department events addressed to a partner onto that partner's outbound topic.

Any payload deriving from `PartnerNotice` is forwarded unchanged (same envelope: id, correlation id and trace
context kept) to `<prefix>.partner.<recipient>.outbound`. Partners drop duplicates by event id, so forwarding
at least once is enough; the router's own inbox drops redeliveries it already forwarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

from pymongo import AsyncMongoClient

import shared.contracts  # noqa: F401  (registers every event type)
from shared import kafka
from shared.consumer import DeadLetters, EventConsumer, Inbox
from shared.contracts.common import PartnerNotice
from shared.envelope import Envelope
from shared.events import Event
from shared.logs import setup_logging
from shared.settings import PlatformSettings, load_settings
from shared.telemetry import setup_telemetry
from shared.topics import Topics


class PartnerRouter:
    def __init__(self, settings: PlatformSettings) -> None:
        self.settings = settings
        self.topics = Topics(settings.topic_prefix)
        self.forwarded = 0

    async def forward(self, env: Envelope, payload: Event) -> None:
        if not isinstance(payload, PartnerNotice):
            return
        key, value, headers = env.to_kafka()
        await self.producer.send_and_wait(
            self.topics.partner_outbound(payload.recipient.value), value=value, key=key, headers=headers
        )
        self.forwarded += 1

    async def run(self) -> None:
        await kafka.ensure_topics(self.settings)
        mongo: AsyncMongoClient = AsyncMongoClient(self.settings.mongo_url, tz_aware=True)
        db = mongo[f"{self.settings.topic_prefix}_router"]
        self.producer = kafka.producer(self.settings)
        await self.producer.start()
        group = f"{self.settings.topic_prefix}.router"
        raw = kafka.consumer(self.settings, *self.topics.all_department_topics(), group_id=group)
        await raw.start()
        self.consumer = EventConsumer(
            raw,
            name=group,
            handle_any=self.forward,
            inbox=Inbox(db, group),
            dead_letters=DeadLetters(self.producer, self.topics.deadletter, "router"),
        )
        try:
            await self.consumer.run()
        finally:
            await raw.stop()
            await self.producer.stop()
            await mongo.close()


async def _main() -> None:
    settings = load_settings(PlatformSettings)
    setup_logging(settings.log_level, "router")
    setup_telemetry("router", settings)
    router = PartnerRouter(settings)
    task = asyncio.create_task(router.run())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


if __name__ == "__main__":
    asyncio.run(_main())
