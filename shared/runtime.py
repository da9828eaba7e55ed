"""Wiring shared by every department service: database, event store, views, vault, relay, consumers, probes.

A service's `bootstrap.py` builds one `ServiceRuntime`, asks it for command buses, read models and consumers;
`main.py` enters it in the FastAPI lifespan. The adapters are PostgreSQL's unless a test passes its own
(`store`, `views`, `vault`, `producer`, `clock`: tests/fakes.py), so unit tests wire the service the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypedDict, TypeVar

from aiokafka import AIOKafkaProducer, ConsumerRecord
from fastapi import APIRouter, FastAPI

from shared import kafka
from shared.api import create_app as create_service_app
from shared.commands import CommandBus
from shared.consumer import DeadLetters, EventConsumer, Handler, Inbox
from shared.contracts.common import Department as DepartmentName
from shared.db import Database
from shared.decider import Decider
from shared.deps import Clock, utcnow
from shared.envelope import Envelope
from shared.events import Event
from shared.eventstore import Commit, EventStore, PostgresEventStore
from shared.logs import setup_logging
from shared.outbox import OutboxRelay
from shared.pii import PersonVault, Vault
from shared.readmodel import ReadModel, Render, ViewFactory, Views
from shared.referrals import ReferralDesk, is_refusal_stream, refusal_decider
from shared.settings import PlatformSettings
from shared.telemetry import setup_telemetry
from shared.topics import Topics

S = TypeVar("S")
log = logging.getLogger(__name__)


class Adapters(TypedDict, total=False):
    """What a test may wire in place of PostgreSQL's adapters (`tests/fakes.py: memory_adapters`)."""

    store: EventStore
    views: ViewFactory
    vault: Vault
    producer: AIOKafkaProducer
    clock: Clock


