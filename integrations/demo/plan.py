"""The demo's plan (pure, seeded): who comes when, on which channel, and what becomes of their request.

`plan_visits(seed, …)` draws the same visits for the same seed: arrival offsets in scenario seconds (a Poisson
stream), city (by the square root of its population), channel and each visit's fate (answered on the spot,
referred, escalated, a work order, a late reply, an abandoned call, the satisfaction given). `fate(seed, …)` is
the seeded die staff roll for a case they meet (latency, decision), so a case's handling depends only on the seed
and the case.
"""

from __future__ import annotations

import itertools
import math
import random
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from integrations.demo.cities import City

HOUR = 3600.0
DAY = 24 * HOUR
LEVELS = ("city", "county", "town", "village")
TOPICS = ("labour", "marriage_family", "contract_debt", "inheritance", "neighbourhood", "consumer", "housing")
DISPUTE_TYPES = ("neighbourhood", "marriage_family", "labour", "damages", "contract_debt", "consumer")
NOTARY_MATTERS = ("kinship", "birth", "no_criminal_record", "degree", "contract", "will")
#: channel → share of visits (walk-in windows, the 12348 hotline and web, walk-ins at notary, mediation, legal aid)
CHANNELS = {"walk_in": 0.28, "hotline": 0.26, "web": 0.16, "notary": 0.12, "mediation": 0.08, "legal_aid": 0.10}
#: satisfaction given (1–5) → share of the citizens who rate
SATISFACTION = {5: 0.62, 4: 0.3, 3: 0.05, 2: 0.02, 1: 0.01}
#: what citizens apply to legal aid for (法律援助法 art. 31)
AID_MATTERS = ("wages", "injury_compensation", "maintenance", "social_insurance", "family")


@dataclass(frozen=True)
class Visit:
    """One citizen's visit and its fate, as planned."""

    n: int
    offset: float  # scenario seconds after the plan's start
    city: str
    channel: str
    level: str | None
    region: str
    kind: str
    topic: str
    path: str  # answer | refer_legal_aid | refer_mediation | escalate | work_order | abandon | reply | apply
    wait_seconds: int  # hotline: until answered (or abandoned)
    reply_minutes: int  # web: until the reply; work orders: hours until completion
    satisfaction: int | None  # None: the citizen does not evaluate
    matter: str  # dispute type, or notary matter


def fate(seed: int, *parts: object) -> random.Random:
    """The seeded die for one decision about one thing (`fate(seed, "review", case_id)`)."""
    return random.Random(":".join(map(str, (seed, *parts))))


def new_run_id() -> str:
    """A short id unique to this start (time + randomness), in every reference the demo creates."""
    return f"{int(time.time()):x}{secrets.token_hex(4)}"


def plan_visits(seed: int, cities: Sequence[City], per_hour: float) -> Iterator[Visit]:
    """The endless, seeded stream of visits: `per_hour` arrivals per scenario hour over all cities."""
    rng = random.Random(seed)
    weights = [math.sqrt(c.population or 1) for c in cities]  # the smallest city still sees every service
    offset = 0.0
    for n in itertools.count():
        offset += rng.expovariate(per_hour / HOUR)
        city = rng.choices(cities, weights)[0]
        channel = rng.choices(list(CHANNELS), list(CHANNELS.values()))[0]
        yield _visit(n, offset, city, channel, rng)


def _visit(n: int, offset: float, city: City, channel: str, rng: random.Random) -> Visit:
    level = rng.choice(LEVELS) if channel == "walk_in" else None
    if level == "city" and not city.code.endswith("00"):
        level = "county"  # a district (黔江区) has no city-level centre of its own: its centre is county-level
    region = city.under(level, rng.randrange(100)) if level else city.under("town", rng.randrange(100))
    late = rng.random() < 0.12  # some staff are late: deadlines are missed
    path, wait, minutes = "answer", 0, 0
    if channel == "walk_in":
        path = rng.choices(["answer", "refer_legal_aid", "refer_mediation"], [0.8, 0.12, 0.08])[0]
    elif channel == "hotline":
        path = rng.choices(["answer", "work_order", "escalate", "abandon"], [0.62, 0.2, 0.1, 0.08])[0]
        wait = rng.randint(31, 90) if late else rng.randint(3, 30)
        minutes = rng.randint(80, 120) if late else rng.randint(4, 60)  # work order: hours to complete (72 due)
    elif channel == "web":
        path = "reply"
        minutes = rng.randint(301, 600) if late else rng.randint(15, 280)
    elif channel in ("notary", "mediation", "legal_aid"):
        path = "apply"
    kind = "help" if path.startswith("refer") else "consultation"
    satisfaction = None if rng.random() < 0.3 else rng.choices(list(SATISFACTION), list(SATISFACTION.values()))[0]
    matter = rng.choice({"notary": NOTARY_MATTERS, "legal_aid": AID_MATTERS}.get(channel, DISPUTE_TYPES))
    return Visit(n, offset, city.code, channel, level, region, kind, rng.choice(TOPICS), path, wait, minutes,
                 satisfaction, matter)  # fmt: skip
