from datetime import UTC, datetime

import pytest

from shared.envelope import Envelope
from shared.errors import MalformedEvent, UnknownEventType
from tests.unit.shared.sample import TicketNoted, TicketOpened, test_registry


def make(**kw) -> Envelope:
    return Envelope.wrap(
        TicketOpened(title="工资纠纷 wages"),
        source="caseflow/test",
        subject="case-1",
        correlationid="corr-1",
        actor="dept:intake",
        causationid="cause-1",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        **kw,
    )


def test_json_round_trip_is_exact():
    env = make(time=datetime(2026, 1, 31, 23, 59, 59, 123456, tzinfo=UTC))
    again = Envelope.from_json(env.to_json())
    assert again == env
    assert again.to_json() == env.to_json()


def test_kafka_binary_binding_round_trip_keys_by_case():
    env = make()
    key, value, headers = env.to_kafka()
    assert key == b"case-1"
    names = dict(headers)
    assert names["ce_type"] == b"test.ticket.opened"
    assert names["ce_correlationid"] == b"corr-1"
    assert names["content-type"] == b"application/json"
    assert Envelope.from_kafka(value, headers) == env


def test_typed_payload_comes_back():
    assert make().payload(test_registry) == TicketOpened(title="工资纠纷 wages")


def test_old_version_is_upcast_on_read():
    env = Envelope(
        source="s",
        type="test.ticket.noted",
        subject="c",
        correlationid="c",
        actor="a",
        schemaversion=1,
        data={"text": "hello"},
    )
    assert env.payload(test_registry) == TicketNoted(text="hello", author="unknown")


def test_newer_version_than_known_is_refused():
    env = Envelope(
        source="s",
        type="test.ticket.noted",
        subject="c",
        correlationid="c",
        actor="a",
        schemaversion=3,
        data={"text": "x", "author": "y"},
    )
    with pytest.raises(UnknownEventType, match="newer"):
        env.payload(test_registry)


def test_unknown_type_is_refused():
    env = Envelope(source="s", type="test.nope", subject="c", correlationid="c", actor="a")
    with pytest.raises(UnknownEventType):
        env.payload(test_registry)


@pytest.mark.parametrize(
    "value,headers,reason",
    [
        (b"{}", [], "ce_type"),
        (b"not json", [("ce_type", b"t")], "not JSON"),
        (b"[1]", [("ce_type", b"t")], "JSON object"),
        (b"{}", [("ce_type", b"t"), ("ce_id", b"1")], "invalid envelope"),
        (b"{}", [("ce_type", b"t"), ("content-type", b"text/xml")], "content-type"),
        (b"{}", [("ce_type", b"\xff\xfe")], "UTF-8"),
        (b'{"x": "' + b"a" * 256_000 + b'"}', [("ce_type", b"t")], "256009 bytes exceeds the 256000-byte limit"),
    ],
)
def test_malformed_kafka_messages_are_named(value, headers, reason):
    with pytest.raises(MalformedEvent, match=reason):
        Envelope.from_kafka(value, headers)


def test_payload_that_breaks_its_schema_is_malformed():
    env = Envelope(source="s", type="test.ticket.opened", subject="c", correlationid="c", actor="a", data={})
    with pytest.raises(MalformedEvent, match="title"):
        env.payload(test_registry)


def test_naive_time_is_refused():
    with pytest.raises(MalformedEvent):
        Envelope.from_dict(
            {
                "source": "s",
                "type": "t",
                "subject": "c",
                "correlationid": "c",
                "actor": "a",
                "time": "2026-01-01T00:00:00",
            }
        )
