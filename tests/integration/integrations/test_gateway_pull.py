"""The gateway's pull endpoint on the real broker: pages through a partner's outbound topic across partitions,
each page continuing where the last ended, nothing skipped or repeated, only that partner's events."""

from datetime import UTC, datetime

import httpx
import pytest

from services.gateway.config import Settings
from services.gateway.main import create_app
from shared import kafka
from shared.contracts.legal_aid import AssignmentNotified
from shared.envelope import Envelope
from shared.topics import Topics
from tests.conftest import token
from tests.integration.helpers import drop_schemas

pytestmark = pytest.mark.integration


def notice(partner: str, n: int) -> Envelope:
    payload = AssignmentNotified(
        recipient=partner,
        partner_reference=f"{partner}-ref-{n}",
        aid_case_id=f"la-{partner}-{n}",
        provider_type="lawyer",
        provider_id="bb-lawyer-001",
        assigned_at=datetime.now(UTC),
    )
    return Envelope.wrap(
        payload, source="caseflow/legal_aid", subject=f"la-{partner}-{n}", correlationid=f"c-{n}", actor="dept:x"
    )


async def test_pull_pages_in_order_with_a_cursor(platform):
    topics = Topics(platform.topic_prefix)
    app = create_app(Settings(platform=platform, pull_wait_seconds=3))
    court = token(platform, "partner:court", ["partner:court"])
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw") as client,
        ):
            producer = kafka.producer(platform)
            await producer.start()
            sent = []
            try:
                for n in range(7):  # keys differ, so the notices spread over the 3 partitions
                    for partner in ("court", "police"):
                        env = notice(partner, n)
                        await (await kafka.send(producer, topics.partner_outbound(partner), env))  # as the router
                        if partner == "court":
                            sent.append(env.id)
            finally:
                await producer.stop()

            got: list[str] = []
            params: dict[str, str | int] = {"limit": 3}
            pages = 0
            while True:
                r = await client.get("/partners/court/events", params=params, headers=court)
                assert r.status_code == 200, r.text
                items = r.json()["items"]
                pages += 1
                if not items:
                    break
                assert len(items) <= 3
                assert {i["data"]["recipient"] for i in items} == {"court"}
                assert all(len(i["traceparent"].split("-")) == 4 for i in items)  # to send back with the answer
                got += [i["id"] for i in items]
                params = {"limit": 3, "after": r.json()["next"]}
            assert sorted(got) == sorted(sent) and len(got) == len(set(got)) == 7
            assert pages == 4
    finally:
        await drop_schemas(platform, "gateway")
