"""In-memory adapters for unit tests: the event store's views, a vault and a clock, wired by each service's
`bootstrap` exactly as PostgreSQL's are (never used to run the platform); a producer that records what is sent,
and the spans a test's code finished."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from psycopg import sql

from shared.decider import Decider
from shared.envelope import Envelope
from shared.eventstore import EventStore, InMemoryEventStore, ViewWrite
from shared.pii import ERASED, PersonData, person_ref
from shared.readmodel import Render
from shared.viewquery import after_cursor, matches, order_by


class MemoryViews:
    """One read model kept in the in-memory store's `views` (rows commit with their events, as in PostgreSQL)."""

    def __init__(
        self,
        store: InMemoryEventStore,
        name: str,
        decider: Decider[Any],
        render: Render[Any],
        columns: Mapping[str, str] | None = None,
        streams: Callable[[str], bool] | None = None,
    ) -> None:
        self.store = store
        self.name = name
        self.decider = decider
        self.render = render
        self.columns = dict(columns or {})
        self.streams = streams

    @classmethod
    def factory(cls, store: InMemoryEventStore) -> Callable[..., MemoryViews]:
        """A `views=` argument for a service's bootstrap: every read model it declares, kept in `store`."""
        return lambda name, decider, render, columns, streams: cls(store, name, decider, render, columns, streams)

    async def ensure(self) -> bool:
        return False

    def writes(self, stream_id: str, state: Any, version: int) -> list[ViewWrite]:
        if self.streams is not None and not self.streams(stream_id):
            return []
        doc = {**self.render(stream_id, state, version)}
        doc["_id"] = stream_id
        doc["_version"] = version
        return [ViewWrite(sql.Composed([]), (), self.name, stream_id, doc)]

    async def apply(self, stream_id: str, state: Any, version: int, _envelopes: Any = None) -> None:
        for w in self.writes(stream_id, state, version):
            current = self.store.views.get((self.name, stream_id))
            if current is None or current["_version"] < version:
                self.store.views[(self.name, stream_id)] = w.doc

    def docs(self) -> list[dict[str, Any]]:
        return [doc for (table, _), doc in self.store.views.items() if table == self.name]

    async def get(self, stream_id: str) -> dict[str, Any] | None:
        return self.store.views.get((self.name, stream_id))

    async def find(
        self,
        query: dict[str, Any],
        *,
        sort: str = "_id",
        descending: bool = False,
        limit: int = 100,
        skip: int = 0,
        after: str | None = None,
    ) -> list[dict[str, Any]]:
        order_by(sort, descending, self.columns)  # the same refusal of an undeclared sort field
        found = [d for d in self.docs() if matches(d, query, self.columns)]
        if after is not None:
            found = [d for d in found if after_cursor(d, after, sort, descending)]
        key = "_id" if sort in ("_id", "id") else sort
        present = sorted((d for d in found if d.get(key) is not None), key=lambda d: (d[key], d["_id"]))
        if descending:
            present.reverse()
        absent = sorted((d for d in found if d.get(key) is None), key=lambda d: d["_id"], reverse=descending)
        return (present + absent)[skip : skip + limit]  # NULLS LAST either way, as in SQL

    async def count(self, query: dict[str, Any]) -> int:
        return sum(1 for d in self.docs() if matches(d, query, self.columns))

    async def rebuild(self, store: EventStore, *, batch: int = 5000, progress: Any = None) -> int:
        for key in [k for k in self.store.views if k[0] == self.name]:
            del self.store.views[key]
        states: dict[str, tuple[Any, int]] = {}
        for c in await store.read_all(0, 10**9):
            state, _ = states.get(c.stream_id, (self.decider.initial_state(), 0))
            events = [e.payload(self.decider_registry()) for e in c.events]
            states[c.stream_id] = (self.decider.fold(events, state), c.last_version)
        for stream_id, (state, version) in states.items():
            await self.apply(stream_id, state, version)
        return sum(1 for s in states if self.streams is None or self.streams(s))

    @staticmethod
    def decider_registry() -> Any:
        from shared.events import registry

        return registry


class MemoryVault:
    """Personal data in a dict; erasure forgets it (the PostgreSQL vault deletes the key)."""

    def __init__(self, pepper: str = "unit-test-pepper") -> None:
        self.pepper = pepper
        self.people: dict[str, PersonData] = {}

    async def register(self, person: PersonData) -> str:
        ref = person_ref(person.id_number, self.pepper)
        self.people[ref] = person
        return ref

    async def get(self, ref: str) -> dict[str, str]:
        p = self.people.get(ref)
        if p is None:
            return {"name": ERASED, "id_number": ERASED, "phone": ERASED}
        return {"name": p.name, "id_number": p.id_number, "phone": p.phone or ""}

    async def erase(self, ref: str) -> bool:
        return self.people.pop(ref, None) is not None


class FixedClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: datetime = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def memory_adapters(clock: Callable[[], datetime] | None = None) -> dict[str, Any]:
    """The keyword arguments that wire a service's bootstrap to in-memory adapters."""
    store = InMemoryEventStore()
    return {"store": store, "views": MemoryViews.factory(store), "vault": MemoryVault(), "clock": clock or FixedClock()}


class RecordingProducer:
    """Stands in for aiokafka's producer: records what is sent, acknowledged at once."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes | None, list[tuple[str, bytes]]]] = []

    async def send(self, topic: str, value: bytes, key: bytes | None = None, headers: Any = None) -> asyncio.Future:
        self.sent.append((topic, value, key, list(headers or ())))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def send_and_wait(self, topic: str, value: bytes, key: bytes | None = None, headers: Any = None) -> None:
        await (await self.send(topic, value, key, headers))

    def envelopes(self, topic: str) -> list[Envelope]:
        return [Envelope.from_kafka(v, h) for t, v, _, h in self.sent if t == topic]


def recorded_spans() -> InMemorySpanExporter:
    """The spans finished from now on, through the SDK provider the services install (`setup_telemetry`)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter
