"""What the partner flow tests share: department apps and the router running on the secure broker, each as its own
principal; sending as a partner; reading a partner's outbound topic as that partner."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx

from integrations.router import PartnerRouter
from shared import kafka
from shared.envelope import Envelope
from shared.settings import PlatformSettings
from shared.topics import Topics
from tests.integration.helpers import Principals, drop_schemas, read_topic


@contextlib.asynccontextmanager
async def running(net: Principals, app, name: str, *others: tuple[str, object]) -> AsyncIterator[httpx.AsyncClient]:
    """Department apps in-process (each as its own principal), the partner router beside them; databases dropped
    afterwards. Yields a client for the first app."""
    router = asyncio.create_task(PartnerRouter(net.as_("router")).run())
    apps = [(name, app), *others]
    try:
        async with contextlib.AsyncExitStack() as stack:
            for _name, each in apps:
                await stack.enter_async_context(each.router.lifespan_context(each))
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=f"http://{name}") as client:
                yield client
    finally:
        router.cancel()
        with contextlib.suppress(BaseException):
            await router
        await drop_schemas(net.admin, *(n for n, _ in apps), "router", "gateway")


async def send(platform: PlatformSettings, topic: str, env: Envelope, value: bytes | None = None) -> None:
    producer = kafka.producer(platform)
    await producer.start()
    try:
        key, v, headers = env.to_kafka()
        await producer.send_and_wait(topic, value=v if value is None else value, key=key, headers=headers)
    finally:
        await producer.stop()


def envelopes(records) -> list[Envelope]:
    return [Envelope.from_kafka(r.value, r.headers) for r in records]


async def outbound(net: Principals, partner: str, *, expect: int, timeout: float = 20) -> list[Envelope]:
    """What the partner reads on its outbound topic, read as that partner."""
    topic = Topics(net.prefix).partner_outbound(partner)
    return envelopes(await read_topic(net.as_(partner), topic, expect=expect, timeout=timeout))
