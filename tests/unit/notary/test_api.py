"""Notary API over in-memory fakes (event store, read models, vault, fee-waiver registry): a waived application
from 申请 to 出证, scopes, a replayed key, a key reused on another application, the court's commission."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from services.notary import consumers
from services.notary.config import Settings
from services.notary.domain import WaiverGrant
from services.notary.main import create_app
from shared.contracts.legal_aid import NotaryFeeWaiverGranted
from shared.envelope import Envelope
from shared.errors import ValidationFailed
from shared.settings import PlatformSettings
from tests.conftest import token
from tests.fakes import FixedClock, memory_adapters

SETTINGS = PlatformSettings()
ALICE = "p-" + "a" * 32
BOB = "p-" + "b" * 32
BIRTH = ["id_card", "household_register", "birth_medical_certificate"]


class MemoryWaivers:
    """The fee-waiver registry in a dict keyed like the `fee_waivers` table: (person, matter, aid case)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, str], Decimal] = {}

    async def record(self, waiver: NotaryFeeWaiverGranted, event_id: str) -> None:
        self.rows[(waiver.person_ref, waiver.notary_matter, waiver.aid_case_id)] = waiver.waiver

    async def find(self, person_ref: str, matter: str, aid_case_id: str | None = None) -> WaiverGrant | None:
        found = [
            (share, case)
            for (person, m, case), share in self.rows.items()
            if (person, m) == (person_ref, matter) and aid_case_id in (None, case)
        ]
        if not found:
            return None
        share, case = max(found)
        return WaiverGrant(aid_case_id=case, person_ref=person_ref, notary_matter=matter, waiver=share)

    async def vouches(self, person_ref: str, aid_case_id: str) -> bool:
        return any((person, case) == (person_ref, aid_case_id) for person, _, case in self.rows)


@pytest.fixture
def service():
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))  # Monday 17:00 in China
    adapters = memory_adapters(clock)
    waivers = MemoryWaivers()
    app = create_app(Settings(platform=SETTINGS), waivers=waivers, **adapters)
    return app, adapters["store"], waivers, clock


def client(app, scopes=("notary:read", "notary:write"), subject="dept:notary") -> httpx.AsyncClient:
    headers = token(SETTINGS, subject, list(scopes))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers)


async def apply(c: httpx.AsyncClient, applicant: str = ALICE, **extra: Any) -> httpx.Response:
    body = {"region": "431002001001", "office": "GZ4310", "matter": "birth", "applicant_ref": applicant}
    return await c.post("/applications", json={**body, "materials_supplied": BIRTH, **extra})


async def from_legal_aid(app, payload: NotaryFeeWaiverGranted) -> None:
    """Deliver legal aid's event to the handler the service subscribed, as its consumer loop would."""
    env = Envelope.wrap(payload, source="caseflow/legal_aid", subject="la-77", correlationid="la-77", actor="x")
    await consumers.legal_aid_handlers(app.state.notary)[NotaryFeeWaiverGranted](env, payload)


def event_types(store, stream_id: str | None = None) -> list[str]:
    events = [e for e in store.all_events() if stream_id in (None, e.subject)]
    return [e.type.rsplit(".", 1)[1] for e in events]


async def test_an_aid_recipients_application_is_waived_and_issued_within_the_deadline(service):
    app, store, waivers, clock = service
    await from_legal_aid(app, NotaryFeeWaiverGranted(
        aid_case_id="la-77", person_ref=ALICE, notary_matter="birth", waiver=1.0, granted_at=clock.now
    ))  # fmt: skip
    async with client(app) as c:
        created = await apply(c, materials_supplied=["id_card"], aid_case_id="la-77")
        assert created.status_code == 201, created.text
        app_id = created.json()["application_id"]
        assert created.json()["missing"] == ["household_register", "birth_medical_certificate"]
        assert (await c.post(f"/applications/{app_id}/accept")).json()["errors"][0]["field"] == "materials"
        notice = (await c.post(f"/applications/{app_id}/notice")).json()
        assert notice["notice_given"] == ["household_register", "birth_medical_certificate"]
        supplied = {"materials": ["household_register", "birth_medical_certificate"], "in_person": True}
        assert (await c.post(f"/applications/{app_id}/materials", json=supplied)).json()["missing"] == []
        accepted = (await c.post(f"/applications/{app_id}/accept")).json()
        assert (accepted["due_on"], accepted["working_days_left"]) == ("2026-03-23", 15)
        clock.advance(days=1)
        fee = (await c.post(f"/applications/{app_id}/assess-fee", json={})).json()
        fee_fields = (fee["charged_fee"], fee["waived"], fee["aid_linked"], fee["working_days_left"])
        assert fee_fields == ("0.00", True, True, 14)
        assert fee["standard_fee"] == "80.00" and fee["aid_link_verified"] is True
        done = (await c.post(f"/applications/{app_id}/issue", json={"collected_in_person": False})).json()
        assert done["certificate_no"] == "(2026)GZ4310证字第000001号" and done["visits"] == 2
        assert (await c.get(f"/applications/{app_id}")).json() == done
        listed = (await c.get("/applications", params={"status": "issued", "matter": "birth"})).json()
        assert [i["application_id"] for i in listed["items"]] == [app_id]
    assert event_types(store, app_id) == [
        "application_submitted",
        "materials_notice_issued",
        "materials_supplemented",
        "application_accepted",
        "fee_assessed",
        "certificate_issued",
    ]


