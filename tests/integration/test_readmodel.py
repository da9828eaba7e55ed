"""Read models on the real PostgreSQL: rows commit with their events, filters run on indexed columns,
a changed column layout is rebuilt from the events."""

from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest

from shared.commands import CommandBus, CommandContext
from shared.errors import ConcurrencyConflict, ValidationFailed
from shared.eventstore import PostgresEventStore
from shared.readmodel import ReadModel
from shared.viewquery import cursor_after
from tests.unit.shared.sample import Close, Note, Open, Ticket, test_registry, ticket

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def render(stream_id: str, state: Ticket, version: int) -> dict:
    opened = T0 + timedelta(hours=int(stream_id.rsplit("-", 1)[1]))
    return {**asdict(state), "opened_at": opened, "tags": ["a", stream_id]}


COLUMNS = {"status": "text", "notes": "integer", "opened_at": "timestamptz", "tags": "text[]"}


async def view_and_bus(db, columns=COLUMNS):
    view = ReadModel(db, "tickets", ticket, render, columns=columns, registry=test_registry)
    await view.ensure()
    store = PostgresEventStore(db)
    return view, store, CommandBus(ticket, store, source="t", registry=test_registry, project=view.writes)


async def test_a_commands_view_row_commits_with_its_events_and_keeps_its_types(db):
    view, _, bus = await view_and_bus(db)
    await bus.execute("t-1", Open(title="first"), CommandContext(actor="a"))
    await bus.execute("t-1", Note(text="n"), CommandContext(actor="a"))
    doc = await view.get("t-1")
    assert doc is not None
    assert doc["_id"] == "t-1" and doc["notes"] == 1 and doc["status"] == "open"
    assert doc["opened_at"] == T0 + timedelta(hours=1)  # a datetime again, not a string


async def test_a_refused_append_leaves_the_view_as_it_was(db):
    view, store, bus = await view_and_bus(db)
    await bus.execute("t-2", Open(title="t"), CommandContext(actor="a"))
    stale = view.writes("t-2", Ticket(status="closed", title="t", notes=9), 2)
    _, stream = await bus.load("t-2")
    with pytest.raises(ConcurrencyConflict):
        await store.append("t-2", 0, stream.events, views=stale)  # version 0 is long gone
    doc = await view.get("t-2")
    assert doc is not None and doc["status"] == "open" and doc["notes"] == 0


async def test_filters_sort_and_page_on_the_columns(db):
    view, _, bus = await view_and_bus(db)
    for i in range(1, 7):
        await bus.execute(f"t-{i}", Open(title=str(i)), CommandContext(actor="a"))
        for _ in range(i):
            await bus.execute(f"t-{i}", Note(text="n"), CommandContext(actor="a"))
    await bus.execute("t-6", Close(), CommandContext(actor="a"))
    ids = [d["_id"] for d in await view.find({"status": "open", "notes": {"$gte": 3}}, sort="notes", descending=True)]
    assert ids == ["t-5", "t-4", "t-3"]
    assert [d["_id"] for d in await view.find({"tags": "t-2"})] == ["t-2"]  # array column: contains
    assert [d["_id"] for d in await view.find({"$or": [{"status": "closed"}, {"notes": 1}]})] == ["t-1", "t-6"]
    later = {"opened_at": {"$gt": T0 + timedelta(hours=4)}}
    assert [d["_id"] for d in await view.find(later, sort="opened_at")] == ["t-5", "t-6"]
    page = await view.find({}, sort="opened_at", limit=2, skip=2)
    assert [d["_id"] for d in page] == ["t-3", "t-4"]
    assert await view.count({"status": {"$ne": "closed"}}) == 5
    with pytest.raises(ValueError, match="not a column"):
        await view.find({"title": "1"})


async def test_a_changed_column_layout_is_rebuilt_from_the_events(db):
    view, store, bus = await view_and_bus(db)
    for i in range(1, 4):
        await bus.execute(f"t-{i}", Open(title=str(i)), CommandContext(actor="a"))
    assert not await view.ensure()  # same layout: kept
    wider = ReadModel(db, "tickets", ticket, render, columns={**COLUMNS, "title": "text"}, registry=test_registry)
    assert await wider.ensure()  # new layout: empty, to be replayed
    assert await wider.count({}) == 0
    assert await wider.rebuild(store) == 3
    assert [d["_id"] for d in await wider.find({"title": "2"})] == ["t-2"]


@pytest.mark.parametrize("descending", [False, True])
async def test_pages_followed_by_cursor_cover_every_row_once_in_order_as_in_memory(db, descending):
    """Keyset pagination over a column with ties and NULLs gives the same pages in PostgreSQL and in memory."""
    from shared.eventstore import InMemoryEventStore
    from tests.fakes import MemoryViews

    memory_store = InMemoryEventStore()
    memory = MemoryViews(memory_store, "tickets", ticket, render, COLUMNS)
    view, _, bus = await view_and_bus(db)
    memory_bus = CommandBus(ticket, memory_store, source="t", registry=test_registry, project=memory.writes)
    for i in range(1, 12):
        for b in (bus, memory_bus):
            await b.execute(f"t-{i}", Open(title=str(i)), CommandContext(actor="a"))
            for _ in range(i % 3):  # notes 0, 1, 2 repeat: ties on the sort column
                await b.execute(f"t-{i}", Note(text="n"), CommandContext(actor="a"))

    async def pages(v) -> list[list[str]]:
        out, after = [], None
        while True:
            page = await v.find({}, sort="notes", descending=descending, limit=4, after=after)
            if not page:
                return out
            out.append([d["_id"] for d in page])
            after = cursor_after(page[-1], "notes")

    in_postgres = await pages(view)
    assert in_postgres == await pages(memory)
    flat = [i for p in in_postgres for i in p]
    assert sorted(flat) == sorted(f"t-{i}" for i in range(1, 12)) and len(flat) == 11
    everything = [d["_id"] for d in await view.find({}, sort="notes", descending=descending, limit=100)]
    assert flat == everything
    with pytest.raises(ValidationFailed, match="not a cursor"):
        await view.find({}, sort="notes", after="garbage!")
