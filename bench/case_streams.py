"""A seeded generator of realistic case streams across the five reference cities, as records on the topics.

Each stream is one end-to-end case (one correlation id) told by the departments that handle it, with deadlines
sometimes met and sometimes missed: 12348 consultations answered on the spot or later, some referred on to legal
aid; legal aid applications reviewed, granted or refused, assigned and closed; criminal defence notices from the
court with the provider assigned in or after three days; detainee applications the police forward (partner
inbound) that legal aid takes up; mediation disputes ending in agreement or failure; notarisation from application
to certificate with its fee; and each village's legal advisor stream (assignment and logged service hours).
`records(n, seed)` yields n (topic suffix, key, value, headers) records, the same for the same seed; `events`
yields the envelopes themselves (the unit tests fold them).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import shared.contracts  # noqa: F401  (registers every event type)
from shared.contracts import intake, legal_aid, mediation, notary, partners
from shared.envelope import Envelope
from shared.events import Event

# the five reference cities: a village or town in 郴州, 鄂州, 韶关, 重庆黔江 and 蚌埠 (services/metrics/data)
REGIONS = ("431002001001", "420704001000", "440203001001", "500114001000", "340302001000")
VILLAGES = ("431002001001", "440203001001")
START = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
Record = tuple[str, bytes, bytes, list[tuple[str, bytes]]]  # (topic suffix: department or partner:<name>, …)


class Stream:
    """One case's events as its departments tell them, each wrapped in its envelope."""

    def __init__(self, rng: random.Random, n: int) -> None:
        self.rng = rng
        self.corr = f"c{n:08d}"
        self.region = rng.choice(REGIONS)
        self.at = START + timedelta(minutes=rng.randrange(0, 300 * 24 * 60))
        self.out: list[tuple[str, Envelope]] = []

    def later(self, hours: float) -> datetime:
        self.at += timedelta(hours=hours * (0.5 + self.rng.random()))
        return self.at

    def emit(self, dept: str, subject: str, payload: Event, topic: str | None = None) -> None:
        env = Envelope.wrap(payload, source=f"caseflow/{dept}", subject=subject, correlationid=self.corr,
                            actor=f"dept:{dept}", time=self.at)  # fmt: skip
        self.out.append((topic or dept, env))

    def missed(self, share: float = 0.2) -> bool:
        return self.rng.random() < share


def consultation(s: Stream) -> None:
    rid = f"in-{s.corr}"
    channel = s.rng.choice(["hotline_12348", "web_12348", "walk_in"])
    s.emit("intake", rid, intake.RequestReceived(request_id=rid, channel=channel, region=s.region,
                                                 kind="consultation", topic="labour", received_at=s.at))  # fmt: skip
    s.later(60 if s.missed() else 4)
    s.emit("intake", rid, intake.RequestAnswered(answered_at=s.at, on_the_spot=s.rng.random() < 0.5,
                                                 channel=channel, region=s.region))  # fmt: skip
    if s.rng.random() < 0.3:
        s.emit("intake", rid, intake.RequestReferred(to_department="legal_aid", matter="unpaid wages",
                                                     region=s.region))  # fmt: skip
        aid_application(s, channel="intake_referral")


def aid_application(s: Stream, channel: str = "walk_in", reference: str | None = None) -> None:
    case = f"la-{s.corr}"
    kind = "detainee_forwarded" if reference else "application"
    s.emit("legal_aid", case, legal_aid.ApplicationReceived(
        kind=kind, channel=channel, region=s.region, matter_type="wages", matter="unpaid wages",
        applied_at=s.at, partner_reference=reference, forwarded_by="police" if reference else None,
    ))  # fmt: skip
    s.later(24 * (10 if s.missed() else 3))
    granted = s.rng.random() < 0.85
    s.emit("legal_aid", case, legal_aid.ApplicationReviewed(
        decision="granted" if granted else "refused", reason="income below threshold" if granted else "means",
        matter_type="wages", decided_at=s.at,
    ))  # fmt: skip
    if granted:
        provider(s, case)


def provider(s: Stream, case: str) -> None:
    late = s.missed()
    s.later(24 * (5 if late else 1))
    s.emit("legal_aid", case, legal_aid.ProviderAssigned(
        provider_type=s.rng.choice(["lawyer", "lawyer", "grassroots_worker"]), provider_id="lw-1",
        assigned_at=s.at, due_at=s.at + timedelta(days=3), on_time=not late,
    ))  # fmt: skip
    if s.rng.random() < 0.7:
        s.later(24 * 30)
        s.emit("legal_aid", case, legal_aid.CaseClosed(outcome=s.rng.choice(["judgment", "settled"]), closed_at=s.at))