async def test_the_worklist_counts_working_days_on_the_apps_clock(service):
    app, _, _, clock = service
    async with client(app) as c:
        app_id = (await apply(c)).json()["application_id"]
        await c.post(f"/applications/{app_id}/accept")
        assert (await c.get("/applications", params={"overdue": "true"})).json()["count"] == 0
        clock.advance(days=22)  # Tuesday 24 March: a day past the deadline
        late = (await c.get("/applications", params={"overdue": "true"})).json()["items"]
        assert [(i["application_id"], i["overdue"], i["working_days_left"]) for i in late] == [(app_id, True, -1)]


async def test_an_aid_claim_without_a_waiver_is_refused_and_nothing_is_written(service):
    app, store, _, _ = service
    async with client(app) as c:
        app_id = (await apply(c, applicant=BOB)).json()["application_id"]
        await c.post(f"/applications/{app_id}/accept")
        r = await c.post(f"/applications/{app_id}/assess-fee", json={"waiver_aid_case_id": "la-77"})
        assert r.status_code == 409 and r.json()["errors"][0]["field"] == "waiver"
        assert (await c.get(f"/applications/{app_id}")).json()["status"] == "accepted"
        r = await c.post("/applications/na-nope/accept")
        assert r.status_code == 404 and r.json()["errors"][0]["field"] == "application_id"
    assert event_types(store) == ["application_submitted", "application_accepted"]


async def test_scopes_are_enforced(service):
    app, store, _, _ = service
    async with client(app, ["notary:read"]) as reader:
        r = await apply(reader)
        assert r.status_code == 403 and "notary:write" in r.json()["detail"]
        assert (await reader.get("/applications")).status_code == 200
    async with client(app, ["notary:write"]) as clerk:
        body = {"partner_reference": "(2026)湘1002执45号", "kind": "evidence_preservation", "region": "431002000000"}
        body |= {"details": "现场保全证据", "commissioned_at": "2026-03-01T00:00:00Z"}
        assert (await clerk.post("/commissions", json=body)).status_code == 403  # a clerk is not the court
    async with client(app, ["partner:court"], "partner:court") as court:
        assert (await court.get("/matters")).status_code == 200
        assert (await court.get("/applications")).status_code == 403
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as anonymous:
        r = await anonymous.get("/matters")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert store.all_events() == []


async def test_a_retried_post_with_its_key_is_a_replay(service):
    app, store, _, _ = service
    async with client(app) as c:
        key = {"Idempotency-Key": "apply-once-1"}
        body = {"region": "431002001001", "office": "GZ4310", "matter": "birth", "applicant_ref": ALICE}
        a = await c.post("/applications", json=body, headers=key)
        b = await c.post("/applications", json=body, headers=key)
        assert a.status_code == b.status_code == 201
        assert a.json()["application_id"] == b.json()["application_id"] and b.headers["Idempotent-Replay"] == "true"
        app_id = a.json()["application_id"]
        supply = {"materials": BIRTH}
        for _ in range(2):
            r = await c.post(f"/applications/{app_id}/materials", json=supply, headers={"Idempotency-Key": "supply-1"})
            assert r.status_code == 200 and r.json()["missing"] == []
        assert r.headers["Idempotent-Replay"] == "true"
    assert event_types(store) == ["application_submitted", "materials_supplemented"]


async def test_a_key_used_for_one_application_is_refused_for_another(service):
    app, _, _, _ = service
    async with client(app) as c:
        a = (await apply(c)).json()["application_id"]
        b = (await apply(c, applicant=BOB)).json()["application_id"]
        key = {"Idempotency-Key": "accept-0001"}
        assert (await c.post(f"/applications/{a}/accept", headers=key)).status_code == 200
        refused = await c.post(f"/applications/{b}/accept", headers=key)
        assert refused.status_code == 409 and refused.json()["title"] == "idempotency_key_reused"
        assert (await c.get(f"/applications/{b}")).json()["status"] == "applied"
        again = await c.post(f"/applications/{a}/accept", headers=key)
        assert again.status_code == 200 and again.headers["Idempotent-Replay"] == "true"
        # the same key on another route names another act: B is refused with it
        refuse = await c.post(f"/applications/{b}/refuse", json={"reason": "不属本处执业区域"}, headers=key)
        assert refuse.status_code == 200 and refuse.json()["status"] == "refused"


