"""The fault suite's reconciliation checks on hand-made data: each kind of damage is reported, a clean run is not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.topics import Topics
from tests.faults.load import Command, Ledger, PartnerSend
from tests.faults.reconcile import REFERRED, Group, KeyClaim, Message, Store, StoredEvent, check

T = Topics("p")
INTAKE = T.department("intake")


@dataclass
class Commit:
    """A command's commit as the reader sees it: its events' rows and, if it had one, its idempotency key's row."""

    stream: str
    version: int
    key: str | None
    events: list[tuple[str, str, dict[str, Any]]]
    cause: str | None = None


def commit(
    stream: str, version: int, key: str | None, *events: tuple[str, str, dict[str, Any]], cause: str | None = None
) -> Commit:
    return Commit(stream, version, key, list(events), cause)


def stores(commits: dict[str, list[Commit]]) -> dict[str, Store]:
    """The rows `read_store` returns for these commits (the key row naming the versions the commit appended)."""
    out: dict[str, Store] = {}
    for service, made in commits.items():
        store = out[service] = Store()
        for c in made:
            for i, (eid, etype, data) in enumerate(c.events):
                store.events.append(StoredEvent(c.stream, c.version + i, eid, etype, data, c.cause))
            if c.key is not None:
                store.keys[c.key] = KeyClaim(c.stream, c.version, c.version + len(c.events) - 1)
    return out


def msg(topic: str, offset: int, ce_id: str, partition: int = 0, **headers: str) -> Message:
    return Message(topic, partition, offset, {"ce_id": ce_id, **headers})


def acked(key: str, rid: str, version: int) -> Command:
    return Command(key=key, kind="k", path="/", sent_at=0.0, status=201, request_id=rid, version=version)


def world() -> tuple[Ledger, dict[str, list[Commit]], dict[str, list[Message]]]:
    """Two acknowledged commands on one case; the second refers it to mediation, which handled it."""
    ledger = Ledger(
        [acked("fault-1", "rq-1", 1), acked("fault-2", "rq-1", 2)], [PartnerSend("pe-1", "court", "x", True)]
    )
    commits = {
        "intake": [
            # the store keeps a client's key scoped to the route it came on (shared/deps.py)
            commit("rq-1", 1, "http:POST /requests:fault-1", ("e1", "received", {})),
            commit(
                "rq-1",
                2,
                "http:POST /requests/{request_id}/refer:fault-2",
                ("e2", REFERRED, {"to_department": "mediation"}),
            ),
        ],
        "mediation": [
            commit("d-1", 1, "evt:e2", ("m1", "registered", {}), cause="e2"),
            commit("d-2", 1, "evt:pe-1", ("m2", "registered", {}), cause="pe-1"),
        ],
    }
    topics = {
        "intake": [msg(INTAKE, 0, "e1"), msg(INTAKE, 1, "e2")],
        "mediation": [msg(T.department("mediation"), 0, "m1"), msg(T.department("mediation"), 1, "m2")],
    }
    return ledger, commits, topics


GROUPS = [Group("mediation", "p_mediation", "p.mediation.intake", (INTAKE,))]
INBOX = {"p.mediation.intake": {"e1", "e2"}}


def problems(ledger: Ledger, st: dict[str, Store], topics: dict[str, Any], **kw: Any) -> dict[str, list[str]]:
    res = check(ledger, st, topics, kw.get("dead", []), kw.get("inbox", INBOX), GROUPS, T, "intake")
    return {k: v for k, v in res.problems.items() if v}


def run(ledger: Ledger, commits: dict[str, list[Commit]], topics: dict[str, Any], **kw: Any) -> dict[str, list[str]]:
    return problems(ledger, stores(commits), topics, **kw)


def test_a_clean_world_reconciles() -> None:
    ledger, commits, topics = world()
    res = check(ledger, stores(commits), topics, [], INBOX, GROUPS, T, "intake")
    assert not any(res.problems.values()), res.summary()
    f = res.figures
    assert (f.acknowledged, f.events_stored, f.delivered, f.duplicates, f.handled_from_events) == (2, 4, 4, 0, 2)


def test_an_acknowledged_command_missing_from_the_store_is_lost() -> None:
    ledger, commits, topics = world()
    commits["intake"].pop(0)
    topics["intake"].pop(0)
    assert "lost" in run(ledger, commits, topics)


def test_a_key_naming_a_commit_that_is_not_stored_is_a_loss() -> None:
    ledger, commits, topics = world()
    st = stores(commits)
    st["intake"].events = [e for e in st["intake"].events if e.id != "e1"]  # the key row survived, the event not
    topics["intake"].pop(0)
    assert set(problems(ledger, st, topics)) == {"lost", "key_without_commit"}


def test_a_command_stored_again_under_no_key_is_a_double_count() -> None:
    # a client's retry that escaped its key: a second case in the entry store, under no key
    ledger, commits, topics = world()
    commits["intake"].append(commit("rq-9", 1, None, ("e9", "received", {})))
    topics["intake"].append(msg(INTAKE, 2, "e9"))
    assert set(run(ledger, commits, topics, inbox={"p.mediation.intake": {"e1", "e2", "e9"}})) == {"double_counted"}
    # a redelivered referral handled again on the case its key names, beside the first commit
    ledger, commits, topics = world()
    commits["mediation"].append(commit("d-1", 2, None, ("m9", "registered", {}), cause="e2"))
    topics["mediation"].append(msg(T.department("mediation"), 2, "m9"))
    assert set(run(ledger, commits, topics)) == {"double_counted"}
    # ... which a command of its own on that case, caused by another event, is not
    commits["mediation"][-1] = commit("d-1", 2, "evt:e7", ("m9", "registered", {}), cause="e7")
    assert run(ledger, commits, topics) == {}


def test_a_commit_under_two_keys_or_an_event_stored_twice_is_a_double_count() -> None:
    ledger, commits, topics = world()
    st = stores(commits)
    st["intake"].keys["other-1"] = KeyClaim("rq-1", 1, 1)  # what fault-1 made, claimed by another command too
    assert set(problems(ledger, st, topics)) == {"double_counted"}
    ledger, commits, topics = world()
    commits["mediation"].append(commit("d-3", 1, "evt:pe-2", ("m1", "registered", {}), cause="pe-2"))
    assert set(run(ledger, commits, topics)) == {"double_counted"}


def test_duplicates_are_counted_and_an_unpublished_event_is_reported() -> None:
    ledger, commits, topics = world()
    topics["intake"].append(msg(INTAKE, 2, "e2"))  # a second copy
    res = check(ledger, stores(commits), topics, [], INBOX, GROUPS, T, "intake")
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
