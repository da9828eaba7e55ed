"""CLI commands `trace`, `indicators`, `simulate` and their exit codes, against an in-process metrics app."""

from __future__ import annotations

import json
import re

import httpx
import pytest
import typer
from typer.testing import CliRunner

from caseflow_cli import trace as trace_mod
from caseflow_cli.indicators import indicators_command
from caseflow_cli.rebuild import rebuild_command
from caseflow_cli.trace import trace_command
from integrations import simulate as simulate_mod
from integrations.simulate import simulate_command
from shared.topics import PARTNERS
from tests.unit.console.conftest import CITY

# the lines caseflow_cli/main.py registers them with
app = typer.Typer()
app.command("trace")(trace_command)
app.command("indicators")(indicators_command)
app.command("simulate")(simulate_command)
app.command("rebuild")(rebuild_command)
runner = CliRunner(env={"COLUMNS": "240"})  # rich wraps tables at the terminal width


@pytest.fixture
def metrics(monkeypatch, metrics_app):
    monkeypatch.setattr(trace_mod, "TRANSPORT", httpx.ASGITransport(app=metrics_app))


def test_trace_found_prints_steps_deadlines_and_time_per_department(metrics):
    r = runner.invoke(app, ["trace", "la-7"])
    assert r.exit_code == 0, r.output
    assert "caseflow.intake.request_referred" in r.output and "caseflow.legal_aid.application_received" in r.output
    assert "corr-7" in r.output and "time per department" in r.output
    held = dict(re.findall(r"(intake|legal_aid)\s*\W\s*(\d+ min|[\d.]+ h|<1 min)", r.output))
    assert held == {"intake": "20 min", "legal_aid": "40 min"}  # until the referral, and from it on
    assert "CST (UTC+8)" in r.output  # step times in China time, as the console shows them


def test_trace_json_is_the_timeline(metrics):
    r = runner.invoke(app, ["trace", "ref-la-1", "--json"])
    assert r.exit_code == 0
    body = json.loads(r.output)
    assert body["correlation_id"] == "la-1" and [d["status"] for d in body["deadlines"]] == ["met"]


def test_trace_not_found_exits_3(metrics):
    r = runner.invoke(app, ["trace", "nope-1"])
    assert r.exit_code == 3 and "no case known" in r.output


def test_trace_invalid_id_exits_2(metrics):
    assert runner.invoke(app, ["trace", "a/b"]).exit_code == 2


def test_unreachable_metrics_exits_4():
    r = runner.invoke(app, ["trace", "la-1", "--metrics-url", "http://127.0.0.1:9"])
    assert r.exit_code == 4 and "unreachable" in r.output
    r = runner.invoke(app, ["indicators", "--metrics-url", "http://127.0.0.1:9"])
    assert r.exit_code == 4


def test_indicators_table_and_json(metrics):
    r = runner.invoke(app, ["indicators", "--region", CITY, "--period", "last-24h"])
    assert r.exit_code == 0, r.output
    assert "criminal_aid_coverage" in r.output and "not_met" in r.output and "1/2" in r.output
    j = runner.invoke(app, ["indicators", "-r", CITY, "-p", "last-24h", "--json"])
    values = {v["indicator"]: v for v in json.loads(j.output)}
    assert len(values) == 23 and values["criminal_aid_coverage"]["value"] == 50.0


def test_indicators_single_indicator_and_errors(metrics):
    r = runner.invoke(app, ["indicators", "-r", CITY, "-p", "last-24h", "-i", "criminal_aid_coverage", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)[0]["denominator"] == 2
    assert runner.invoke(app, ["indicators", "-r", CITY, "-i", "bogus"]).exit_code == 3
    assert runner.invoke(app, ["indicators", "-r", "999999000000"]).exit_code == 3
    assert runner.invoke(app, ["indicators", "-r", "4310"]).exit_code == 2
    assert runner.invoke(app, ["indicators", "-r", CITY, "-p", "week"]).exit_code == 2
    assert runner.invoke(app, ["indicators", "-r", CITY, "-i", "criminal_aid_coverage", "-p", "week:1"]).exit_code == 2


@pytest.fixture
def simulations(monkeypatch) -> list[dict[str, object]]:
    """What each `simulate` run would have simulated, instead of connecting to Kafka."""
    runs: list[dict[str, object]] = []

    async def record(**options: object) -> None:
        runs.append(options)

    monkeypatch.setattr(simulate_mod, "_main", record)
    return runs


def test_simulate_runs_the_simulators_with_the_options(simulations):
    r = runner.invoke(app, ["simulate", "--rate", "2", "--minutes", "1.5", "--seed", "7"])
    assert r.exit_code == 0, r.output
    assert simulations == [{"rate": 2.0, "minutes": 1.5, "partners": list(PARTNERS), "answer_only": False, "seed": 7}]
    assert {"petition_office", "hotline_12345", "dispatch_110"} <= set(PARTNERS)
    r = runner.invoke(app, ["simulate", "--partners", "police, court", "--answer-only"])
    assert r.exit_code == 0, r.output
    assert simulations[1]["partners"] == ["police", "court"] and simulations[1]["answer_only"] is True


@pytest.mark.parametrize(
    "args",
    [["--rate", "-1"], ["--rate", "0"], ["--rate", "1001"], ["--minutes", "-1"], ["--minutes", "1441"],
     ["--partners", "court,army"], ["--partners", ","]],
)  # fmt: skip
def test_simulate_refuses_options_out_of_bounds_with_exit_2(simulations, args):
    r = runner.invoke(app, ["simulate", *args])
    assert r.exit_code == 2, r.output
    assert simulations == []


def test_python_m_integrations_simulate_is_the_same_command(simulations):
    """`python -m integrations.simulate` and `caseflow simulate` share one command, so one set of bounds."""
    assert simulate_mod.app.registered_commands[0].callback is simulate_command
    assert runner.invoke(simulate_mod.app, ["--rate", "0"]).exit_code == 2
    assert runner.invoke(simulate_mod.app, ["--rate", "3", "--partners", "court"]).exit_code == 0
    assert simulations == [{"rate": 3.0, "minutes": 0.0, "partners": ["court"], "answer_only": False, "seed": None}]


def test_rebuild_with_kafka_unreachable_exits_4():
    env = {"CASEFLOW_KAFKA_BOOTSTRAP": "127.0.0.1:9", "CASEFLOW_DATABASE_URL": "postgresql://x:y@127.0.0.1:9/z"}
    r = runner.invoke(app, ["rebuild", "--timeout", "5"], env=env)
    assert r.exit_code == 4, r.output


def test_indicators_table_names_annual_targets_and_where_a_target_comes_from(metrics):
    """Seed 002 (韶关: aid by lawyers ≥80%) overrides the national default (000: ≥70%); seed 000 indicator 19 is
    an annual target: the table says both."""
    r = runner.invoke(app, ["indicators", "-r", "440200000000", "-p", "year", "-i", "aid_by_lawyers"])
    assert r.exit_code == 0 and ">= 80 (440200)" in r.output
    r = runner.invoke(app, ["indicators", "-r", CITY, "-p", "month", "-i", "advisor_hours"])
    assert r.exit_code == 0 and ">= 50 /year (431000)" in r.output and "not_judged" in r.output
