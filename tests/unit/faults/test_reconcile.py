"""The fault suite's reconciliation checks on hand-made data: each kind of damage is reported, a clean run is not."""

from __future__ import annotations

from typing import Any

from shared.eventstore import _versions_in_order
from shared.topics import Topics
from tests.faults.load import Command, Ledger, PartnerSend
from tests.faults.reconcile import REFERRED, Group, Message, check

T = Topics("p")
INTAKE = T.department("intake")


def commit(stream: str, version: int, key: str | None, *events: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "_id": f"{stream}:{version}",
        "stream_id": stream,
        "first_version": version,
        "last_version": version + len(events) - 1,
        "idempotency_key": key,
        "events": [{"id": eid, "type": etype, "data": data} for eid, etype, data in events],
    }


def msg(topic: str, offset: int, ce_id: str, partition: int = 0, **headers: str) -> Message:
    return Message(topic, partition, offset, {"ce_id": ce_id, **headers})


def acked(key: str, rid: str, version: int) -> Command:
    return Command(key=key, kind="k", path="/", sent_at=0.0, status=201, request_id=rid, version=version)


def world() -> tuple[Ledger, dict[str, list[dict[str, Any]]], dict[str, list[Message]]]:
    """Two acknowledged commands on one case; the second refers it to mediation, which handled it."""
    ledger = Ledger(
        [acked("fault-1", "rq-1", 1), acked("fault-2", "rq-1", 2)], [PartnerSend("pe-1", "court", "x", True)]
    )
    commits = {
        "intake": [
            commit("rq-1", 1, "fault-1", ("e1", "received", {})),
            commit("rq-1", 2, "fault-2", ("e2", REFERRED, {"to_department": "mediation"})),
        ],
        "mediation": [
            commit("d-1", 1, "evt:e2", ("m1", "registered", {})),
            commit("d-2", 1, "evt:pe-1", ("m2", "registered", {})),
        ],
    }
    topics = {
        "intake": [msg(INTAKE, 0, "e1"), msg(INTAKE, 1, "e2")],
        "mediation": [msg(T.department("mediation"), 0, "m1"), msg(T.department("mediation"), 1, "m2")],
    }
    return ledger, commits, topics


GROUPS = [Group("mediation", "p_mediation", "p.mediation.intake", (INTAKE,))]
INBOX = {"p.mediation.intake": {"e1", "e2"}}


def run(ledger: Ledger, commits: dict[str, Any], topics: dict[str, Any], **kw: Any) -> dict[str, list[str]]:
    res = check(ledger, commits, topics, kw.get("dead", []), kw.get("inbox", INBOX), GROUPS, T, "intake")
    return {k: v for k, v in res.problems.items() if v}


def test_a_clean_world_reconciles() -> None:
    ledger, commits, topics = world()
    res = check(ledger, commits, topics, [], INBOX, GROUPS, T, "intake")
    assert not any(res.problems.values()), res.summary()
    f = res.figures
    assert (f.acknowledged, f.events_stored, f.delivered, f.duplicates, f.handled_from_events) == (2, 4, 4, 0, 2)


def test_an_acknowledged_command_missing_from_the_store_is_lost() -> None:
    ledger, commits, topics = world()
    commits["intake"].pop(0)
    topics["intake"].pop(0)
    assert "lost" in run(ledger, commits, topics)


def test_a_key_on_two_commits_is_a_double_count() -> None:
    ledger, commits, topics = world()
    commits["intake"].append(commit("rq-9", 1, "fault-1", ("e9", "received", {})))
    topics["intake"].append(msg(INTAKE, 2, "e9"))
    assert "double_counted" in run(ledger, commits, topics)


def test_duplicates_are_counted_and_an_unpublished_event_is_reported() -> None:
    ledger, commits, topics = world()
    topics["intake"].append(msg(INTAKE, 2, "e2"))  # a second copy
    res = check(ledger, commits, topics, [], INBOX, GROUPS, T, "intake")
    assert res.figures.duplicates == 1 and not any(res.problems.values())
    topics["intake"] = [m for m in topics["intake"] if m.ce_id != "e1"]
    assert "not_published" in run(ledger, commits, topics, inbox={"p.mediation.intake": {"e1", "e2"}})


def test_a_later_version_first_on_the_topic_breaks_order() -> None:
    ledger, commits, topics = world()
    topics["intake"] = [msg(INTAKE, 0, "e2"), msg(INTAKE, 1, "e1")]
    assert "order" in run(ledger, commits, topics)


def test_an_event_missing_from_a_group_inbox_and_an_unhandled_referral_are_reported() -> None:
    ledger, commits, topics = world()
    commits["mediation"].pop(0)
    topics["mediation"].pop(0)
    problems = run(ledger, commits, topics, inbox={"p.mediation.intake": {"e1"}})
    assert "not_consumed" in problems and "not_handled" in problems
    # dead-lettered by that consumer: accounted for
    dead = [msg(T.deadletter, 0, "e2", dlq_consumer="mediation")]
    assert run(ledger, commits, topics, inbox={"p.mediation.intake": {"e1"}}, dead=dead) == {}


def test_the_relay_orders_a_streams_entries_by_version_whatever_their_positions() -> None:
    # a non-atomic position counter gave the stream's second commit a lower position than its first
    entries = [
        {"_id": "a", "stream_id": "s", "commit_id": "s:2", "position": 7},
        {"_id": "b", "stream_id": "t", "commit_id": "t:1", "position": 8},
        {"_id": "c", "stream_id": "s", "commit_id": "s:1", "position": 9},
    ]
    assert [e["commit_id"] for e in _versions_in_order(entries)] == ["s:1", "t:1", "s:2"]
