"""The router's choices without a broker: a record goes to its correlation id's partition (or under its own key,
to be dead-lettered by the fold), and a dead letter names where the router read the record, not the by-case copy."""

from __future__ import annotations

from types import SimpleNamespace

from services.metrics.route import as_routed, correlation_key, origin_of

ORIGIN = [
    ("caseflow_origin_topic", b"cf.legal_aid.events"),
    ("caseflow_origin_partition", b"2"),
    ("caseflow_origin_offset", b"41"),
]


def record(headers, key=b"la-1"):  # type: ignore[no-untyped-def]
    return SimpleNamespace(topic="cf.metrics.writer-by-case", partition=5, offset=7, key=key, value=b"{}",
                           headers=headers)  # fmt: skip


def test_a_record_is_keyed_by_its_correlation_id_else_by_its_own_key():
    assert correlation_key(record([("ce_correlationid", b"rq-9"), ("ce_subject", b"la-1")])) == b"rq-9"
    assert correlation_key(record([("ce_correlationid", b"")])) == b"la-1"  # the fold parks it with the reason
    assert correlation_key(record([], key=None)) == b"-"


def test_a_dead_letter_names_where_the_router_read_the_record():
    msg = record([("ce_type", b"x"), *ORIGIN])
    assert origin_of(msg.headers) == ("cf.legal_aid.events", 2, 41)
    routed = as_routed(msg)
    assert (routed.topic, routed.partition, routed.offset) == ("cf.legal_aid.events", 2, 41)
    assert routed.value == msg.value and routed.headers == msg.headers


def test_a_record_without_a_readable_origin_is_parked_as_it_is():
    assert origin_of([]) is None
    assert origin_of([*ORIGIN[:2], ("caseflow_origin_offset", b"not a number")]) is None
    msg = record([])
    assert as_routed(msg) is msg