async def test_a_court_commission_is_accepted_once_performed_and_reported(service):
    app, store, _, _ = service
    body = {"partner_reference": "(2026)湘1002执45号", "kind": "evidence_preservation", "region": "431002000000"}
    body |= {"details": "对被执行人经营场所现场保全证据", "commissioned_at": "2026-03-01T00:00:00Z"}
    async with client(app, ["partner:court"], "partner:court") as court, client(app) as clerk:
        first = (await court.post("/commissions", json=body)).json()
        again = await court.post("/commissions", json=body)
        assert again.status_code == 201 and again.json()["commission_id"] == first["commission_id"]
        cid = first["commission_id"]
        assert (await clerk.post(f"/commissions/{cid}/report")).status_code == 409
        performed = await clerk.post(f"/commissions/{cid}/perform", json={"summary": "已现场保全"})
        assert performed.json()["status"] == "performed"
        assert (await clerk.post(f"/commissions/{cid}/report")).json()["status"] == "reported"
        assert (await court.get(f"/commissions/{cid}")).json()["status"] == "reported"
        unknown = await clerk.post("/commissions/notary-commission-nope/perform", json={"summary": "x"})
        assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "commission_id"
        feedback = {"partner_reference": "(2026)湘1002民初12号", "certificate_no": "(2026)GZ4310证字第999999号"}
        r = await court.post("/feedback", json={**feedback, "adopted": True, "decided_at": "2026-03-02T00:00:00Z"})
        assert r.status_code == 404 and r.json()["errors"][0]["field"] == "certificate_no"
    assert event_types(store) == ["commission_accepted", "commission_performed", "commission_reported"]


async def test_a_waiver_for_a_matter_the_catalogue_does_not_know_is_refused(service):
    app, _, waivers, clock = service
    bogus = NotaryFeeWaiverGranted(
        aid_case_id="la-78", person_ref=BOB, notary_matter="space_travel", waiver=1.0, granted_at=clock.now
    )
    with pytest.raises(ValidationFailed, match="space_travel"):
        await from_legal_aid(app, bogus)
    assert waivers.rows == {}


async def test_a_walk_in_applicant_is_kept_in_the_vault_and_only_the_ref_travels(service):
    app, store, _, _ = service
    person = {"name": "张三", "id_number": "11010519491231002X"}
    async with client(app) as c:
        body = {"region": "431002001001", "office": "GZ4310", "matter": "birth", "applicant": person}
        created = (await c.post("/applications", json=body)).json()
    ref = created["applicant_ref"]
    assert (await app.state.notary.vault.get(ref))["name"] == "张三"
    assert "张三" not in str([e.data for e in store.all_events()]) and ref in str(store.all_events()[0].data)


async def test_a_failed_aid_claim_is_recorded_as_unverified(service):
    """法律援助法 art. 53 and seed 000's 受援人公证费减免率: an aid case legal aid never vouched for (unknown, refused,
    no waiver) is charged in full and recorded as an unverified claim, so the indicator does not count it; a
    recipient legal aid vouched for on another matter is a verified link charged in full."""
    app, store, _, clock = service
    await from_legal_aid(app, NotaryFeeWaiverGranted(
        aid_case_id="la-77", person_ref=ALICE, notary_matter="kinship", waiver=Decimal(1), granted_at=clock.now
    ))  # fmt: skip
    async with client(app) as c:
        fees = []
        for applicant, case in ((BOB, "la-404"), (ALICE, "la-77")):
            app_id = (await apply(c, applicant=applicant, aid_case_id=case)).json()["application_id"]
            await c.post(f"/applications/{app_id}/accept")
            r = await c.post(f"/applications/{app_id}/assess-fee", json={"proceed_without_waiver": True})
            assert r.status_code == 200, r.text
            fees.append(r.json())
    assert [(f["aid_linked"], f["aid_link_verified"], f["charged_fee"]) for f in fees] == [
        (True, False, "80.00"),
        (True, True, "80.00"),
    ]
    assessed = [e.data for e in store.all_events() if e.type == "caseflow.notary.fee_assessed"]
    assert [d["aid_link_verified"] for d in assessed] == [False, True]
    assert all(d["waiver_basis"] is None and d["charged_fee"] == "80.00" for d in assessed)


async def test_a_waived_fee_cites_article_53_in_the_event(service):
    """法律援助法 art. 53 (公证机构应当对受援人减收或者免收公证费) is the basis of the waiver, not art. 32."""
    app, store, _, clock = service
    await from_legal_aid(app, NotaryFeeWaiverGranted(
        aid_case_id="la-77", person_ref=ALICE, notary_matter="birth", waiver=Decimal("0.5"), granted_at=clock.now
    ))  # fmt: skip
    async with client(app) as c:
        app_id = (await apply(c, aid_case_id="la-77")).json()["application_id"]
        await c.post(f"/applications/{app_id}/accept")
        fee = (await c.post(f"/applications/{app_id}/assess-fee", json={})).json()
    assert (fee["charged_fee"], fee["waived"]) == ("40.00", True)
    [assessed] = [e.data for e in store.all_events() if e.type == "caseflow.notary.fee_assessed"]
    assert assessed["waiver_basis"].startswith("法律援助法 art. 53") and assessed["waiver_share"] == "0.50"
