"""Issuing through the certificate register with the in-memory store: numbers unique and gap-free under
concurrency, a refused issue consumes no number, a retried issue keeps its number; reference-data loading."""

import asyncio
import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from services.notary import domain
from services.notary.domain import AcceptApplication, AssessFee, SubmitApplication, register_stream
from services.notary.handlers import CertificateIssuer
from services.notary.reference import load_catalogue
from shared.commands import CommandBus, CommandContext
from shared.errors import InvalidTransition
from shared.events import registry
from shared.eventstore import InMemoryEventStore

CATALOGUE = load_catalogue()
AT = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
def setup():
    store = InMemoryEventStore()
    apps = CommandBus(domain.application, store, source="caseflow/notary")
    registers = CommandBus(domain.register, store, source="caseflow/notary")
    return store, apps, registers, CertificateIssuer(apps, registers)


async def ready(apps: CommandBus, app_id: str, *, assess: bool = True) -> None:
    ctx = CommandContext(actor="dept:notary")
    submit = SubmitApplication(
        application_id=app_id,
        region="431002001001",
        office="GZ4310",
        matter=CATALOGUE.get("no_criminal_record"),
        catalogue_version=CATALOGUE.version,
        applicant_ref="p-" + "c" * 32,
        materials_supplied=["id_card", "police_record_certificate"],
        at=AT,
    )
    await apps.execute(app_id, submit, ctx)
    await apps.execute(app_id, AcceptApplication(at=AT), ctx)
    if assess:
        await apps.execute(app_id, AssessFee(at=AT), ctx)


async def test_twenty_concurrent_issues_number_one_to_twenty(setup):
    store, apps, _, issuer = setup
    ids = [f"na-{i}" for i in range(20)]
    for i in ids:
        await ready(apps, i)
    outcomes = await asyncio.gather(
        *(issuer.issue(i, collected_in_person=False, at=AT, ctx=CommandContext(actor="dept:notary")) for i in ids)
    )
    sequences = sorted(o.events[0].payload(registry).sequence for o in outcomes)
    assert sequences == list(range(1, 21))
    assert (await store.read_stream(register_stream("GZ4310", 2026))).version == 20


async def test_refused_issue_consumes_no_number(setup):
    store, apps, _, issuer = setup
    await ready(apps, "na-early", assess=False)
    with pytest.raises(InvalidTransition):
        await issuer.issue("na-early", collected_in_person=False, at=AT, ctx=CommandContext(actor="a"))
    assert (await store.read_stream(register_stream("GZ4310", 2026))).version == 0
    await ready(apps, "na-ok")
    out = await issuer.issue("na-ok", collected_in_person=False, at=AT, ctx=CommandContext(actor="a"))
    assert out.state.certificate_no == "(2026)GZ4310证字第000001号"


async def test_issue_that_failed_after_allocation_gets_the_same_number_on_retry(setup):
    store, apps, registers, issuer = setup
    await ready(apps, "na-crash")
    await ready(apps, "na-next")
    # the allocation happened, then the process died before the application was updated
    await registers.execute(
        register_stream("GZ4310", 2026),
        domain.AllocateNumber(office="GZ4310", year=2026, application_id="na-crash", at=AT),
        CommandContext(actor="a"),
    )
    nxt = await issuer.issue("na-next", collected_in_person=False, at=AT, ctx=CommandContext(actor="a"))
    retried = await issuer.issue("na-crash", collected_in_person=False, at=AT, ctx=CommandContext(actor="a"))
    assert retried.state.certificate_no.endswith("000001号") and nxt.state.certificate_no.endswith("000002号")
    assert (await store.read_stream(register_stream("GZ4310", 2026))).version == 2


async def test_a_retried_request_with_its_idempotency_key_replays(setup):
    _, apps, _, issuer = setup
    await ready(apps, "na-1")
    ctx = CommandContext(actor="a", idempotency_key="issue-na-1")
    first = await issuer.issue("na-1", collected_in_person=False, at=AT, ctx=ctx)
    again = await issuer.issue("na-1", collected_in_person=False, at=AT, ctx=ctx)
    assert again.duplicate and again.state.certificate_no == first.state.certificate_no


def test_invalid_catalogue_file_fails_at_start(tmp_path):
    bad = tmp_path / "matters.json"
    bad.write_text(json.dumps({"version": "x", "matters": [{"id": "birth", "name_zh": "出生", "name_en": "Birth"}]}))
    with pytest.raises(ValidationError, match="materials"):
        load_catalogue(bad)


def test_worklist_view_counts_working_days_left_and_flags_overdue():
    from datetime import date

    from services.notary.handlers import application_out
    from services.notary.views import render_application

    state, _ = domain.application.run(
        [
            SubmitApplication(
                application_id="na-9",
                region="431002001001",
                office="GZ4310",
                matter=CATALOGUE.get("birth"),
                catalogue_version=CATALOGUE.version,
                applicant_ref="p-" + "d" * 32,
                materials_supplied=["id_card", "household_register", "birth_medical_certificate"],
                at=AT,
            ),
            AcceptApplication(at=AT),  # Mon 1 June → due Tue 23 June (端午 19 June off)
        ]
    )
    doc = render_application("na-9", state, 2)
    assert doc["due_on"] == "2026-06-23"
    on_time = application_out(doc, date(2026, 6, 18))
    assert on_time.working_days_left == 2 and not on_time.overdue
    late = application_out(doc, date(2026, 6, 25))
    assert late.working_days_left == -2 and late.overdue