def defence(s: Stream) -> None:
    case = f"la-{s.corr}"
    s.emit("legal_aid", case, legal_aid.DefenceNotified(
        kind="notified_defence", region=s.region, defendant_ref=f"p-{s.rng.getrandbits(64):016x}",
        notified_by="court", partner_reference=f"court-{s.corr}", stage="trial", charge="theft", notified_at=s.at,
    ))  # fmt: skip
    provider(s, case)


def detainee(s: Stream) -> None:
    ref = f"police-{s.corr}"
    s.emit("partner", ref, partners.DetaineeApplicationForwarded(
        partner_reference=ref, applicant_ref=f"p-{s.rng.getrandbits(64):016x}", region=s.region,
        matter="detainee asks for a lawyer", received_at=s.at, forwarded_at=s.later(2),
    ), topic="partner:police")  # fmt: skip
    s.later(3)
    aid_application(s, channel="partner", reference=ref)


def dispute(s: Stream) -> None:
    did = f"md-{s.corr}"
    due = s.at + timedelta(days=30)
    s.emit("mediation", did, mediation.DisputeRegistered(
        dispute_id=did, region=s.region, source="walk_in", dispute_type="neighbourhood", registered_at=s.at,
        complex=False, parties=[f"p-{s.rng.getrandbits(64):016x}", f"p-{s.rng.getrandbits(64):016x}"],
        claim="a wall between two yards", time_limit_days=30, due_by=due,
    ))  # fmt: skip
    s.later(24 * (45 if s.missed() else 12))
    if s.rng.random() < 0.7:
        s.emit("mediation", did, mediation.AgreementSigned(terms="the wall is rebuilt", ended_at=s.at,
                                                          confirmation_deadline=s.at + timedelta(days=30)))  # fmt: skip
    else:
        s.emit("mediation", did, mediation.MediationFailed(reason="no agreement", ended_at=s.at))


def notarisation(s: Stream) -> None:
    aid = f"nt-{s.corr}"
    s.emit("notary", aid, notary.ApplicationSubmitted(
        application_id=aid, region=s.region, office="NT-OFFICE-1", matter="kinship", matter_name="亲属关系",
        applicant_ref=f"p-{s.rng.getrandbits(64):016x}", required_materials=["id_card"], standard_fee=Decimal(200),
        catalogue_version="2026", applied_at=s.at,
    ))  # fmt: skip
    s.later(2)
    due = (s.at + timedelta(days=15)).date()
    s.emit("notary", aid, notary.ApplicationAccepted(accepted_at=s.at, due_on=due, due_by=s.at + timedelta(days=15)))
    s.emit("notary", aid, notary.FeeAssessed(matter="kinship", standard_fee=Decimal(200), charged_fee=Decimal(200),
                                            waived=False, aid_linked=False, assessed_at=s.at))  # fmt: skip
    s.later(24 * (20 if s.missed() else 6))
    s.emit("notary", aid, notary.CertificateIssued(
        certificate_no=f"(2026)公证第{s.corr}号", office="NT-OFFICE-1", year=2026, sequence=1, issued_at=s.at,
        visits=1, one_trip=True, due_on=due, within_deadline=s.at.date() <= due,
    ))  # fmt: skip


def advisor(s: Stream, village: str) -> None:
    """A village's advisor stream (one per village, as intake keeps it): assigned, then a year of weekly logs."""
    s.corr = f"adv-{village}"
    s.at = START
    s.emit("intake", s.corr, intake.AdvisorAssigned(village_region=village, advisor_id="adv-1", assigned_at=s.at,
                                                    advisor_kind="lawyer"))  # fmt: skip
    for _ in range(52):
        s.later(24 * 7)
        s.emit("intake", s.corr, intake.AdvisorServiceLogged(
            village_region=village, advisor_id="adv-1", hours=round(s.rng.uniform(1, 8), 1), kind="consultation",
            served_on=date(s.at.year, s.at.month, s.at.day), logged_at=s.at, on_site=s.rng.random() < 0.8,
        ))  # fmt: skip


KINDS: list[tuple[Callable[[Stream], None], int]] = [
    (consultation, 30), (aid_application, 15), (defence, 15), (detainee, 5), (dispute, 15), (notarisation, 15),
]  # fmt: skip


def events(n: int, seed: int = 21) -> Iterator[tuple[str, Envelope]]:
    """(topic suffix, envelope) for n events, stream by stream, the same for the same seed."""
    rng = random.Random(seed)
    kinds, weights = zip(*KINDS, strict=True)
    made, stream = 0, 0
    while made < n:
        s = Stream(rng, stream)
        if stream < len(VILLAGES):
            advisor(s, VILLAGES[stream])
        else:
            rng.choices(kinds, weights)[0](s)
        stream += 1
        for item in s.out[: n - made]:
            yield item
            made += 1


def records(n: int, seed: int = 21) -> Iterator[Record]:
    for topic, env in events(n, seed):
        key, value, headers = env.to_kafka()
        yield topic, key, value, headers
