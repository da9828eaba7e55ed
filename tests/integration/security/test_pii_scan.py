"""PII never leaves the owning service's vault: after a realistic intake → legal aid flow carrying a seeded resident
ID number, mobile number and name, no record on any topic of the run (key, value, headers), no log line at DEBUG and
no exported span contains them. Planted control values prove each channel is really being captured and scanned.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from services.intake.config import Settings as IntakeSettings
from services.intake.main import create_app as intake_app
from services.legal_aid.config import Settings as LegalAidSettings
from services.legal_aid.main import create_app as legal_aid_app
from shared import kafka, telemetry
from shared.pii import check_digit
from shared.settings import PlatformSettings
from shared.topics import Topics
from tests.conftest import token
from tests.integration.helpers import drop_schemas, eventually, read_topic
from tests.integration.security.scan import LogCapture, SwitchableSpanFile, scan_lines, scan_topics

pytestmark = pytest.mark.integration

APPLICANT_ID = "43100219870315452" + check_digit("43100219870315452")
OPPONENT_ID = "34030419920229318" + check_digit("34030419920229318")
WRONG_CHECK_ID = "43100219870315452" + ("0" if check_digit("43100219870315452") != "0" else "1")
PHONE, OPPONENT_PHONE = "13712340987", "15898760123"
NAME = "欧阳晓测"  # unique enough that only a leak could put it anywhere
SEEDED = [APPLICANT_ID, OPPONENT_ID, WRONG_CHECK_ID, PHONE, OPPONENT_PHONE, NAME]
NOISY = ("aiokafka", "kafka", "psycopg", "uvicorn.access")


@contextlib.contextmanager
def span_file(path: Path):
    """Spans of this test (HTTP, PostgreSQL, consumers) into a JSON-lines file via the platform's file exporter."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        telemetry.setup_telemetry("pii-scan", PlatformSettings(otel_exporter="none"))
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    database = PsycopgInstrumentor()
    instrumented_here = not database.is_instrumented_by_opentelemetry
    if instrumented_here:
        database.instrument(enable_commenter=False)
    exporter = SwitchableSpanFile(path)
    processor = SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    try:
        yield provider
    finally:
        provider.force_flush()
        exporter.enabled = False
        if instrumented_here:
            database.uninstrument()


@contextlib.contextmanager
def debug_logs():
    """Every logger at DEBUG into one capture (the services' setup_logging replaced the root handlers)."""
    root = logging.getLogger()
    before = root.level, {n: logging.getLogger(n).level for n in NOISY}
    capture = LogCapture()
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        root.setLevel(before[0])
        for name, level in before[1].items():
            logging.getLogger(name).setLevel(level)


