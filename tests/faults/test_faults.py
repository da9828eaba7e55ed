"""Faults under a steady load, each followed by a reconciliation: nothing acknowledged is lost or counted twice.

Each scenario drives intake cases over HTTP (~6 commands/s) and partner requests on Kafka (~1/s) for about
30 s (the rebalance 40 s), injects one fault a few seconds in, stops the load, waits until the platform is quiet
and reconciles the whole session so far (`tests/faults/reconcile.py`). Figures are printed in the terminal summary.

Recovery time: from the restart of what was broken (for a metrics writer, its kill) until the platform is whole
again — a broker back in the ISR of every partition; a service answering /readyz; PostgreSQL back (after its
crash recovery) and the first command acknowledged after it; indicators published again after one of the two
metrics writers died; a frozen consumer back in its group. A consumer to be evicted gets SIGSTOP, the rest kill -9.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict

import httpx
import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from caseflow_cli import infra
from caseflow_cli.supervisor import service
from shared import kafka
from shared.topics import Topics
from tests.faults import groups
from tests.faults.conftest import ROWS, SERVICES, Rig
from tests.faults.load import LoadDriver
from tests.faults.reconcile import reconcile
from tests.integration.helpers import free_ports

pytestmark = [pytest.mark.faults, pytest.mark.timeout(420)]

LOAD_SECONDS = 30.0
CASE_RATE = 3.0  # cases/s, two commands each: modest, the machine is shared
PARTNER_RATE = 1.0
FAULT_AT = 8.0


async def _scenario(
    rig: Rig, name: str, fault: Callable[[LoadDriver], Awaitable[float]], load_seconds: float = LOAD_SECONDS
) -> None:
    driver = rig.driver(case_rate=CASE_RATE, partner_rate=PARTNER_RATE)
    stop = asyncio.Event()
    started = time.monotonic()
    load = asyncio.create_task(driver.run(stop))
    await asyncio.sleep(FAULT_AT)
    recovery = await fault(driver)
    await asyncio.sleep(max(0.0, load_seconds - (time.monotonic() - started)))
    stop.set()
    await load
    rig.ledger.commands += driver.ledger.commands
    rig.ledger.partner += driver.ledger.partner
    quiet_from = time.monotonic()
    result = await reconcile(rig.settings, rig.ledger, services=list(SERVICES), groups=rig.groups)
    figures = result.figures.minus(rig.last)
    rig.last = result.figures
    ROWS.append((name, figures, recovery, time.monotonic() - quiet_from))
    dump = rig.sup.log_dir / f"ledger-{name.split(':')[0]}.json"
    dump.write_text(json.dumps([asdict(c) for c in driver.ledger.commands], indent=0))
    print(f"\n{name}: {figures}  recovery {recovery:.1f}s", flush=True)

    assert not result.problems or not any(result.problems.values()), result.summary()
    assert figures.acknowledged > 100, f"too little load got through: {figures}"
    # an unacknowledged command (the client gave up retrying) is not a loss, but a sign the platform did not recover
    unacked = Counter(f"{c.kind}: {(c.error or '')[:100]}" for c in driver.ledger.commands if not c.acked)
    assert figures.unacknowledged <= 0.05 * figures.commands_sent, unacked.most_common(5)
    assert figures.partner_acked == figures.partner_sent
    assert figures.events_stored >= figures.acknowledged  # every acked command stored at least one event
    assert figures.delivered == figures.events_stored


async def _leader_of(rig: Rig, topic: str) -> int:
    admin = AIOKafkaAdminClient(**kafka.client_options(rig.settings))
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        return int(min(described["partitions"], key=lambda p: p["partition"])["leader"])
    finally:
        await admin.close()


async def _fully_replicated(rig: Rig, timeout: float = 120) -> None:
    names = Topics(rig.settings.topic_prefix).all()
    deadline = time.monotonic() + timeout
    while True:
        admin = AIOKafkaAdminClient(**kafka.client_options(rig.settings))
        try:
            await admin.start()
            described = await admin.describe_topics(names)
            short = [
                (t["topic"], p["partition"])
                for t in described
                for p in t["partitions"]
                if len(p["isr"]) < rig.infra.brokers
            ]
            if not short:
                return
        except Exception:  # noqa: BLE001 - metadata from a node still starting: ask again
            short = [("?", -1)]
        finally:
            await admin.close()
        if time.monotonic() > deadline:
            raise TimeoutError(f"partitions still under-replicated after {timeout:g} s: {short[:5]}")
        await asyncio.sleep(0.5)


async def test_kill_a_broker_mid_run(rig: Rig) -> None:
    async def fault(_driver: LoadDriver) -> float:
        # the leader of the intake topic's first partition: the hot path has to fail over
        node = f"kafka-{await _leader_of(rig, Topics(rig.settings.topic_prefix).department('intake'))}"
        await asyncio.to_thread(infra.kill_server, rig.infra, node)
        await asyncio.sleep(8)
        t0 = time.monotonic()
        await asyncio.to_thread(infra.start_server, rig.infra, node)
        await _fully_replicated(rig)
        return time.monotonic() - t0

    await _scenario(rig, "a: kill -9 broker", fault)


async def test_kill_department_services_mid_run(rig: Rig) -> None:
    async def fault(_driver: LoadDriver) -> float:
        recovery = 0.0
        for name in ("intake", "mediation"):  # the entry point (outbox), then a consumer (inbox)
            await asyncio.to_thread(rig.sup.kill9, name)
            await asyncio.sleep(3)
            rig.sup.restart(name)
            recovery = max(recovery, await asyncio.to_thread(rig.sup.wait_ready, name, 120))
            await asyncio.sleep(4)
        return recovery

    await _scenario(rig, "b: kill -9 intake+mediation", fault)


async def test_kill_postgres_mid_run(rig: Rig) -> None:
    async def fault(driver: LoadDriver) -> float:
        # the postmaster and its backends: transactions in flight are cut off, the restart does crash recovery
        await asyncio.to_thread(infra.kill_server, rig.infra, infra.POSTGRES)
        await asyncio.sleep(6)
        t0 = time.monotonic()
        await asyncio.to_thread(infra.start_server, rig.infra, infra.POSTGRES)
        while not any(t > t0 for t in driver.acks_at[-50:]):  # the first command acknowledged again
            assert time.monotonic() - t0 < 90, "no command acknowledged within 90 s of PostgreSQL's restart"
            await asyncio.sleep(0.1)
        return min(t for t in driver.acks_at if t > t0) - t0

    await _scenario(rig, "c: kill -9 PostgreSQL", fault)


async def test_kill_one_of_the_two_metrics_writers_mid_run(rig: Rig) -> None:
    """The other writer takes the dead one's by-case partitions (and the reducer, if it held it) once its session
    times out; the dead one comes back and the two share the work again."""
    indicators = Topics(rig.settings.topic_prefix).indicators

    async def fault(_driver: LoadDriver) -> float:
        await asyncio.to_thread(rig.sup.kill9, "metrics-worker")
        t0 = time.monotonic()
        await asyncio.sleep(1)  # past what the killed writer's last sends may still add
        before = await _end_offsets(rig, indicators)
        while await _end_offsets(rig, indicators) <= before:  # the survivor publishing again
            assert rig.sup.alive("metrics-worker-2"), "the surviving metrics writer died"
            assert time.monotonic() - t0 < 120, "no indicator published within 120 s of losing a writer"
            await asyncio.sleep(0.5)
        recovered = time.monotonic() - t0
        rig.sup.restart("metrics-worker")
        await asyncio.sleep(5)
        assert rig.sup.alive("metrics-worker"), "the metrics writer died after its restart"
        return recovered

    await _scenario(rig, "d: kill -9 one of 2 metrics writers", fault)


async def test_pause_a_consumer_past_its_session_timeout(rig: Rig) -> None:
    """Two mediation instances share its partner-inbound group; one is frozen (SIGSTOP) past the session timeout.

    The coordinator must evict it and hand its partitions to the other instance, which then consumes from them
    (its commits there move past where the frozen one stopped); thawed (SIGCONT), the frozen instance rejoins
    and the group has two members again. Recovery: from the SIGCONT until the group is stable with both.
    """
    group = f"{rig.settings.topic_prefix}.mediation.partners"
    # what shared/kafka.py gives every consumer (aiokafka's default unless overridden there)
    probe = kafka.consumer(rig.settings, group_id=None)
    session = probe._session_timeout_ms / 1000
    await probe.stop()
    # a port the OS says is free now: a fixed one next to the others can be held by a client socket's ephemeral port
    [port] = free_ports(1)
    rig.sup.start(service("mediation", port, label="mediation-2"))
    try:
        await asyncio.to_thread(rig.sup.wait_ready, "mediation-2", 120)
        await _group_settles(rig, group, members=2, timeout=90)

        async def fault(_driver: LoadDriver) -> float:
            before = await _group_settles(rig, group, members=2, timeout=60)
            rig.sup.pause("mediation")
            paused_at = time.monotonic()
            try:
                at_pause = await groups.committed(rig.settings, group)
                after = await _group_settles(rig, group, members=1, timeout=session + 30)
                evicted_in = time.monotonic() - paused_at
                (survivor,) = after.members
                assert survivor in before.members, f"a new member {survivor}, not one of {set(before.members)}"
                taken = before.owned() - before.members[survivor]  # what the frozen member owned
                assert taken, f"the frozen member owned nothing: {before}"
                assert after.members[survivor] == before.owned(), f"the survivor took not all: {after}"
                # the survivor consumes where the frozen member left off: its commits there move on
                while True:
                    now = await groups.committed(rig.settings, group)
                    moved = sorted(
                        f"{tp.topic}[{tp.partition}]" for tp in taken if now.get(tp, 0) > at_pause.get(tp, 0)
                    )
                    if moved:
                        break
                    assert time.monotonic() - paused_at < session + 60, f"nothing consumed on {taken} by the survivor"
                    await asyncio.sleep(0.5)
                taken_over_in = time.monotonic() - paused_at
                await asyncio.sleep(max(0.0, session + 5 - (time.monotonic() - paused_at)))  # frozen well past it
            finally:
                rig.sup.resume("mediation")
            t0 = time.monotonic()
            frozen_for = t0 - paused_at
            rejoined = await _group_settles(rig, group, members=2, timeout=90)
            recovery = time.monotonic() - t0
            assert rig.sup.alive("mediation"), "the thawed mediation instance died"
            assert survivor in rejoined.members, f"the survivor left the group: {rejoined}"
            async with httpx.AsyncClient(timeout=5) as client:
                assert (await client.get(f"{rig.sup.programs['mediation'].url}/readyz")).status_code == 200
            print(
                f"\n  rebalance: frozen {frozen_for:.1f}s (session timeout {session:g}s), evicted after "
                f"{evicted_in:.1f}s, survivor consumed from {moved} after {taken_over_in:.1f}s, "
                f"group of 2 again {recovery:.1f}s after SIGCONT",
                flush=True,
            )
            return recovery

        await _scenario(rig, "e: SIGSTOP a consumer past its session", fault, load_seconds=40)
    finally:
        rig.sup.resume("mediation")  # a failure above must not leave it frozen
        rig.sup.stop("mediation-2")


async def _group_settles(rig: Rig, group: str, *, members: int, timeout: float) -> groups.GroupView:
    """The group once it is stable with `members` members that between them own all of its partitions."""
    deadline = time.monotonic() + timeout
    view = None
    while time.monotonic() < deadline:
        try:
            view = (await groups.describe(rig.settings, group)).get(group)
        except Exception:  # noqa: BLE001 - a coordinator moving: ask again
            view = None
        if view is not None and view.stable and len(view.members) == members:
            return view
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{group} not stable with {members} members within {timeout:g} s: {view}")


async def _end_offsets(rig: Rig, topic: str) -> int:
    consumer = kafka.consumer(rig.settings, group_id=None)
    await consumer.start()
    try:
        parts = await kafka.partitions_of(consumer, topic)
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in parts])
        return sum(ends.values())
    finally:
        await consumer.stop()
