"""`caseflow dlq` without a broker: argument validation (exit 2 before any connection), which dead letters a replay
picks, what a replay carries, and the operator profile the operator commands read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from caseflow_cli import dlq
from caseflow_cli.dlq import DeadLetter, choose, parse_id
from caseflow_cli.infra import InfraSettings, InfraStatus, ServerStatus
from caseflow_cli.main import app
from caseflow_cli.profile import operator_settings, read_profile, write_profile

runner = CliRunner(env={"COLUMNS": "240"})
UNREACHABLE = {"CASEFLOW_KAFKA_BOOTSTRAP": "127.0.0.1:9"}


def letter(partition: int, offset: int, topic: str | None = "p.intake.events", replayed: str | None = None):
    headers = [("ce_id", b"evt-1"), ("ce_type", b"caseflow.intake.request_referred"), ("dlq_reason", b"bad")]
    if topic:
        headers += [("dlq_topic", topic.encode()), ("dlq_partition", b"2"), ("dlq_offset", b"41")]
    return DeadLetter(partition, offset, b"rq-1", b'{"a": 1}', tuple(headers), replayed)


@pytest.mark.parametrize(
    "args",
    [
        ["dlq", "replay"],  # nothing named
        ["dlq", "replay", "0:1", "--all", "--topic", "p.intake.events"],  # both
        ["dlq", "replay", "--all"],  # --all without --topic
        ["dlq", "replay", "0:1", "--topic", "p.intake.events"],  # --topic without --all
        ["dlq", "replay", "zero:one"],
        ["dlq", "show", "17"],
        ["dlq", "show", "0:-1"],
        ["dlq", "list", "--timeout", "0"],
    ],
)
def test_bad_arguments_exit_2_before_reaching_kafka(args):
    r = runner.invoke(app, args, env=UNREACHABLE)
    assert r.exit_code == 2, r.output


@pytest.mark.parametrize("args", [["dlq", "list", "--timeout", "3"], ["dlq", "show", "0:1", "--timeout", "3"]])
def test_kafka_unreachable_exits_4(args):
    r = runner.invoke(app, args, env=UNREACHABLE)
    assert r.exit_code == 4, r.output


def test_ids_are_partition_and_offset():
    assert parse_id("3:1729") == (3, 1729) and parse_id(" 0:0 ") == (0, 0)
    with pytest.raises(typer.BadParameter, match="partition>:<offset"):
        parse_id("3-1729")


def test_a_replay_picks_by_id_or_source_topic_and_skips_the_replayed_unless_again():
    letters = [letter(0, 1), letter(0, 2, replayed="2026-12-04T09:00:00+00:00"), letter(1, 1, "p.notary.events")]
    assert [d.id for d in choose(letters, [], "p.intake.events", again=False)] == ["0:1"]
    assert [d.id for d in choose(letters, [], "p.intake.events", again=True)] == ["0:1", "0:2"]
    assert [d.id for d in choose(letters, [(1, 1), (0, 2)], None, again=False)] == ["1:1"]
    with pytest.raises(typer.Exit) as missing:
        choose(letters, [(5, 5)], None, again=False)
    assert missing.value.exit_code == 3
    with pytest.raises(typer.Exit) as nameless:
        choose([letter(0, 9, topic=None)], [(0, 9)], None, again=False)
    assert nameless.value.exit_code == 2


def test_a_replay_keeps_the_event_and_drops_the_parking_headers():
    at = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    headers = dict(letter(0, 7).replay_headers(at))
    assert headers["ce_id"] == b"evt-1"  # the same event id: the inboxes and idempotency keys recognise it
    assert headers["dlq_replayed_from"] == b"0:7" and headers["dlq_replayed_at"] == at.isoformat().encode()
    assert "dlq_reason" not in headers and "dlq_topic" not in headers
    shown = letter(0, 7).full()
    assert shown["value"] == {"a": 1} and shown["topic"] == "p.intake.events" and shown["source_offset"] == 41


def test_the_replay_confirmation_declined_exits_1_and_publishes_nothing(monkeypatch):
    async def letters(_settings):
        return [letter(0, 1)]

    async def must_not_replay(*_a, **_k):
        raise AssertionError("replayed without confirmation")

    monkeypatch.setattr(dlq, "dead_letters", letters)
    monkeypatch.setattr(dlq, "replay", must_not_replay)
    r = runner.invoke(app, ["dlq", "replay", "0:1"], env=UNREACHABLE, input="n\n")
    assert r.exit_code == 1 and "replay 1 dead letter(s)" in r.output


def test_make_run_writes_an_admin_profile_the_operator_commands_read(tmp_path, monkeypatch):
    """On the secure broker the operator commands run as the admin principal (docs/SECURITY.md): lag describes
    every group, rebuild and dlq read every topic."""
    path = tmp_path / "run" / "operator.json"
    monkeypatch.setenv("CASEFLOW_OPERATOR_PROFILE", str(path))
    monkeypatch.delenv("CASEFLOW_KAFKA_BOOTSTRAP", raising=False)
    settings = InfraSettings(secure=True, kafka_port=39092)
    status = InfraStatus(kafka=_server(39092), postgres=_server(39432), secure=True)
    write_profile(settings, status, "demo")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    saved = json.loads(path.read_text())
    assert saved["principal"] == "admin" and saved["kafka_username"] == "admin" and saved["kafka_password"]
    platform = operator_settings()
    assert platform.kafka_bootstrap == "127.0.0.1:39092" and platform.topic_prefix == "demo"
    assert platform.kafka_username == "admin" and platform.kafka_security_protocol == "SASL_PLAINTEXT"
    monkeypatch.setenv("CASEFLOW_KAFKA_BOOTSTRAP", "127.0.0.1:9")  # the environment wins over the profile
    assert operator_settings().kafka_username is None and operator_settings().kafka_bootstrap == "127.0.0.1:9"
    monkeypatch.delenv("CASEFLOW_KAFKA_BOOTSTRAP")
    path.unlink()
    assert read_profile() == {}


def _server(port: int) -> ServerStatus:
    return ServerStatus(name="x", port=port, pid=None, running=True, ready=True, log_path=Path("x.log"))