async def test_no_seeded_id_or_phone_on_any_topic_log_line_or_span(platform, tmp_path, capfd):
    platform = platform.model_copy(update={"log_level": "DEBUG"})
    topics = Topics(platform.topic_prefix)
    spans_path = tmp_path / "spans.jsonl"
    person = {"name": NAME, "id_number": APPLICANT_ID, "phone": PHONE}
    try:
        with span_file(spans_path) as provider:
            # built after the instrumentation: the pool opens its connections through the instrumented connect
            intake = intake_app(IntakeSettings(platform=platform))
            legal_aid = legal_aid_app(LegalAidSettings(platform=platform))
            async with (
                intake.router.lifespan_context(intake),
                legal_aid.router.lifespan_context(legal_aid),
                httpx.AsyncClient(transport=httpx.ASGITransport(intake), base_url="http://intake") as ic,
                httpx.AsyncClient(transport=httpx.ASGITransport(legal_aid), base_url="http://legal-aid") as lc,
            ):
                with debug_logs() as logs:
                    ic.headers.update(token(platform, "dept:intake", ["intake:read", "intake:write"]))
                    lc.headers.update(
                        token(platform, "dept:legal_aid", ["legal_aid:apply", "legal_aid:review", "legal_aid:write"])
                    )
                    walk_in = {"channel": "walk_in", "level": "county", "region": "431002000000", "kind": "help"}
                    r = await ic.post("/requests", json={**walk_in, "topic": "labour", "person": person})
                    assert r.status_code == 201, r.text
                    rid = r.json()["request_id"]
                    # the owner's view shows the person (over HTTP only) ...
                    seen = (await ic.get(f"/requests/{rid}/person")).json()
                    assert seen["id_number"] == APPLICANT_ID and seen["phone"] == PHONE
                    # ... a refused ID number is not echoed anywhere either
                    bad = {**person, "id_number": WRONG_CHECK_ID}
                    r = await ic.post("/requests", json={**walk_in, "topic": "labour", "person": bad})
                    assert r.status_code == 422 and WRONG_CHECK_ID not in r.text, r.text
                    r = await ic.post(f"/requests/{rid}/refer", json={"to_department": "legal_aid", "matter": "欠薪"})
                    assert r.status_code == 200, r.text

                    application = {
                        "region": "340304000000",
                        "matter_type": "wages",
                        "matter": "unpaid wages at a building site",
                        "applicant": {"name": NAME, "id_number": APPLICANT_ID, "phone": PHONE},
                        "opposing_parties": [
                            {"name": "某建筑公司负责人", "id_number": OPPONENT_ID, "phone": OPPONENT_PHONE}
                        ],
                        "household_income_per_head": 900,
                    }
                    r = await lc.post("/applications", json=application, headers={"Idempotency-Key": "pii-apply-1"})
                    assert r.status_code == 201, r.text
                    case = r.json()["id"]
                    assert (await lc.post(f"/applications/{case}/review", json={})).status_code == 200
                    r = await lc.post(f"/applications/{case}/assign", json={"provider_id": "bb-lawyer-001"})
                    assert r.status_code == 200, r.text

                    async def referred() -> bool:
                        return bool(await legal_aid.state.legal_aid.cases.find({"channel": "intake_referral"}))

                    await eventually(referred, timeout=30, what="legal aid case opened from the intake referral")
                    # the events reached the topics (the relays publish after the commit)
                    assert len(await read_topic(platform, topics.department("intake"), expect=2, timeout=20)) >= 2
                    assert len(await read_topic(platform, topics.department("legal_aid"), expect=4, timeout=20)) >= 4
            provider.force_flush()

            # -- the scan: nothing anywhere ---------------------------------------------------------------------
            records, hits = await scan_topics(platform, SEEDED)
            assert records >= 6, f"only {records} records on the run's topics: the flow did not run"
            assert logs.lines and any("intake" in line for line in logs.lines), "no log lines captured"
            hits += scan_lines("log", logs.lines, SEEDED)
            stderr = capfd.readouterr().err
            hits += scan_lines("stderr", stderr.splitlines(), SEEDED)
            spans = spans_path.read_text().splitlines()
            assert any('"POST /requests' in s for s in spans), "no HTTP spans exported"
            assert any("postgresql" in s.lower() for s in spans), "no PostgreSQL spans exported"
            hits += scan_lines("span", spans, SEEDED)
            assert hits == [], "personal data leaked:\n" + "\n".join(f"{h.needle} in {h.where}" for h in hits)

            # -- controls: each channel finds a planted value, so the empty result above means something -----
            producer: AIOKafkaProducer = kafka.producer(platform)
            await producer.start()
            try:
                control = f"{platform.topic_prefix}.pii-control"
                await producer.send_and_wait(control, value=b'{"note":"ok"}', headers=[("x-contact", PHONE.encode())])
                await producer.send_and_wait(control, value=f'{{"id":"{APPLICANT_ID}"}}'.encode())
            finally:
                await producer.stop()
            _, planted = await scan_topics(platform, SEEDED)
            assert {(h.where.split("[")[0], h.needle) for h in planted} == {(control, PHONE), (control, APPLICANT_ID)}
            assert any("header x-contact" in h.where for h in planted)
            with debug_logs() as control_logs:
                logging.getLogger("services.legal_aid").debug("calling back %s", OPPONENT_PHONE)
            assert [h.needle for h in scan_lines("log", control_logs.lines, SEEDED)] == [OPPONENT_PHONE]
            with trace.get_tracer("pii-control").start_as_current_span("control", attributes={"who": NAME}):
                pass
            provider.force_flush()
            found = scan_lines("span", spans_path.read_text().splitlines(), SEEDED)
            assert [h.needle for h in found] == [NAME]
    finally:
        await drop_schemas(platform, "intake", "legal_aid")
