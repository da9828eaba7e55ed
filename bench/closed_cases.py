"""Seeded streams of realistic, closed cases for the metrics memory benchmark and the bounded-memory test.

Each case comes in through intake and is answered there (three in five), or is referred on to legal aid
(application reviewed within 7 days, a provider assigned within 3: 法律援助法 arts. 43–44) or to mediation
(agreement signed, judicial confirmation requested within 30 days: 人民调解法 art. 33), then closes; some
deadlines are met, some missed. Events are plain namespaces with the envelope's attributes (what
`MetricsEngine.apply` reads): cheap to make by the hundred thousand.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

REGIONS = ["431002001001", "420704001000", "440203001001", "500114001000", "340302001000"]
CHANNELS = ["walk_in", "hotline_12348", "web", "wechat"]
T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def _event(n: int, case: str, subject: str, etype: str, at: datetime, **data: object) -> SimpleNamespace:
    data = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data.items()}
    dept = etype.split(".")[1]
    return SimpleNamespace(id=f"{case}-{n}", type=etype, time=at, subject=subject, correlationid=case,
                           actor=f"dept:{dept}", data=data, traceparent=None)  # fmt: skip


def case_events(i: int, rng: random.Random, *, spacing: timedelta = timedelta(seconds=30)) -> list[SimpleNamespace]:
    """The events of case number `i`, intake to closing, in time order."""
    case, at = f"cs-{i}", T0 + i * spacing
    region, channel = REGIONS[i // 5 % len(REGIONS)], CHANNELS[i // 25 % len(CHANNELS)]
    late = rng.random() < 0.1  # one case in ten misses its deadline
    out = [_event(0, case, f"rq-{i}", "caseflow.intake.request_received", at, region=region, channel=channel,
                  received_at=at)]  # fmt: skip
    closed = at + timedelta(hours=2) if i % 5 < 3 else at + timedelta(minutes=30)
    out.append(_event(9, case, f"rq-{i}", "caseflow.intake.request_closed", closed, closed_at=closed,
                      outcome="answered" if i % 5 < 3 else "referred", handling_seconds=int((closed - at).seconds),
                      region=region, channel=channel))  # fmt: skip
    if i % 5 < 3:
        pass  # a consultation answered at intake (most 12348 calls)
    elif i % 5 == 3:
        sub = f"la-{i}"
        reviewed = at + timedelta(days=9 if late else 2)
        out += [
            _event(1, case, sub, "caseflow.legal_aid.application_received", at + timedelta(hours=1), region=region,
                   applied_at=at + timedelta(hours=1), kind="civil"),
            _event(2, case, sub, "caseflow.legal_aid.application_reviewed", reviewed, decided_at=reviewed,
                   decision="granted"),
            _event(3, case, sub, "caseflow.legal_aid.provider_assigned", reviewed + timedelta(days=1),
                   assigned_at=reviewed + timedelta(days=1), provider_type="lawyer"),
            _event(4, case, sub, "caseflow.legal_aid.case_closed", reviewed + timedelta(days=40),
                   closed_at=reviewed + timedelta(days=40), outcome="concluded"),
        ]  # fmt: skip
    else:
        sub = f"md-{i}"
        signed = at + timedelta(days=5)
        requested = signed + timedelta(days=35 if late else 10)
        out += [
            _event(1, case, sub, "caseflow.mediation.dispute_registered", at + timedelta(hours=2), region=region,
                   registered_at=at + timedelta(hours=2)),
            _event(2, case, sub, "caseflow.mediation.agreement_signed", signed, ended_at=signed,
                   confirmation_deadline=signed + timedelta(days=30)),
            _event(3, case, sub, "caseflow.mediation.confirmation_requested", requested, requested_at=requested),
            _event(4, case, sub, "caseflow.mediation.dispute_archived", requested + timedelta(days=1),
                   archived_at=requested + timedelta(days=1), final_status="confirmed"),
        ]  # fmt: skip
    return out


def closed_cases(n: int, seed: int = 21, *, span: timedelta | None = None) -> Iterator[list[SimpleNamespace]]:
    """`n` cases' events, case by case (seeded: the same cases every run); received 30 s apart, or spread evenly
    over `span` (a year: a province's volume, whatever `n`)."""
    rng = random.Random(seed)
    spacing = span / n if span else timedelta(seconds=30)
    for i in range(n):
        yield case_events(i, rng, spacing=spacing)
