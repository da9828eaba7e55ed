"""The replay's batch decoder: the events the fold reads, and every record refused for the live writer's reason."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from bench.case_streams import events
from services.metrics.replay.decode import BatchDecoder
from services.metrics.sources import decode as live_decode
from shared.errors import CaseflowError
from shared.events import registry
from tests.unit.metrics.helpers import T0, env, notified


def record(value: bytes | None, headers: list[tuple[str, Any]], offset: int = 7) -> SimpleNamespace:
    return SimpleNamespace(topic="t.legal_aid", partition=2, offset=offset, key=b"k", value=value, headers=headers)


def of(envelope: Any, offset: int = 7) -> SimpleNamespace:
    _, value, headers = envelope.to_kafka()
    return record(value, headers, offset)


def with_header(msg: SimpleNamespace, name: str, value: Any) -> SimpleNamespace:
    headers = [(n, v) for n, v in msg.headers if n != name] + ([(name, value)] if value is not None else [])
    return record(msg.value, headers, msg.offset)


def verdict(decoder_or_live: Any, msg: SimpleNamespace) -> str:
    try:
        decoder_or_live(msg)
    except CaseflowError as exc:
        return exc.code
    return "ok"


def test_generated_events_decode_on_the_fast_path_to_what_the_live_writer_folds():
    sample = [of(e, i) for i, (_, e) in enumerate(events(400, seed=5))]
    decoder = BatchDecoder(registry)
    decoded, refused = decoder.decode(sample)
    assert refused == [] and decoder.fast == len(sample) and decoder.checked == 0
    for msg, event in decoded:
        live = live_decode(msg, registry)
        assert (event.id, event.type, event.time, event.subject, event.correlationid, event.actor,
                event.traceparent, event.data) == (live.id, live.type, live.time, live.subject, live.correlationid,
                                                   live.actor, live.traceparent, live.data)  # fmt: skip


GOOD = of(next(events(1, seed=7))[1])


@pytest.mark.parametrize(
    "msg",
    [
        with_header(GOOD, "ce_time", b"2026-03-02T01:00:00"),  # no offset: the envelope refuses it
        with_header(GOOD, "ce_time", b"2026-03-02 01:00:00+08:00"),  # not RFC 3339, yet the envelope takes it
        with_header(GOOD, "ce_specversion", None),  # absent: the envelope's default
        with_header(GOOD, "ce_specversion", b"0.3"),
        with_header(GOOD, "ce_schemaversion", b"01"),
        with_header(GOOD, "ce_schemaversion", b"0"),
        with_header(GOOD, "ce_id", b"x" * 129),
        with_header(GOOD, "ce_correlationid", None),
        with_header(GOOD, "ce_actor", b""),
        with_header(GOOD, "content-type", b"text/plain"),
        with_header(GOOD, "bench_sent", b"\xff\xfe"),  # any header not UTF-8
        with_header(GOOD, "ce_type", b"caseflow.legal_aid.unheard_of"),
        with_header(GOOD, "ce_schemaversion", b"9"),
        record(GOOD.value[: len(GOOD.value) // 2], GOOD.headers),  # truncated
        record(b"[1, 2]", GOOD.headers),
        record(GOOD.value.replace(b"}", b',"x":NaN}', 1), GOOD.headers),  # `json` reads NaN, msgspec does not
        record(b"", GOOD.headers),
        record(None, GOOD.headers),
        of(notified("la-d2")),  # invalid payload: no defendant_ref
        of(
            env(
                "caseflow.intake.request_answered",
                "in-d3",
                T0,
                answered_at=T0,
                on_the_spot=True,
                channel="fax",
                region="431002001001",
            )
        ),  # invalid payload: an unknown channel
    ],
)
def test_every_record_is_accepted_or_refused_as_the_live_writer_does(msg):
    decoder = BatchDecoder(registry)
    assert verdict(decoder.one, msg) == verdict(lambda m: live_decode(m, registry), msg)


def test_refused_records_are_counted_by_code_and_named_with_their_place_not_a_crash():
    unknown = with_header(GOOD, "ce_type", b"caseflow.legal_aid.unheard_of")
    newer = with_header(record(GOOD.value, GOOD.headers, 8), "ce_schemaversion", b"9")
    truncated = record(GOOD.value[:20], GOOD.headers, offset=9)
    decoder = BatchDecoder(registry)
    decoded, refused = decoder.decode([unknown, GOOD, newer, truncated])
    assert [m.offset for m, _ in decoded] == [GOOD.offset]
    assert dict(decoder.refused) == {"unknown_event_type": 2, "malformed_event": 1}
    assert [(r.topic, r.partition, r.offset, r.code) for r in refused] == [
        ("t.legal_aid", 2, 7, "unknown_event_type"),
        ("t.legal_aid", 2, 8, "unknown_event_type"),
        ("t.legal_aid", 2, 9, "malformed_event"),
    ]
    assert "t.legal_aid[2]@9: malformed_event" in str(refused[2])
