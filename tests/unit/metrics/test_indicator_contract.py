"""What the metrics service publishes is the registered contract partners read (shared/contracts/metrics.py):
every indicator of the catalogue, in every status, validates against `IndicatorChanged`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from services.metrics.config import Settings
from services.metrics.engine import build_engine
from services.metrics.publisher import published
from shared.contracts.metrics import IndicatorChanged, IndicatorTargetCrossed
from shared.events import registry
from shared.settings import PlatformSettings
from tests.unit.metrics.helpers import T0, assigned, notified


def test_every_published_value_is_a_valid_indicator_changed_event():
    engine = build_engine(Settings(platform=PlatformSettings()))
    for env in (notified("la-1"), assigned("la-1", T0 + timedelta(days=1))):
        engine.apply(env, T0 + timedelta(days=1))
    values = engine.scorecard("431002000000", "month", T0 + timedelta(days=1))
    assert {v.status for v in values} >= {"no_data", "met"}  # the sample covers more than one status
    for v in values:
        body = published(v)
        assert IndicatorChanged.model_validate(body).indicator == v.indicator
        crossed = IndicatorTargetCrossed.model_validate({**body, "previous_status": "not_met"})
        assert crossed.status == v.status
    assert registry.model_for(IndicatorChanged.event_type) is IndicatorChanged


def test_a_malformed_indicator_value_is_refused():
    engine = build_engine(Settings(platform=PlatformSettings()))
    body = published(engine.scorecard("431002000000", "month", T0)[0])
    with pytest.raises(ValidationError, match="region"):
        IndicatorChanged.model_validate({**body, "region": "4310"})
    with pytest.raises(ValidationError, match="status"):
        IndicatorChanged.model_validate({**body, "status": "great"})
