"""What the metrics service publishes on the compacted `<prefix>.metrics.indicators` topic (key
`<indicator>|<region>|<period>`; alerts `alert|<indicator>|<region>|<period>`), read by supervisors' dashboards and
by every partner's integration (each partner principal may read it).

- indicator_changed: the indicator's value for one region and period after an event moved it — value, numerator,
  denominator, unit, the city profile's target and the status (met / not_met / no_data / no_target, with the
  reason when there is no value).
- indicator_target_crossed: the same value when its status flipped between met and not_met (an alert), with the
  status before.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.common import RegionCode
from shared.events import Event, event

IndicatorId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
#: `day:2026-11-29`, `month:2026-11`, `year:2026`, `last_24h`, `last_7d` (see services/metrics/periods.py).
Period = Annotated[str, StringConstraints(min_length=1, max_length=32)]
#: `not_judged`: an annual target, and the period is shorter than a year.
IndicatorStatus = Literal["met", "not_met", "no_data", "no_target", "not_judged"]


class IndicatorTarget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    op: Literal[">=", "<=", "<", ">"]
    value: float
    per: Literal["year"] | None = None  # an annual target: judged on a year's value only


@event
class IndicatorChanged(Event):
    """An indicator's current value for one region and period (the latest per key is what the topic keeps)."""

    event_type = "caseflow.metrics.indicator_changed"
    indicator: IndicatorId
    region: RegionCode
    period: Period
    dimension: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "*"
    value: float | None
    numerator: float
    denominator: float
    unit: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    target: IndicatorTarget | None = None
    status: IndicatorStatus
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None
    extra: dict[str, float] = Field(default_factory=dict)
    target_from: Annotated[str, StringConstraints(pattern=r"^(default|\d{6})$")] | None = None  # city profile
    annualised: bool = False  # judged on the year-to-date value scaled to a whole year (`extra.annualised`)


@event
class IndicatorTargetCrossed(IndicatorChanged):
    """Alert: the status flipped between met and not_met."""

    event_type = "caseflow.metrics.indicator_target_crossed"
    previous_status: Literal["met", "not_met"]
