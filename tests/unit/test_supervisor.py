"""The one process supervisor (`make run`, the fault suite): environments, readiness, stop, kill -9."""

import sys
import time

import pytest

from caseflow_cli import run
from caseflow_cli.supervisor import Program, Supervisor

PRINT_ENV = "import os; print('db=' + os.environ.get('CASEFLOW_DATABASE_URL', '-'), os.environ['WHO'])"


def test_a_program_sees_the_supervisors_env_then_its_own_and_never_an_unset_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("CASEFLOW_DATABASE_URL", "postgresql://inherited@h/db")
    sup = Supervisor({"WHO": "supervisor"}, tmp_path, unset=frozenset({"CASEFLOW_DATABASE_URL"}))
    plain = Program("plain", [sys.executable, "-c", PRINT_ENV])
    own = Program("own", [sys.executable, "-c", PRINT_ENV], env={"WHO": "program"})
    sup.start(plain)
    sup.start(own, {"CASEFLOW_DATABASE_URL": "postgresql://own@h/db"})
    for name in ("plain", "own"):
        sup.procs[name].wait(timeout=20)
    assert "db=- supervisor" in sup.log_of("plain").read_text()
    assert "db=postgresql://own@h/db program" in sup.log_of("own").read_text()
    assert sup.exited() is not None


def test_a_program_that_dies_before_it_is_ready_is_reported_with_its_log(tmp_path):
    sup = Supervisor({}, tmp_path)
    sup.start(Program("crash", [sys.executable, "-c", "raise SystemExit(3)"], port=9))
    with pytest.raises(RuntimeError, match="crash exited with 3"):
        sup.wait_ready("crash", timeout=20)


def test_kill9_and_restart_and_stop_all(tmp_path):
    sup = Supervisor({}, tmp_path)
    sleeper = Program("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
    first = sup.start(sleeper)
    assert sup.alive("sleeper")
    sup.kill9("sleeper")
    assert not sup.alive("sleeper") and first.returncode == -9
    second = sup.restart("sleeper")
    assert second.pid != first.pid and sup.alive("sleeper")
    started = time.monotonic()
    sup.stop_all()
    assert not sup.alive("sleeper") and time.monotonic() - started < 10


def test_make_run_gives_each_program_with_a_database_its_own_role_and_the_rest_none():
    programs = run.SERVICES + run.PROGRAMS
    with_db = {p.name: p.database for p in programs if p.database}
    assert with_db == {
        "intake": "intake", "legal_aid": "legal_aid", "mediation": "mediation", "notary": "notary",
        "metrics": "metrics", "gateway": "gateway", "metrics-worker": "metrics", "partner-router": "router",
    }  # fmt: skip
    no_database = {"console", "demo", *(f"simulator-{x}" for x in run.PARTNERS)}
    assert {p.name for p in programs if p.database is None} == no_database
    assert all(p.module for p in programs)


def test_make_run_sends_every_programs_spans_to_zipkin_and_points_the_console_there(monkeypatch):
    monkeypatch.delenv("CASEFLOW_OTEL_EXPORTER", raising=False)
    env = run.telemetry_env("http://127.0.0.1:19411")
    assert env["CASEFLOW_OTEL_EXPORTER"] == "zipkin"
    assert env["CASEFLOW_OTEL_ZIPKIN_ENDPOINT"] == "http://127.0.0.1:19411/api/v2/spans"
    assert env["CONSOLE_ZIPKIN_URL"] == "http://127.0.0.1:19411"
    without = run.telemetry_env(None)  # CASEFLOW_INFRA_ZIPKIN=0: the file the console's span view reads
    assert without["CASEFLOW_OTEL_EXPORTER"] == "file" and "CONSOLE_ZIPKIN_URL" not in without
    monkeypatch.setenv("CASEFLOW_OTEL_EXPORTER", "zipkin,file")  # the operator's choice wins
    assert run.telemetry_env("http://127.0.0.1:19411")["CASEFLOW_OTEL_EXPORTER"] == "zipkin,file"
