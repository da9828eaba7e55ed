"""The partner router: the platform's post office for every partner (`shared.topics.PARTNERS`: court, police,
procuratorate, petition office, 12345 hotline, 110 dispatch).

- **Forwarding** (group `<prefix>.router.forward`): any department payload deriving from `PartnerNotice` is
  forwarded unchanged (same envelope: id, correlation id and trace, in a publish span of the router's) to
  `<prefix>.partner.<recipient>.outbound`. Partners drop duplicates by event id, so forwarding at least once is
  enough; the router's own inbox drops redeliveries it already forwarded.
- **Gatekeeping** (group `<prefix>.router.inbound`): it reads every partner inbound topic with the same checks
  the departments apply (decodable, known type and version, valid payload, source matching the topic's
  partner, a type that partner may send). An event that fails them is dead-lettered with the reason and a
  `PartnerEventRejected` notice goes straight to the sender's outbound topic: one notice per refused event,
  however many departments read it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

import shared.contracts  # noqa: F401  (registers every event type)
from shared import kafka
from shared.consumer import DeadLetters, EventConsumer, Inbox
from shared.contracts.common import PartnerNotice
from shared.db import Database
from shared.envelope import Envelope
from shared.events import Event
from shared.logs import setup_logging
from shared.partners import inbound_guard
from shared.settings import PlatformSettings, load_settings
from shared.telemetry import setup_telemetry
from shared.topics import PARTNERS, Topics


class PartnerRouter:
    def __init__(self, settings: PlatformSettings) -> None:
        self.settings = settings
        self.topics = Topics(settings.topic_prefix)
        self.forwarded = 0
        self.consumers: list[EventConsumer] = []

    async def forward(self, env: Envelope, payload: Event) -> None:
        if not isinstance(payload, PartnerNotice):
            return
        await (await kafka.send(self.producer, self.topics.partner_outbound(payload.recipient.value), env))
        self.forwarded += 1

    async def run(self) -> None:
        await kafka.ensure_topics(self.settings)
        db = Database.for_service(self.settings, "router", max_size=4)
        await db.open()
        self.producer = kafka.producer(self.settings)
        await self.producer.start()
        base = f"{self.settings.topic_prefix}.router"
        forward = kafka.consumer(self.settings, *self.topics.all_department_topics(), group_id=f"{base}.forward")
        inbound = kafka.consumer(
            self.settings, *(self.topics.partner_inbound(p) for p in PARTNERS), group_id=f"{base}.inbound"
        )
        self.consumers = [
            EventConsumer(
                forward,
                name=f"{base}.forward",
                handle_any=self.forward,
                inbox=Inbox(db, f"{base}.forward"),
                dead_letters=DeadLetters(self.producer, self.topics.deadletter, "router"),
            ),
            EventConsumer(
                inbound,
                name=f"{base}.inbound",
                handlers={},  # valid events are the departments' business; only refusals concern the router
                inbox=Inbox(db, f"{base}.inbound"),
                dead_letters=DeadLetters(
                    self.producer, self.topics.deadletter, "router", notify_topic=self.topics.partner_outbound
                ),
                accept=inbound_guard,
                gatekeeper=True,
            ),
        ]
        try:
            await forward.start()
            await inbound.start()
            await asyncio.gather(*(c.run() for c in self.consumers))
        finally:
            for raw in (forward, inbound):
                await raw.stop()
            await self.producer.stop()
            await db.close()


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