class ServiceRuntime:
    def __init__(
        self,
        service: str,
        settings: PlatformSettings,
        *,
        migrations: tuple[Path, ...] = (),
        store: EventStore | None = None,
        views: ViewFactory | None = None,
        vault: Vault | None = None,
        producer: AIOKafkaProducer | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.service = service
        self.settings = settings
        self.topics = Topics(settings.topic_prefix)
        self.db = Database.for_service(settings, service, max_size=settings.database_pool_size)
        self.migrations = migrations  # the service's own SQL migrations, after the core ones
        self.postgres = store is None  # False when a test wired in-memory adapters
        self.store: EventStore = store if store is not None else PostgresEventStore(self.db)
        self._views = views
        self.vault: Vault = vault or PersonVault(self.db, settings.pii_pepper.get_secret_value())
        self.producer = producer
        self.clock = clock
        self.relay: OutboxRelay | None = None
        self.read_models: list[Views[Any]] = []
        self.consumers: list[EventConsumer] = []
        self._consumer_specs: list[tuple[str, list[str], dict[type[Event], Handler], Any]] = []
        self._tasks: list[asyncio.Task[None]] = []

    # -- building blocks ------------------------------------------------------------------------------------
    def read_model(
        self,
        name: str,
        decider: Decider[S],
        render: Render[S],
        columns: Mapping[str, str] | None = None,
        streams: Callable[[str], bool] | None = None,
    ) -> Views[S]:
        rm: Views[S]

        def covered(stream_id: str) -> bool:  # refusal streams (shared/referrals.py) are no department's case
            return not is_refusal_stream(stream_id) and (streams is None or streams(stream_id))

        if self._views is not None:
            rm = self._views(name, decider, render, columns, covered)
        else:
            rm = ReadModel(self.db, name, decider, render, columns=columns, streams=covered)
        self.read_models.append(rm)
        return rm

    def command_bus(self, decider: Decider[S], read_model: Views[S] | None = None) -> CommandBus[S]:
        async def committed(stream_id: str, state: S, version: int, envelopes: list[Envelope]) -> None:
            if self.relay is not None:
                self.relay.notify()

        return CommandBus(
            decider,
            self.store,
            source=f"caseflow/{self.service}",
            on_committed=committed,
            project=read_model.writes if read_model is not None else None,
        )

    def referral_desk(self) -> ReferralDesk:
        """Where this department accepts other departments' referrals, or refuses them back (shared/referrals.py)."""
        return ReferralDesk(DepartmentName(self.service), self.command_bus(refusal_decider), self.clock)

    def subscribe(
        self,
        name: str,
        topics: list[str],
        handlers: dict[type[Event], Handler],
        accept: Callable[[ConsumerRecord, Envelope], str | None] | None = None,
    ) -> None:
        """Declare a consumer group (`<prefix>.<service>.<name>`) started with the runtime."""
        self._consumer_specs.append((name, topics, handlers, accept))

    def topic_for(self, _commit: Commit) -> str:
        return self.topics.department(self.service)

    # -- lifecycle ------------------------------------------------------------------------------------------
    async def start(self) -> None:
        setup_logging(self.settings.log_level, self.service)
        setup_telemetry(self.service, self.settings)  # once per process: a no-op under the HTTP app's lifespan
        await self.db.open(*self.migrations)
        for rm in self.read_models:
            if await rm.ensure():
                await rm.rebuild(self.store)
        await kafka.ensure_topics(self.settings)
        if self.producer is None:
            self.producer = kafka.producer(self.settings)
            await self.producer.start()
        assert isinstance(self.store, PostgresEventStore), "a runtime with in-memory adapters is never started"
        self.relay = OutboxRelay(self.store, self.producer, topic_for=self.topic_for, wakeups=self.store.wakeups)
        self._tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.service}-relay"))
        own_topic = self.topics.department(self.service)  # the router forwards rejection notices to partners
        dead_letters = DeadLetters(
            self.producer, self.topics.deadletter, self.service, notify_topic=lambda _partner: own_topic
        )
        for name, topics, handlers, accept in self._consumer_specs:
            group = f"{self.settings.topic_prefix}.{self.service}.{name}"
            raw = kafka.consumer(self.settings, *topics, group_id=group)
            await raw.start()
            ec = EventConsumer(
                raw,
                name=group,
                handlers=handlers,
                inbox=Inbox(self.db, group),
                dead_letters=dead_letters,
                accept=accept,
            )
            self.consumers.append(ec)
            self._tasks.append(asyncio.create_task(ec.run(), name=group))

    async def stop(self) -> None:
        if self.relay is not None:
            self.relay.stop()
        for ec in self.consumers:
            ec.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for ec in self.consumers:
            with contextlib.suppress(Exception):
                await ec.consumer.stop()
        if self.producer is not None:
            with contextlib.suppress(Exception):
                await self.producer.stop()
        await self.db.close()

    @contextlib.asynccontextmanager
    async def running(self, _app: Any = None) -> AsyncIterator[ServiceRuntime]:
        await self.start()
        try:
            yield self
        finally:
            await self.stop()

    # -- readiness ------------------------------------------------------------------------------------------
    def probes(self) -> dict[str, Callable[[], Any]]:
        async def postgres() -> None:
            await self.db.ping()

        async def kafka_probe() -> None:
            if self.producer is None:
                raise RuntimeError("producer not started")
            await asyncio.wait_for(self.producer.client.fetch_all_metadata(), timeout=3)

        return {"postgres": postgres, "kafka": kafka_probe}


class Department(Protocol):
    """A department's container as its bootstrap returns it: at least its runtime and its clock."""

    @property
    def runtime(self) -> ServiceRuntime: ...

    @property
    def clock(self) -> Clock: ...


def department_app(
    name: str,
    department: Department,
    router: APIRouter,
    *,
    description: str,
    lifespan: Callable[[Any], contextlib.AbstractAsyncContextManager[Any]] | None = None,
) -> FastAPI:
    """The app of a department: the shared HTTP base around its container (`app.state.<name>`) and routes."""
    runtime = department.runtime
    app = create_service_app(
        service=name,
        settings=runtime.settings,
        lifespan=lifespan or runtime.running,
        probes=runtime.probes(),
        clock=department.clock,
        description=description,
    )
    setattr(app.state, name, department)
    app.state.runtime = runtime
    app.include_router(router)
    return app
