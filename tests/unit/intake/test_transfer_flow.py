"""The 12345 / 110 linkage through intake's consumers and API over in-memory adapters: a transfer in becomes the
same request staff would open, the answers to a transfer out fold into the request, and bad input is refused.

Sources: seed 002 (12348 与 110 报警服务台联动) and seed 004 (与 12345 政府服务热线、110 报警电话联动).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.intake import consumers
from services.intake.bootstrap import bootstrap
from services.intake.config import Settings
from services.intake.domain import transfer_request_id
from services.intake.main import create_app
from shared.contracts.common import Partner
from shared.contracts.intake import RequestKind
from shared.contracts.partners import CallTransferred, TransferAccepted, TransferHandled
from shared.envelope import Envelope
from shared.errors import DomainError, Forbidden
from shared.settings import PlatformSettings
from tests.conftest import token
from tests.fakes import FixedClock, memory_adapters

NOW = datetime(2026, 5, 6, 8, 0, tzinfo=UTC)
TOWN = "431002001000"
SETTINGS = PlatformSettings()


@pytest.fixture
def adapters():
    return memory_adapters(FixedClock(NOW))


def envelope(payload, partner: str, subject: str) -> Envelope:
    source = f"partner/{partner}"
    return Envelope.wrap(payload, source=source, subject=subject, correlationid=f"corr-{subject}", actor=source)


def transferred(ticket: str = "12345-431002-0001") -> CallTransferred:
    return CallTransferred(
        partner_reference=ticket, region=TOWN, kind=RequestKind.HELP, topic="labour", reason="拖欠工资, 属法律服务",
        asked="提供法律咨询", transferred_at=NOW, deadline_hours=48,
    )  # fmt: skip


def staff(app) -> httpx.AsyncClient:
    headers = token(SETTINGS, "dept:intake", ["intake:read", "intake:write"])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers)


async def test_a_12345_transfer_event_opens_the_request_staff_would_open_for_that_ticket(adapters):
    """Seed 004: one request per 12345 ticket, whether the hotline sends it or staff type it in; a re-sent event
    (new id, same ticket) and a redelivery change nothing. Seed 002: it is a work order (工单) due within the
    hotline's time limit."""
    intake = bootstrap(Settings(platform=SETTINGS), **adapters)
    handle = consumers.partner_handlers(intake)[CallTransferred]
    env = envelope(transferred(), "hotline_12345", "12345-431002-0001")
    await handle(env, transferred())
    await handle(env, transferred())  # redelivered
    await handle(envelope(transferred(), "hotline_12345", "12345-431002-0001"), transferred())  # re-sent
    rid = transfer_request_id(Partner.HOTLINE_12345, "12345-431002-0001")
    doc = await intake.cases.get(rid)
    assert doc is not None and doc["channel"] == "transfer_12345" and doc["external_reference"] == "12345-431002-0001"
    assert doc["received_at"] == NOW and doc["status"] == "received"
    assert doc["work_order_open"] is True and doc["work_order_due_at"] == NOW + timedelta(hours=48)
    assert len(adapters["store"].commits) == 1

    app = create_app(Settings(platform=SETTINGS), **adapters)
    async with staff(app) as c:
        r = await c.post("/requests", json={"channel": "transfer_12345", "region": TOWN, "kind": "help",
                                            "topic": "labour", "external_reference": "12345-431002-0001"})  # fmt: skip
        assert r.status_code == 201, r.text
        assert r.json()["request_id"] == rid and r.json()["version"] == 2  # the same request, nothing added


async def test_only_12345_and_110_transfer_calls(adapters):
    """Seed 004: transfers are hotline linkage; another partner's source is refused (dead-lettered, told)."""
    intake = bootstrap(Settings(platform=SETTINGS), **adapters)
    handle = consumers.partner_handlers(intake)[CallTransferred]
    with pytest.raises(Forbidden):
        await handle(envelope(transferred(), "police", "12345-x"), transferred())
    assert consumers.hotline_of_source("partner/dispatch_110") is Partner.DISPATCH_110


async def test_a_transfer_out_to_110_shows_110s_ticket_and_result(adapters):
    """Seed 002 (12348 → 110, 结果反馈): the request view shows where it went, 110's ticket and its result; an answer
    for a request that was not transferred to the sender is refused."""
    app = create_app(Settings(platform=SETTINGS), **adapters)
    intake = app.state.intake
    async with staff(app) as c:
        rid = (await c.post("/requests", json={"channel": "hotline_12348", "region": TOWN, "kind": "help",
                                               "topic": "neighbourhood"})).json()["request_id"]  # fmt: skip
        r = await c.post(f"/requests/{rid}/transfer", json={"to": "dispatch_110", "reason": "斗殴正在发生",
                                                            "asked": "派警处置"})  # fmt: skip
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "transferred" and r.json()["transferred_to"] == "dispatch_110"
        assert r.json()["transfer_ticket"] is None

        answers = consumers.partner_handlers(intake)
        accepted = TransferAccepted(partner_reference="JJ110-0001", request_id=rid, accepted_at=NOW)
        await answers[TransferAccepted](envelope(accepted, "dispatch_110", "JJ110-0001"), accepted)
        handled = TransferHandled(partner_reference="JJ110-0001", request_id=rid, outcome="民警已处置", handled_at=NOW)
        with pytest.raises(DomainError):  # 12345 cannot answer for 110
            await answers[TransferHandled](envelope(handled, "hotline_12345", "JJ110-0001"), handled)
        await answers[TransferHandled](envelope(handled, "dispatch_110", "JJ110-0001"), handled)

        view = (await c.get(f"/requests/{rid}")).json()
        assert (view["transfer_ticket"], view["transfer_outcome"]) == ("JJ110-0001", "民警已处置")
        assert view["transfer_accepted_at"] is not None and view["transfer_handled_at"] is not None
        assert (await c.post(f"/requests/{rid}/close")).json()["outcome"] == "transferred"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to": "court", "reason": "r", "asked": "a"}, "to"),
        ({"to": "dispatch_110", "reason": "", "asked": "a"}, "reason"),
        ({"to": "dispatch_110", "reason": "r"}, "asked"),
        ({"to": "dispatch_110", "reason": "r", "asked": "a", "ticket": "x"}, "ticket"),
    ],
)
async def test_a_bad_transfer_is_422_naming_the_field_and_nothing_is_stored(adapters, body, field):
    """Every outside input validated: a transfer names a hotline, why and what is asked, nothing else."""
    app = create_app(Settings(platform=SETTINGS), **adapters)
    async with staff(app) as c:
        rid = (await c.post("/requests", json={"channel": "hotline_12348", "region": TOWN, "kind": "help",
                                               "topic": "labour"})).json()["request_id"]  # fmt: skip
        r = await c.post(f"/requests/{rid}/transfer", json=body)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"].split(".")[-1] for e in r.json()["errors"]}
        assert (await c.get(f"/requests/{rid}")).json()["version"] == 1


async def test_a_walk_in_request_is_not_transferred(adapters):
    """Seed 004: the linkage is between hotlines: a walk-in request is refused with 409 naming the state."""
    app = create_app(Settings(platform=SETTINGS), **adapters)
    async with staff(app) as c:
        rid = (await c.post("/requests", json={"channel": "walk_in", "level": "town", "region": TOWN, "kind": "help",
                                               "topic": "labour"})).json()["request_id"]  # fmt: skip
        r = await c.post(f"/requests/{rid}/transfer", json={"to": "hotline_12345", "reason": "r", "asked": "a"})
        assert r.status_code == 409 and "only hotline calls" in r.text
