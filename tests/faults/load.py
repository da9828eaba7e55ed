"""A steady stream of work for the fault suite, and the ledger of what the platform acknowledged.

Intake cases over HTTP (the entry point): receive a request, then answer it, or refer it to mediation or legal
aid (whose consumers open their own cases from the referral). Partner organs' requests go straight onto their
inbound topics with an idempotent `acks=all` producer (what the partner gateway does), built by the partner
simulator. Every HTTP command carries an `Idempotency-Key` and is retried with the same key on a transport
error, a 5xx or a transient conflict, as a real client would; the ledger records which were acknowledged (2xx).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from integrations.simulator import PartnerSimulator
from shared import kafka
from shared.settings import PlatformSettings

log = logging.getLogger("faults.load")

PERSON = {"name": "张三", "id_number": "431002198506121230", "phone": "13800138000"}
TOWNS = ("431002001000", "440203001000", "340302001000")  # towns with mediation committees
DISPUTES = ("contract_debt", "damages", "labour", "neighbourhood")
TOPICS = ("labour", "marriage_family", "contract_debt", "consumer")
RETRYABLE = {500, 502, 503, 504}


@dataclass
class Command:
    key: str  # Idempotency-Key, unique per command
    kind: str
    path: str
    sent_at: float
    status: int | None = None
    attempts: int = 0
    request_id: str | None = None
    version: int | None = None
    error: str | None = None

    @property
    def acked(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class PartnerSend:
    event_id: str
    partner: str
    type: str
    acked: bool = False
    attempts: int = 0


@dataclass
class Ledger:
    commands: list[Command] = field(default_factory=list)
    partner: list[PartnerSend] = field(default_factory=list)

    @property
    def acked(self) -> list[Command]:
        return [c for c in self.commands if c.acked]


class LoadDriver:
    def __init__(
        self,
        intake_url: str,
        settings: PlatformSettings,
        token: str,
        *,
        case_rate: float = 5.0,
        partner_rate: float = 2.0,
        retry_for: float = 120.0,
        seed: int = 11,
        simulator: PartnerSimulator | None = None,
    ) -> None:
        self.intake_url = intake_url
        self.settings = settings
        self.headers = {"Authorization": f"Bearer {token}"}
        self.case_rate = case_rate  # each case is two commands
        self.partner_rate = partner_rate
        self.retry_for = retry_for
        self.rng = random.Random(seed)
        self.ledger = Ledger()
        # one simulator per session: partner references are serial numbers, a new one would repeat them
        self.simulator = simulator or PartnerSimulator(settings, rate=partner_rate, seed=seed)
        self.acks_at: list[float] = []  # monotonic time of every acknowledgement (recovery measurement)
        self._tasks: set[asyncio.Task[None]] = set()
        self._counter = itertools.count()

    # -- intake over HTTP -----------------------------------------------------------------------------------
    async def _command(self, client: httpx.AsyncClient, kind: str, path: str, body: dict[str, Any]) -> Command:
        cmd = Command(key=f"fault-{uuid.uuid4().hex}", kind=kind, path=path, sent_at=time.monotonic())
        self.ledger.commands.append(cmd)
        deadline = cmd.sent_at + self.retry_for
        backoff = 0.3
        while True:
            cmd.attempts += 1
            try:
                r = await client.post(path, json=body, headers={**self.headers, "Idempotency-Key": cmd.key})
            except httpx.HTTPError as exc:
                cmd.error = f"{type(exc).__name__}: {exc}"
            else:
                cmd.status = r.status_code
                if r.is_success:
                    doc = r.json()
                    cmd.request_id, cmd.version, cmd.error = doc["request_id"], doc["version"], None
                    self.acks_at.append(time.monotonic())
                    return cmd
                problem = _json(r)
                cmd.error = f"{r.status_code} {problem.get('title')}: {problem.get('detail')}"
                transient = r.status_code in RETRYABLE or problem.get("title") == "concurrency_conflict"
                if not transient:
                    return cmd  # a refusal: nothing may have been stored for it
            if time.monotonic() > deadline:
                return cmd  # unacknowledged: its outcome is unknown to the client
            await asyncio.sleep(backoff + self.rng.random() * 0.2)
            backoff = min(backoff * 1.5, 2.0)

    async def _case(self, client: httpx.AsyncClient) -> None:
        town = self.rng.choice(TOWNS)
        body = {
            "channel": "walk_in",
            "level": "town",
            "region": town,
            "kind": "help",
            "topic": self.rng.choice(TOPICS),
            "person": PERSON,
        }
        created = await self._command(client, "receive", "/requests", body)
        if not created.acked or created.request_id is None:
            return
        rid = created.request_id
        n = next(self._counter) % 3
        if n == 0:
            await self._command(client, "answer", f"/requests/{rid}/answer", {"on_the_spot": True})
        elif n == 1:
            refer = {"to_department": "mediation", "matter": "欠款纠纷", "dispute_type": self.rng.choice(DISPUTES)}
            await self._command(client, "refer_mediation", f"/requests/{rid}/refer", refer)
        else:
            refer = {"to_department": "legal_aid", "matter": "拖欠工资三个月"}
            await self._command(client, "refer_legal_aid", f"/requests/{rid}/refer", refer)

    async def _cases(self, stop: asyncio.Event) -> None:
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=8)
        async with httpx.AsyncClient(base_url=self.intake_url, timeout=30, limits=limits) as client:
            while not stop.is_set():
                task = asyncio.create_task(self._case(client))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1 / self.case_rate)
            if self._tasks:  # let cases in flight finish (their retries included)
                await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- partner events on Kafka ----------------------------------------------------------------------------
    async def _partners(self, stop: asyncio.Event) -> None:
        producer = kafka.producer(self.settings, request_timeout_ms=10_000)
        await producer.start()
        try:
            while not stop.is_set():
                partner, env = self.simulator.next_request()
                sent = PartnerSend(env.id, partner, env.type)
                self.ledger.partner.append(sent)
                key, value, headers = env.to_kafka()
                topic = self.simulator.topics.partner_inbound(partner)
                deadline = time.monotonic() + self.retry_for
                while not sent.acked and time.monotonic() < deadline:
                    sent.attempts += 1
                    try:
                        await asyncio.wait_for(producer.send_and_wait(topic, value, key, headers=headers), 15)
                        sent.acked = True
                    except Exception as exc:  # noqa: BLE001 - any failure: resend the same event (same id)
                        log.warning("partner send %s failed: %s", env.id, exc)
                        await asyncio.sleep(0.5)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1 / self.partner_rate)
        finally:
            await producer.stop()

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(self._cases(stop), self._partners(stop))


def _json(r: httpx.Response) -> dict[str, Any]:
    try:
        doc = r.json()
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}
