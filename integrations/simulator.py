"""Partner simulators: play the court (法院), the police (公安), the procuratorate (检察院), the petition office (信访),
the 12345 government hotline and 110 dispatch against the platform.

Each simulated partner sends realistic requests on its inbound topic at a chosen overall rate: dispute
referrals of its kind (诉前调解 / 警调对接 / 检调对接 / 访调对接), notified defence and duty lawyer
requests (通知辩护 / 法律帮助), forwarded detainee applications, for the court notary commissions, for
12345 and 110 calls transferred to 12348 (hotline_simulation.py). It consumes its outbound topic and the
indicators, answers what needs an answer (a mediation agreement's confirmation request → the court's ruling
司法确认; a call 12348 transferred to 12345 or 110 → the ticket, then the result; each after a short delay) and
reports what it saw: counts per event type every 10 s in the log, and a table at the end.

Envelopes: source `partner/<name>`, subject = the partner's own reference (references.py: unique across
restarts, it carries the run's random tag), a fresh correlation id per case kept across the exchange (answers
reuse the id of the notice they answer). Settings come from `CASEFLOW_*`.

Run them with `python -m integrations.simulate` (its command line) or `caseflow simulate`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

import shared.contracts  # noqa: F401  (registers every event type)
from integrations import hotline_simulation, references
from shared import clock as scenario
from shared import kafka
from shared.contracts.hotline_linkage import RequestTransferred
from shared.contracts.mediation import ConfirmationRequested
from shared.contracts.partners import (
    CommissionKind,
    ConfirmationOutcome,
    DefenceKind,
    DetaineeApplicationForwarded,
    DisputeReferred,
    JudicialConfirmationDecided,
    NotaryCommissioned,
    NotifiedDefenceRequested,
    ProceedingStage,
    ReferralKind,
)
from shared.envelope import Envelope
from shared.errors import CaseflowError
from shared.events import Event, registry
from shared.settings import PlatformSettings
from shared.topics import PARTNERS, Topics

log = logging.getLogger("integrations.simulate")

#: Town-level codes in the five seed cities (郴州北湖, 鄂州鄂城, 韶关武江, 重庆黔江, 蚌埠龙子湖) that have committees.
CITY_TOWNS = ("431002001000", "420704001000", "440203001000", "500114001000", "340302001000")
#: Where each organ's stationed or town committee takes referrals, and the dispute types it refers.
REFERRALS: dict[str, tuple[ReferralKind, tuple[str, ...], tuple[str, ...]]] = {
    "court": (
        ReferralKind.COURT_PRE_LITIGATION,
        ("431002001000", "440203001000", "340302001000"),
        ("contract_debt", "damages", "labour", "consumer", "marriage_family"),
    ),
    "police": (
        ReferralKind.POLICE_110,
        ("431002001000", "500114001000", "340302001000"),
        ("neighbourhood", "damages", "consumer", "contract_debt"),
    ),
    "procuratorate": (
        ReferralKind.PROCURATORATE_RECONCILIATION,
        ("420704001000", "340302001000"),
        ("minor_criminal", "damages", "neighbourhood"),
    ),
    "petition_office": (
        ReferralKind.PETITION,
        ("431002001000", "440203001000", "340302001000"),
        ("neighbourhood", "labour", "land_contract"),
    ),
}
STAGE = {
    "court": ProceedingStage.TRIAL,
    "police": ProceedingStage.INVESTIGATION,
    "procuratorate": ProceedingStage.PROSECUTION_REVIEW,
}
#: The kinds of request each organ sends (the court alone commissions notaries).
KINDS: dict[str, tuple[str, ...]] = {
    "court": (
        "dispute_referred",
        "notified_defence_requested",
        "detainee_application_forwarded",
        "notary_commissioned",
    ),
    "police": ("dispute_referred", "notified_defence_requested", "detainee_application_forwarded"),
    "procuratorate": ("dispute_referred", "notified_defence_requested", "detainee_application_forwarded"),
    "petition_office": ("dispute_referred",),
    "hotline_12345": ("call_transferred",),
    "dispatch_110": ("call_transferred",),
}
CHARGES = ("theft", "intentional injury", "fraud", "dangerous driving", "affray", "drug possession")
SUMMARIES = {
    "contract_debt": "借款到期未还, 出借人请求返还借款及利息",
    "damages": "邻里纠纷中一方受伤, 双方就医疗费赔偿协商未果",
    "labour": "用人单位拖欠工资三个月, 劳动者请求支付",
    "consumer": "网购商品质量问题, 商家拒绝退货",
    "marriage_family": "离婚后子女抚养费支付发生争议",
    "neighbourhood": "楼上漏水致楼下天花板受损, 双方争执报警",
    "minor_criminal": "轻微伤害案件, 双方有和解意愿",
    "land_contract": "土地承包经营权边界争议, 多次信访",
}


def person_ref(rng: random.Random) -> str:
    return "p-" + "".join(rng.choices("0123456789abcdef", k=32))


@dataclass
class Tally:
    """What one simulated organ sent and received, per event type."""

    sent: Counter[str] = field(default_factory=Counter)
    received: Counter[str] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)
    undecodable: int = 0


class PartnerSimulator:
    """Plays one or more partner organs against the platform's topics."""

    def __init__(
        self,
        settings: PlatformSettings,
        *,
        rate: float = 0.5,
        partners: Sequence[str] = PARTNERS,
        answer_delay: tuple[float, float] = (1.0, 3.0),
        confirm_share: float = 0.9,
        report_every: float = 10.0,
        answer_only: bool = False,
        seed: int | None = None,
        clock: Callable[[], datetime] = scenario.now,
    ) -> None:
        unknown = set(partners) - set(PARTNERS)
        if unknown:
            raise ValueError(f"unknown partner(s) {sorted(unknown)}; choose from {PARTNERS}")
        if rate <= 0:
            raise ValueError("rate must be positive (events per second)")
        self.settings = settings
        self.topics = Topics(settings.topic_prefix)
        self.rate = rate
        self.partners = tuple(partners)
        self.answer_delay = answer_delay
        self.confirm_share = confirm_share
        self.report_every = report_every
        self.answer_only = answer_only  # consume and answer, send no new cases
        self.rng = random.Random(seed)
        self.clock = clock
        self.tally: dict[str, Tally] = {p: Tally() for p in self.partners}
        self.sent_envelopes: list[Envelope] = []  # kept for tests and the final report (bounded)
        self._seen: dict[str, set[str]] = {p: set() for p in self.partners}
        self._serial = 0
        self.run_tag = uuid.uuid4().hex[:6]  # in every reference: a restarted simulator never reuses one
        self._turn = 0
        self._producer: AIOKafkaProducer | None = None
        self._answers: set[asyncio.Task[None]] = set()
        # round-robin over (organ, kind) so even a short run sends every kind of request
        self._plan = [(p, k) for p in self.partners for k in KINDS[p]]
        self.rng.shuffle(self._plan)

    # -- requests ---------------------------------------------------------------------------------------------
    def _reference(self, partner: str, region: str, kind: str) -> str:
        self._serial += 1
        return references.reference(partner, region, kind, self.clock(), self.run_tag, self._serial)

    def build_request(self, partner: str, kind: str) -> Envelope:
        """One realistic request of `kind` from `partner`, wrapped with a fresh correlation id."""
        rng, now = self.rng, self.clock()
        payload: Event
        if kind == "dispute_referred":
            referral_kind, regions, types = REFERRALS[partner]
            region, dispute_type = rng.choice(regions), rng.choice(types)
            payload = DisputeReferred(
                partner_reference=self._reference(partner, region, kind),
                kind=referral_kind,
                dispute_type=dispute_type,
                region=region,
                parties=[person_ref(rng) for _ in range(rng.choice((1, 2, 2, 3)))],
                summary=SUMMARIES[dispute_type],
                referred_at=now,
            )
        elif kind == "notified_defence_requested":
            region = rng.choice(CITY_TOWNS)
            payload = NotifiedDefenceRequested(
                partner_reference=self._reference(partner, region, kind),
                kind=rng.choice((DefenceKind.NOTIFIED_DEFENCE, DefenceKind.DUTY_LAWYER)),
                defendant_ref=person_ref(rng),
                region=region,
                stage=STAGE[partner],
                charge=rng.choice(CHARGES),
                notified_at=now - timedelta(minutes=rng.randint(1, 120)),
                reason=rng.choice((None, "minor", "possible life sentence", "blind")),
            )
        elif kind == "detainee_application_forwarded":
            region = rng.choice(CITY_TOWNS)
            received = now - timedelta(hours=rng.uniform(1, 20))  # forwarded within 24 hours (art. 39)
            payload = DetaineeApplicationForwarded(
                partner_reference=self._reference(partner, region, kind),
                applicant_ref=person_ref(rng),
                region=region,
                matter=rng.choice(("criminal defence", "appeal", "compensation claim")),
                received_at=received,
                forwarded_at=now,
            )
        elif kind == "call_transferred":
            region = rng.choice(CITY_TOWNS)
            reference = self._reference(partner, region, kind)
            payload = hotline_simulation.call_transferred(partner, reference, region, rng, now)
        elif kind == "notary_commissioned":
            region = rng.choice(("431002001000", "440203001000", "340302001000"))
            payload = NotaryCommissioned(
                partner_reference=self._reference(partner, region, kind),
                kind=rng.choice(list(CommissionKind)),
                region=region,
                details="请公证处协助送达法律文书并现场记录",
                due_by=now + timedelta(days=rng.randint(5, 20)),
                commissioned_at=now,
            )
        else:
            raise ValueError(f"{partner} does not send {kind!r}")
        reference = payload.partner_reference  # type: ignore[attr-defined]
        return Envelope.wrap(
            payload,
            source=f"partner/{partner}",
            subject=reference,
            correlationid=f"corr-{uuid.uuid4().hex}",
            actor=f"partner:{partner}",
        )

    def next_request(self) -> tuple[str, Envelope]:
        partner, kind = self._plan[self._turn % len(self._plan)]
        self._turn += 1
        return partner, self.build_request(partner, kind)

    async def send(self, partner: str, env: Envelope) -> None:
        assert self._producer is not None
        key, value, headers = env.to_kafka()
        await self._producer.send_and_wait(self.topics.partner_inbound(partner), value=value, key=key, headers=headers)
        self.tally[partner].sent[env.type] += 1
        if len(self.sent_envelopes) < 10_000:
            self.sent_envelopes.append(env)

    # -- answers ----------------------------------------------------------------------------------------------
    def answers_for(self, partner: str, env: Envelope, payload: Event | None) -> list[Envelope]:
        """The requests a real partner would send back for this notice, in order (none for most notices)."""
        if isinstance(payload, RequestTransferred) and partner in references.TICKET_PREFIX:
            reference = self._reference(partner, payload.region, "ticket")
            replies = hotline_simulation.answers(partner, payload, reference, self.rng, self.clock())
            return [self._reply(partner, env, reply, reference) for reply in replies]
        if partner == "court" and isinstance(payload, ConfirmationRequested):
            confirmed = self.rng.random() < self.confirm_share
            ruling = JudicialConfirmationDecided(
                partner_reference=self._reference("court", payload.region, "confirmation"),
                dispute_id=payload.dispute_id,
                outcome=ConfirmationOutcome.CONFIRMED if confirmed else ConfirmationOutcome.REJECTED,
                reason=None if confirmed else "协议内容违反法律强制性规定",
                decided_at=self.clock(),
            )
            return [self._reply("court", env, ruling, ruling.partner_reference)]
        return []

    @staticmethod
    def _reply(partner: str, notice: Envelope, payload: Event, reference: str) -> Envelope:
        return Envelope.wrap(
            payload,
            source=f"partner/{partner}",
            subject=reference,
            correlationid=notice.correlationid,  # the case keeps its id across the exchange
            causationid=notice.id,
            traceparent=notice.traceparent,
            actor=f"partner:{partner}",
        )

    async def _answer_later(self, partner: str, answers: list[Envelope]) -> None:
        for answer in answers:
            await asyncio.sleep(self.rng.uniform(*self.answer_delay))
            await self.send(partner, answer)
            self.tally[partner].answered[answer.type] += 1

    async def _consume(self, partner: str) -> None:
        consumer: AIOKafkaConsumer = kafka.consumer(
            self.settings,
            self.topics.partner_outbound(partner),
            self.topics.indicators,
            group_id=f"{self.settings.topic_prefix}.partner.{partner}.sim",
        )
        await consumer.start()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=500)
                for records in batches.values():
                    for msg in records:
                        self._observe(partner, msg.value, msg.headers)
                if batches:
                    await consumer.commit()
        finally:
            await consumer.stop()

    def _observe(self, partner: str, value: bytes | None, headers: Sequence[tuple[str, bytes]]) -> None:
        tally = self.tally[partner]
        try:
            env = Envelope.from_kafka(value, list(headers or ()))
        except CaseflowError:
            tally.undecodable += 1
            return
        seen = self._seen[partner]
        if env.id in seen:
            return  # at-least-once delivery: a redelivered notice changes nothing
        seen.add(env.id)
        tally.received[env.type] += 1
        payload: Event | None = None
        if env.type in registry:
            try:
                payload = env.payload(registry)
            except CaseflowError:
                tally.undecodable += 1
                return
        answers = self.answers_for(partner, env, payload)
        if answers:
            task = asyncio.create_task(self._answer_later(partner, answers))
            self._answers.add(task)
            task.add_done_callback(self._answers.discard)

    # -- loop -------------------------------------------------------------------------------------------------
    async def _report_forever(self) -> None:
        while True:
            await asyncio.sleep(self.report_every)
            for p, t in self.tally.items():
                log.info(
                    "%s: sent %s | received %s | answered %s",
                    p,
                    _short(t.sent),
                    _short(t.received),
                    _short(t.answered),
                )

    async def run(self, minutes: float = 0) -> None:
        """Send at `rate` events/s until `minutes` pass (0 = until cancelled), consuming and answering meanwhile."""
        await kafka.ensure_topics(self.settings)
        self._producer = kafka.producer(self.settings)
        await self._producer.start()
        background = [asyncio.create_task(self._consume(p), name=f"sim-{p}") for p in self.partners]
        background.append(asyncio.create_task(self._report_forever(), name="sim-report"))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + minutes * 60 if minutes > 0 else None
        try:
            while deadline is None or loop.time() < deadline:
                if self.answer_only:
                    await asyncio.sleep(1 if deadline is None else min(1, max(0.0, deadline - loop.time())))
                    continue
                partner, env = self.next_request()
                await self.send(partner, env)
                pause = self.rng.expovariate(self.rate)
                if deadline is not None:
                    pause = min(pause, max(0.0, deadline - loop.time()))
                await asyncio.sleep(pause)
        finally:
            for task in [*background, *self._answers]:
                task.cancel()
            for task in [*background, *self._answers]:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self._producer.stop()

    def table(self) -> object:
        """A rich table of what each organ sent, received and answered."""
        from rich.table import Table

        table = Table(title="partner simulators: what they saw")
        for col in ("partner", "direction", "event type", "count"):
            table.add_column(col, justify="right" if col == "count" else "left")
        for p, t in self.tally.items():
            for direction, counts in (("sent", t.sent), ("received", t.received), ("answered", t.answered)):
                for kind, n in sorted(counts.items()):
                    table.add_row(p, direction, kind, str(n))
            if t.undecodable:
                table.add_row(p, "received", "(undecodable)", str(t.undecodable))
        return table


def _short(counts: Counter[str]) -> str:
    return ", ".join(f"{k.rsplit('.', 1)[-1]}={n}" for k, n in sorted(counts.items())) or "-"
