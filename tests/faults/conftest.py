"""Fault-suite fixtures: a 3-broker KRaft cluster + PostgreSQL of its own, and the platform running against it.

Servers come from `caseflow_cli.infra` in cluster mode under `CASEFLOW_FAULTS_HOME` (default
`.cache/faults-suite`) on ports `CASEFLOW_FAULTS_KAFKA_PORT` (node i: +2(i-1); controllers on the next port),
`CASEFLOW_FAULTS_POSTGRES_PORT` and HTTP ports from `CASEFLOW_FAULTS_HTTP_PORT`. Unless they already run, the home
is wiped first; they are stopped at the end unless `CASEFLOW_TEST_KEEP_INFRA` is set. The department services,
the partner router and the metrics worker run as subprocesses (logs in `<home>/logs/<prefix>/`), with a topic
prefix of their own per session.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from caseflow_cli import infra
from caseflow_cli.supervisor import Supervisor, module, service
from integrations.simulator import PartnerSimulator
from services.intake import consumers as intake_consumers
from services.legal_aid import consumers as legal_aid_consumers
from services.mediation import consumers as mediation_consumers
from shared import kafka
from shared.auth import issue_token
from shared.db import schema_for
from shared.partners import partners_sending
from shared.settings import PlatformSettings
from shared.topics import Topics
from tests.faults.load import Ledger, LoadDriver
from tests.faults.reconcile import Figures, Group

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "legal_aid", "mediation", "notary")
ROWS: list[tuple[str, Figures, float, float]] = []  # scenario, its figures, recovery s, quiet-after-load s


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: fault-injection suite against a 3-broker cluster (make test-faults)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything here is `faults` (select or deselect it with `-m`)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.faults)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if ROWS:
        terminalreporter.write_sep("=", "fault suite reconciliation")
        terminalreporter.write_line(figures_table(ROWS))


def figures_table(rows: list[tuple[str, Figures, float, float]]) -> str:
    head = ("scenario", "sent", "acked", "refused", "unacked", "partner acked", "events stored", "delivered",
            "duplicates", "handled", "DLQ", "metrics cases = recomputed", "cells", "recovery s", "quiet s")  # fmt: skip
    lines: list[tuple[object, ...]] = [head]
    for name, f, recovery, quiet in rows:
        lines.append(
            (name, f.commands_sent, f.acknowledged, f.refused, f.unacknowledged, f.partner_acked, f.events_stored,
             f.delivered, f.duplicates, f.handled_from_events, f.dlq, f.metrics_cases, f.metrics_cells,
             f"{recovery:.1f}", f"{quiet:.1f}")
        )  # fmt: skip
    widths = [max(len(str(r[i])) for r in lines) for i in range(len(head))]
    return "\n".join("  ".join(str(v).rjust(w) for v, w in zip(r, widths, strict=True)) for r in lines)


def _infra_settings() -> infra.InfraSettings:
    env = os.environ.get
    return infra.InfraSettings(
        home=Path(env("CASEFLOW_FAULTS_HOME", str(REPO / ".cache" / "faults-suite"))),
        # below Linux's ephemeral range (32768-60999): a client socket's local port never takes a server's port
        kafka_port=int(env("CASEFLOW_FAULTS_KAFKA_PORT", "29500")),
        kafka_controller_port=int(env("CASEFLOW_FAULTS_KAFKA_PORT", "29500")) + 1,
        postgres_port=int(env("CASEFLOW_FAULTS_POSTGRES_PORT", "29532")),
        brokers=3,
        partitions=3,
        start_timeout=120,
        secure=False,
        zipkin=False,  # the services export no spans here
    )


@dataclass
class Rig:
    """What a scenario works with: servers, processes, settings, and the session's ledger and figures."""

    infra: infra.InfraSettings
    settings: PlatformSettings
    sup: Supervisor
    groups: list[Group]
    ledger: Ledger = field(default_factory=Ledger)
    last: Figures = field(default_factory=Figures)
    simulator: PartnerSimulator | None = None
    runs: int = 0

    def driver(self, **kw: object) -> LoadDriver:
        token = issue_token(self.settings, "dept:intake", ["intake:write", "intake:read"])
        url = self.sup.programs["intake"].url
        assert url is not None
        if self.simulator is None:
            self.simulator = PartnerSimulator(self.settings, seed=11)
        self.runs += 1
        return LoadDriver(url, self.settings, token, seed=self.runs, simulator=self.simulator, **kw)


