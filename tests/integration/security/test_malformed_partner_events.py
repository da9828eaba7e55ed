"""Hypothesis-generated malformed partner events against the legal aid service consuming the partner inbound
topics on the real broker: bad JSON, missing or broken `ce_*` headers, unknown types and versions, oversized
payloads, a source that is not the sending partner. Every one lands on the dead-letter topic with a reason (matched by
its origin topic, partition and offset), and the consumer stays alive: a valid notice sent afterwards opens a case.

Hypothesis only generates here (synchronously, no I/O); the records are then produced and checked on the test's loop.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from services.legal_aid.config import Settings
from services.legal_aid.main import create_app
from shared import kafka
from shared.contracts.partners import DefenceKind, NotifiedDefenceRequested, ProceedingStage
from shared.envelope import MAX_EVENT_BYTES, Envelope
from shared.events import registry
from shared.partners import partners_sending
from shared.topics import PARTNERS, Topics
from tests.integration.helpers import drop_schemas, eventually

pytestmark = pytest.mark.integration

Record = tuple[str, str, bytes | None, list[tuple[str, bytes]]]  # (kind, partner, value, headers)
#: the organs whose inbound topics legal aid reads (notified defence, forwarded applications)
ORGANS = tuple(partners_sending([NotifiedDefenceRequested]))
#: attributes without a default in the envelope: dropping one leaves no valid event
REQUIRED = ("ce_type", "ce_source", "ce_subject", "ce_correlationid", "ce_actor")


def notice(partner: str, reference: str, **over: Any) -> Envelope:
    payload = NotifiedDefenceRequested(
        partner_reference=reference,
        kind=DefenceKind.NOTIFIED_DEFENCE,
        defendant_ref="p-" + "d" * 32,
        region="340302001000",
        stage=ProceedingStage.TRIAL,
        charge="theft",
        notified_at=datetime.now(UTC) - timedelta(hours=1),
    )
    env = Envelope.wrap(
        payload, source=f"partner/{partner}", subject=reference, correlationid=f"corr-{reference}", actor="x"
    )
    return env.model_copy(update=over) if over else env


def _with(headers: list[tuple[str, bytes]], name: str, value: bytes | None) -> list[tuple[str, bytes]]:
    """`headers` with `name` replaced by `value` (or removed when None)."""
    out = [(k, v) for k, v in headers if k != name]
    return out if value is None else [*out, (name, value)]


def _not_a_json_object(raw: bytes) -> bool:
    try:
        return not isinstance(json.loads(raw), dict) and raw != b""
    except ValueError:
        return True


@st.composite
def malformed(draw: st.DrawFn, kind: str) -> Record:
    partner = draw(st.sampled_from(ORGANS))
    reference = "bad-" + draw(st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=6, max_size=24))
    _key, value, headers = notice(partner, reference).to_kafka()
    text = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() != "")
    if kind == "bad_json":
        value = draw(
            st.one_of(
                st.binary(min_size=1, max_size=300),
                st.sampled_from([b"{", b"[1, 2]", b"null", b'"a string"', b"42", b"\xff\xfe{}", value[:-1]]),
                st.builds(lambda j: json.dumps(j).encode(), st.lists(st.integers()) | st.text() | st.booleans()),
            ).filter(_not_a_json_object)
        )
    elif kind == "missing_header":
        headers = _with(headers, draw(st.sampled_from(REQUIRED)), None)
    elif kind == "bad_header":
        name, bad = draw(
            st.one_of(
                st.tuples(st.just("ce_specversion"), text.filter(lambda s: s != "1.0")),
                st.tuples(st.just("ce_time"), st.sampled_from(["yesterday", "2026-13-45T99:00:00Z", "1700000000x"])),
                st.tuples(st.just("ce_time"), st.just("2026-11-29T10:00:00")),  # no timezone
                st.tuples(st.just("ce_schemaversion"), st.sampled_from(["0", "-3", "one", "1.5", ""])),
                st.tuples(st.just("ce_id"), st.just("")),
                st.tuples(st.just("ce_subject"), st.text(min_size=129, max_size=300)),
                st.tuples(st.just("content-type"), text.filter(lambda s: not s.startswith("application/json"))),
            )
        )
        raw = bad.encode() if isinstance(bad, str) else bad
        if draw(st.booleans()) and name.startswith("ce_"):
            raw = b"\xff" + raw  # and not UTF-8 either
        headers = _with(headers, name, raw)
    elif kind == "unknown_type":
        unknown = draw(st.text(min_size=1, max_size=120).filter(lambda t: t not in registry and t.strip() != ""))
        headers = _with(headers, "ce_type", unknown.encode())
    elif kind == "unknown_version":
        version = draw(st.integers(min_value=NotifiedDefenceRequested.version + 1, max_value=10**12))
        headers = _with(headers, "ce_schemaversion", str(version).encode())
    elif kind == "oversized":
        size = draw(st.integers(min_value=MAX_EVENT_BYTES + 1, max_value=700_000))
        data = json.loads(value)
        how = draw(st.sampled_from(["padded", "long_field", "extra_field"]))
        if how == "padded":  # a valid event, only too big: the size limit alone must refuse it
            value = value + b" " * (size - len(value))
        else:
            if how == "long_field":
                data["charge"] = "盗" * (size // 3)
            else:
                data["attachment"] = "A" * size  # a field the contract does not have
            value = json.dumps(data, ensure_ascii=False).encode()
    elif kind == "wrong_source":
        source = draw(
            st.one_of(
                st.sampled_from([f"partner/{p}" for p in PARTNERS if p != partner] + ["caseflow/legal_aid"]),
                text.filter(lambda s: s != f"partner/{partner}"),
            )
        )
        headers = _with(headers, "ce_source", source.encode())
    elif kind == "invalid_payload":
        data = json.loads(value)
        required = sorted(n for n, f in NotifiedDefenceRequested.model_fields.items() if f.is_required())
        field = draw(st.sampled_from(required))
        # none of these is valid for a required field (an int would be: a datetime takes a Unix time)
        bad_value = st.one_of(st.none(), st.just(""), st.lists(st.integers(), max_size=3), st.dictionaries(text, text))
        if draw(st.booleans()):
            data[field] = draw(bad_value)
        else:
            del data[field]
        value = json.dumps(data).encode()
    else:  # pragma: no cover
        raise AssertionError(kind)
    return kind, partner, value, headers


KINDS = {  # kind → examples; the oversized ones are few (each is copied to the dead-letter topic)
    "bad_json": 8,
    "missing_header": 6,
    "bad_header": 10,
    "unknown_type": 6,
    "unknown_version": 5,
    "oversized": 4,
    "wrong_source": 8,
    "invalid_payload": 6,
}


def generate() -> list[Record]:
    records: list[Record] = []
    for kind, count in KINDS.items():

        @hypothesis_settings(max_examples=count, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(malformed(kind))
        def collect(record: Record) -> None:
            records.append(record)

        collect()
    return records


async def test_malformed_partner_events_are_dead_lettered_with_reasons_and_the_consumer_survives(platform):
    topics = Topics(platform.topic_prefix)
    records = generate()
    assert {r[0] for r in records} == set(KINDS)
    app = create_app(Settings(platform=platform))
    try:
        async with app.router.lifespan_context(app):
            producer = kafka.producer(platform, max_request_size=2_000_000)
            await producer.start()
            sent: dict[tuple[str, int, int], Record] = {}
            try:
                for record in records:
                    _kind, partner, value, headers = record
                    meta = await producer.send_and_wait(
                        topics.partner_inbound(partner), value=value, key=b"malformed", headers=headers
                    )
                    sent[(meta.topic, meta.partition, meta.offset)] = record
            finally:
                await producer.stop()

            dead: dict[tuple[str, int, int], dict[str, bytes]] = {}
            consumer = kafka.consumer(platform, topics.deadletter, group_id=None, max_partition_fetch_bytes=4_000_000)
            await consumer.start()
            try:

                async def all_dead_lettered() -> bool:
                    for batch in (await consumer.getmany(timeout_ms=500)).values():
                        for r in batch:
                            h = dict(r.headers)
                            dead[(h["dlq_topic"].decode(), int(h["dlq_partition"]), int(h["dlq_offset"]))] = h
                    return set(sent) <= set(dead)

                await eventually(
                    all_dead_lettered,
                    timeout=60,
                    what=lambda: f"dead letters for {[sent[k][:2] for k in set(sent) - set(dead)]}",
                )
            finally:
                await consumer.stop()
            for origin, record in sent.items():
                h = dead[origin]
                assert h["dlq_reason"].strip() and h["dlq_error"].strip(), (record[:2], h)
                if record[0] == "wrong_source":
                    assert h["dlq_error"] == b"refused" and b"does not match" in h["dlq_reason"], h
                if record[0] == "oversized":
                    assert b"exceeds the" in h["dlq_reason"], h["dlq_reason"]
                if record[0] in ("unknown_type", "unknown_version"):
                    assert h["dlq_error"] == b"unknown_event_type", (record[:2], h["dlq_reason"])

            # alive: no consumer task died, and a valid notice sent afterwards opens a case
            assert not [t.get_name() for t in app.state.runtime._tasks if t.done()]
            key, value, headers = notice("court", "(2026)皖0302刑初99号").to_kafka()
            producer = kafka.producer(platform)
            await producer.start()
            try:
                await producer.send_and_wait(topics.partner_inbound("court"), value=value, key=key, headers=headers)
            finally:
                await producer.stop()

            async def opened() -> bool:
                return bool(await app.state.legal_aid.cases.find({"partner_reference": "(2026)皖0302刑初99号"}))

            await eventually(opened, timeout=30, what="the valid notice processed after the malformed ones")
            stats = [c.stats for c in app.state.runtime.consumers if c.name.endswith(".partners")][0]
            assert stats.dead_lettered == len(sent) and stats.handled >= 1, stats
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://la") as client:
                assert (await client.get("/healthz")).status_code == 200
    finally:
        await drop_schemas(platform, "legal_aid")
