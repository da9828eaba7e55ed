"""Hand-built envelopes for the metrics fold stories (raw envelopes with the documented event types)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import shared.contracts  # noqa: F401  (registers every event type)
from services.metrics.catalogue import load_catalogue
from services.metrics.engine import MetricsEngine
from services.metrics.reference import load_reference
from shared.envelope import Envelope
from shared.events import registry

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in China
# Today's noon in China, as UTC: hours either side stay in the same China-local day, so "today" never splits the
# test's events whenever the suite runs (a real clock at 00:03 China time did).
_CHINA = timedelta(hours=8)
TODAY_NOON = (datetime.now(UTC) + _CHINA).replace(hour=12, minute=0, second=0, microsecond=0) - _CHINA
CHENZHOU_VILLAGE = "431002001001"
SHAOGUAN_VILLAGE = "440203001001"
EZHOU_TOWN = "420704001000"


def env(
    event_type: str, case: str, at: datetime = T0, *, corr: str | None = None, id: str | None = None, **data: Any
) -> Envelope:
    dept = event_type.split(".")[1]
    jsonable = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data.items()}
    kwargs: dict[str, Any] = {"id": id} if id else {}
    return Envelope(
        source=f"caseflow/{dept}",
        type=event_type,
        time=at,
        subject=case,
        correlationid=corr or case,
        actor=f"dept:{dept}",
        data=jsonable,
        **kwargs,
    )


def engine(*, published_only: bool = False) -> MetricsEngine:
    return MetricsEngine(load_catalogue(), load_reference(), registry.types(), published_only=published_only)


def days(n: float) -> timedelta:
    return timedelta(days=n)


def notified(case: str, region: str = CHENZHOU_VILLAGE, at: datetime = T0, **kw: Any) -> Envelope:
    return env(
        "caseflow.legal_aid.defence_notified",
        case,
        at,
        region=region,
        notified_at=at,
        kind="notified_defence",
        partner_reference=f"ref-{case}",
        **kw,
    )


def assigned(case: str, at: datetime, provider_type: str = "lawyer", **kw: Any) -> Envelope:
    return env("caseflow.legal_aid.provider_assigned", case, at, provider_type=provider_type, assigned_at=at, **kw)


def applied(
    case: str, region: str = CHENZHOU_VILLAGE, at: datetime = T0, channel: str = "walk_in", **kw: Any
) -> Envelope:
    return env(
        "caseflow.legal_aid.application_received",
        case,
        at,
        region=region,
        applied_at=at,
        kind="application",
        channel=channel,
        **kw,
    )


def reviewed(case: str, at: datetime, decision: str = "granted", **kw: Any) -> Envelope:
    return env("caseflow.legal_aid.application_reviewed", case, at, decision=decision, decided_at=at, **kw)