def groups_for(settings: PlatformSettings) -> list[Group]:
    """The department services' groups (see their main.py); others, like the router's, are discovered."""
    t, p = Topics(settings.topic_prefix), settings.topic_prefix

    def inbound(handlers: dict) -> tuple[str, ...]:
        """The inbound topics a department reads: those of the partners that send what it handles."""
        return tuple(t.partner_inbound(x) for x in partners_sending(handlers))

    def group(service: str, name: str, topics: tuple[str, ...]) -> Group:
        return Group(service, schema_for(settings, service), f"{p}.{service}.{name}", topics)

    return [
        group("intake", "partners", inbound(intake_consumers.partner_handlers(None))),
        group("legal_aid", "partners", inbound(legal_aid_consumers.partner_handlers(None))),
        group("legal_aid", "intake", (t.department("intake"),)),
        group("mediation", "partners", inbound(mediation_consumers.partner_handlers(None))),
        group("mediation", "intake", (t.department("intake"),)),
        group("notary", "legal_aid", (t.department("legal_aid"),)),
        group("notary", "court", (t.partner_inbound("court"),)),
    ]


async def _warm_coordinator(settings: PlatformSettings) -> None:
    """The first group join creates __consumer_offsets (3 replicas): do it before the services race to it."""
    opts = kafka.client_options(settings)
    admin = AIOKafkaAdminClient(**opts)
    await admin.start()
    try:
        if "faults-warm-up" not in await admin.list_topics():
            await admin.create_topics([NewTopic("faults-warm-up", 1, 3)])
    finally:
        await admin.close()
    # the topic can be missing from the first metadata the consumer fetches: its group then settles with nothing
    # assigned until the next refresh (5 min by default), so refresh often
    consumer = AIOKafkaConsumer("faults-warm-up", group_id="faults-warm-up", metadata_max_age_ms=1000, **opts)
    await consumer.start()
    try:
        async with asyncio.timeout(120):
            while not consumer.assignment():
                await consumer.getmany(timeout_ms=500)
    finally:
        await consumer.stop()


@pytest.fixture(scope="session")
def cluster() -> Iterator[infra.InfraStatus]:
    s = _infra_settings()
    already = infra.status(s).all_ready
    if not already:
        infra.wipe(s)  # a fresh cluster: a restarted broker then recovers this session's partitions only
    status = infra.up(s)
    yield status
    if not already and not os.environ.get("CASEFLOW_TEST_KEEP_INFRA"):
        infra.down(s)


@pytest.fixture(scope="session")
async def rig(cluster: infra.InfraStatus) -> AsyncIterator[Rig]:
    s = _infra_settings()
    settings = PlatformSettings(
        kafka_bootstrap=cluster.kafka_bootstrap,
        database_url=cluster.database_url,
        topic_prefix=f"f{uuid.uuid4().hex[:8]}",
        partitions=3,
        replication_factor=3,
    )
    await _warm_coordinator(settings)
    await kafka.ensure_topics(settings, timeout=60)
    # below the ephemeral range too: a service restarted after kill -9 binds its port again, which a client
    # socket's ephemeral local port may hold meanwhile (the restart then fails with "address already in use")
    base = int(os.environ.get("CASEFLOW_FAULTS_HTTP_PORT", "29540"))
    env = {
        "CASEFLOW_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "CASEFLOW_DATABASE_URL": cluster.database_url,
        "CASEFLOW_TOPIC_PREFIX": settings.topic_prefix,
        "CASEFLOW_PARTITIONS": str(settings.partitions),
        "CASEFLOW_REPLICATION_FACTOR": str(settings.replication_factor),
        "CASEFLOW_OTEL_EXPORTER": "none",
        "CASEFLOW_LOG_LEVEL": "WARNING",
        "METRICS_STATE_DIR": str(s.home / "metrics-state" / settings.topic_prefix),
        "METRICS_PORT": str(base + 10),
    }
    sup = Supervisor(env, s.logs_dir / settings.topic_prefix)
    programs = [service(name, base + i) for i, name in enumerate(SERVICES)]
    programs += [
        module("router", "integrations.router"),
        # two writers share the by-case partitions, as in production (scenario d kills one of them)
        module("metrics-worker", "services.metrics.writer"),
        module("metrics-worker-2", "services.metrics.writer"),
    ]
    try:
        for program in programs:
            sup.start(program)
        for program in programs:
            await asyncio.to_thread(sup.wait_ready, program.name, 120)
        yield Rig(s, settings, sup, groups_for(settings))
    finally:
        sup.stop_all()
