"""The scenario clock: platform time = epoch + (real − epoch) × rate, its settings validated at start."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared import clock
from shared.clock import ScenarioClock
from shared.deps import utcnow
from shared.envelope import utcnow as envelope_now
from shared.settings import ClockSettings, PlatformSettings, describe_settings_error

EPOCH = 1_796_000_000.0  # 2026-11-30T...Z: a fixed real instant


def test_rate_one_is_real_time() -> None:
    c = ScenarioClock(real=lambda: EPOCH + 123.5)
    assert c.timestamp() == EPOCH + 123.5
    assert c() == datetime.fromtimestamp(EPOCH + 123.5, UTC)


def test_platform_time_runs_rate_times_faster_from_the_epoch() -> None:
    real = [EPOCH]
    c = ScenarioClock(rate=600, epoch=EPOCH, real=lambda: real[0])
    assert c.timestamp() == EPOCH  # at the epoch the two clocks agree
    real[0] = EPOCH + 2.0
    assert c.timestamp() == EPOCH + 1200.0  # two real seconds are twenty scenario minutes
    assert c().tzinfo is UTC
    assert c.real_seconds(3600) == 6.0


def test_settings_default_to_real_time() -> None:
    s = ClockSettings(_env_file=None)
    assert (s.clock_rate, s.clock_epoch) == (1.0, None)
    assert ScenarioClock.from_settings(s).rate == 1.0


@pytest.mark.parametrize("rate", [0.5, 0, -1, 1_000_001])
def test_rate_out_of_bounds_is_refused(rate: float) -> None:
    with pytest.raises(ValidationError) as err:
        ClockSettings(clock_rate=rate, clock_epoch=EPOCH)
    assert "CASEFLOW_CLOCK_RATE" in describe_settings_error(err.value, ClockSettings)


def test_epoch_far_in_the_future_is_refused() -> None:
    with pytest.raises(ValidationError) as err:
        ClockSettings(clock_rate=10, clock_epoch=time.time() + 3600)
    message = describe_settings_error(err.value, ClockSettings)
    assert "CASEFLOW_CLOCK_EPOCH" in message and "future" in message


def test_epoch_a_few_seconds_ahead_is_accepted() -> None:
    """Processes started together may read the real clock a little before the supervisor stamped the epoch."""
    assert ClockSettings(clock_rate=10, clock_epoch=time.time() + 5).clock_rate == 10


def test_a_faster_clock_needs_an_epoch() -> None:
    with pytest.raises(ValidationError, match="CASEFLOW_CLOCK_EPOCH is required"):
        ClockSettings(clock_rate=60)


def test_platform_settings_carry_the_clock_to_children() -> None:
    env = PlatformSettings(clock_rate=60, clock_epoch=EPOCH).to_env()
    assert env["CASEFLOW_CLOCK_RATE"] == "60.0" and env["CASEFLOW_CLOCK_EPOCH"] == str(EPOCH)


def test_process_clock_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    epoch = time.time() - 10
    monkeypatch.setenv("CASEFLOW_CLOCK_RATE", "100")
    monkeypatch.setenv("CASEFLOW_CLOCK_EPOCH", str(epoch))
    clock.use_clock(None)
    try:
        ahead = (clock.now() - datetime.now(UTC)).total_seconds()
        assert 900 < ahead < 1100  # ten real seconds after the epoch: about 990 s ahead
        # commands and envelopes take the platform's time by default
        assert (utcnow() - datetime.now(UTC)).total_seconds() > 900
        assert (envelope_now() - datetime.now(UTC)).total_seconds() > 900
    finally:
        clock.use_clock(None)
        monkeypatch.delenv("CASEFLOW_CLOCK_RATE")
        monkeypatch.delenv("CASEFLOW_CLOCK_EPOCH")
        clock.use_clock(None)
