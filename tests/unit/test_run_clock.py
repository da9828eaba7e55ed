"""`make run`'s scenario clock resumes where the last run stopped, so a restart never goes back in time."""

from __future__ import annotations

from pathlib import Path

import pytest

from caseflow_cli.run_clock import RunClock
from shared.clock import ScenarioClock

NOW = 1_796_000_000.0


def test_a_first_run_starts_at_real_time(tmp_path: Path) -> None:
    clock = RunClock.resume(1200, tmp_path / "clock.json", now=NOW)
    assert clock.epoch == NOW
    assert clock.env() == {"CASEFLOW_CLOCK_RATE": "1200.0", "CASEFLOW_CLOCK_EPOCH": repr(NOW)}


def test_a_restart_resumes_the_scenario_where_it_stopped(tmp_path: Path) -> None:
    note = tmp_path / "clock.json"
    first = RunClock.resume(1200, note, now=NOW)
    first.save(real=NOW + 216)  # 216 real seconds at 1,200x: three scenario days ahead
    stopped_at = NOW + 216 * 1200
    later = NOW + 600  # restarted ten real minutes later
    second = RunClock.resume(1200, note, now=later)
    assert second.epoch <= later  # an epoch in the past, as the settings require
    resumed = ScenarioClock(second.rate, second.epoch, real=lambda: later).timestamp()
    assert resumed == pytest.approx(stopped_at)


def test_a_run_that_fell_behind_real_time_starts_at_real_time(tmp_path: Path) -> None:
    note = tmp_path / "clock.json"
    RunClock.resume(1, note, now=NOW).save(real=NOW + 10)
    assert RunClock.resume(1200, note, now=NOW + 3600).epoch == NOW + 3600


def test_an_unreadable_note_is_a_first_run(tmp_path: Path) -> None:
    note = tmp_path / "clock.json"
    note.write_text("not json")
    assert RunClock.resume(600, note, now=NOW).epoch == NOW


def test_a_bad_rate_exits_with_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        RunClock.resume(0.5, tmp_path / "clock.json", now=NOW)
    assert exc.value.code == 2 and "CASEFLOW_CLOCK_RATE" in capsys.readouterr().err
