"""The event store on the real PostgreSQL: concurrency, atomic commits, keys, global order, the outbox claim."""

import asyncio

import pytest

from shared.commands import CommandBus, CommandContext
from shared.db import Database
from shared.envelope import Envelope
from shared.errors import ConcurrencyConflict
from shared.eventstore import PostgresEventStore
from tests.unit.shared.sample import Note, Open, TicketNoted, TicketOpened, test_registry, ticket

pytestmark = pytest.mark.integration


def env(stream: str, payload) -> Envelope:
    return Envelope.wrap(payload, source="caseflow/test", subject=stream, correlationid=stream, actor="dept:test")


def store_for(db: Database) -> PostgresEventStore:
    return PostgresEventStore(db)


async def test_twenty_concurrent_writers_exactly_one_wins_each_version(db):
    store = store_for(db)
    await store.append("s-1", 0, [env("s-1", TicketOpened(title="t"))])

    async def writer(i: int) -> str:
        stream = await store.read_stream("s-1")
        try:
            await store.append("s-1", stream.version, [env("s-1", TicketNoted(text=str(i), author="w"))])
            return "won"
        except ConcurrencyConflict:
            return "lost"

    results = await asyncio.gather(*(writer(i) for i in range(20)))
    stream = await store.read_stream("s-1")
    assert results.count("won") == stream.version - 1 >= 1
    assert results.count("won") + results.count("lost") == 20
    # every stored version is unique and contiguous
    commits = await store.read_all(0, 100)
    versions = sorted(v for c in commits for v in range(c.first_version, c.last_version + 1))
    assert versions == list(range(1, stream.version + 1))


async def test_twenty_concurrent_commands_with_retry_all_land_without_gaps(db):
    store = store_for(db)
    bus = CommandBus(ticket, store, source="caseflow/test", registry=test_registry)
    await bus.execute("s-2", Open(title="t"), CommandContext(actor="a"))
    await asyncio.gather(*(bus.execute("s-2", Note(text=str(i)), CommandContext(actor="a")) for i in range(20)))
    state, stream = await bus.load("s-2")
    assert state.notes == 20
    assert stream.version == 21
    texts = sorted(e.data["text"] for e in stream.events[1:])
    assert texts == sorted(str(i) for i in range(20))  # no duplicates, none lost


async def test_one_command_many_events_is_one_atomic_commit(db):
    store = store_for(db)
    events = [env("s-3", TicketOpened(title="t"))] + [env("s-3", TicketNoted(text="n", author="a")) for _ in range(3)]
    result = await store.append("s-3", 0, events)
    assert (result.first_version, result.last_version) == (1, 4)
    async with store.claim_unpublished() as outbox:
        assert [(c.stream_id, c.first_version, c.last_version) for c in outbox] == [("s-3", 1, 4)]
    stream = await store.read_stream("s-3")
    assert list(stream.events) == events  # exact round trip through JSONB


async def test_idempotency_key_returns_the_first_commit(db):
    store = store_for(db)
    first = await store.append("s-4", 0, [env("s-4", TicketOpened(title="t"))], idempotency_key="req-1")
    again = await store.append("s-4", 0, [env("s-4", TicketOpened(title="t"))], idempotency_key="req-1")
    assert again.duplicate and again.position == first.position
    assert (await store.read_stream("s-4")).version == 1


async def test_read_all_is_in_global_position_order(db):
    store = store_for(db)
    for i in range(5):
        await store.append(f"o-{i}", 0, [env(f"o-{i}", TicketOpened(title=str(i)))])
    commits = await store.read_all(0, 100)
    positions = [c.position for c in commits]
    assert positions == sorted(positions) and len(positions) == 5
    tail = await store.read_all(positions[1], 100)
    assert [c.stream_id for c in tail] == ["o-2", "o-3", "o-4"]


async def test_a_key_reused_on_another_stream_returns_the_first_outcome_and_appends_nothing(db):
    store = store_for(db)
    first = await store.append("s-5", 0, [env("s-5", TicketOpened(title="t"))], idempotency_key="req-5")
    again = await store.append("s-6", 0, [env("s-6", TicketOpened(title="t"))], idempotency_key="req-5")
    assert again.duplicate and again.stream_id == "s-5" and again.position == first.position
    assert (await store.read_stream("s-6")).version == 0
    assert await store.count_unpublished() == 1


async def test_a_conflicting_append_writes_nothing_not_even_its_view_rows_or_its_key(db):
    store = store_for(db)
    await store.append("s-7", 0, [env("s-7", TicketOpened(title="t"))])
    with pytest.raises(ConcurrencyConflict):
        await store.append("s-7", 0, [env("s-7", TicketOpened(title="again"))], idempotency_key="req-7")
    with pytest.raises(ConcurrencyConflict):  # a version ahead of the stream would leave a gap
        await store.append("s-7", 3, [env("s-7", TicketNoted(text="n", author="a"))])
    assert await store.find_key("req-7") is None
    assert (await store.read_stream("s-7")).version == 1
    assert await store.count_unpublished() == 1


async def test_concurrent_first_uses_of_one_key_append_once(db):
    store = store_for(db)

    async def attempt(i: int):
        return await store.append(f"k-{i}", 0, [env(f"k-{i}", TicketOpened(title=str(i)))], idempotency_key="same")

    results = await asyncio.gather(*(attempt(i) for i in range(10)))
    assert sum(not r.duplicate for r in results) == 1
    winner = next(r for r in results if not r.duplicate)
    assert {r.stream_id for r in results} == {winner.stream_id}
    assert await store.count_unpublished() == 1


async def test_two_claims_at_once_never_hand_out_a_streams_later_commit_before_its_earlier_one(db):
    """Relay A holds a batch; relay B claiming meanwhile skips A's rows and every later row of the same streams."""
    store = store_for(db)
    await store.append("a", 0, [env("a", TicketOpened(title="a"))])
    await store.append("b", 0, [env("b", TicketOpened(title="b"))])
    async with store.claim_unpublished(limit=1) as held:  # relay A takes a:1 and has not published it yet
        assert [c.stream_id for c in held] == ["a"]
        await store.append("a", 1, [env("a", TicketNoted(text="2", author="x"))])
        await store.append("c", 0, [env("c", TicketOpened(title="c"))])
        async with store.claim_unpublished() as other:  # relay B
            assert [(c.stream_id, c.first_version) for c in other] == [("b", 1), ("c", 1)]
    async with store.claim_unpublished() as rest:
        assert [(c.stream_id, c.first_version) for c in rest] == [("a", 2)]
    assert await store.count_unpublished() == 0


async def test_a_batch_whose_publishing_failed_stays_in_the_outbox(db):
    store = store_for(db)
    await store.append("f", 0, [env("f", TicketOpened(title="f"))])
    with pytest.raises(RuntimeError):
        async with store.claim_unpublished() as batch:
            assert len(batch) == 1
            raise RuntimeError("the broker did not acknowledge")
    assert await store.count_unpublished() == 1


async def test_a_commit_wakes_a_listener(db):
    store = store_for(db)
    woken = asyncio.Event()

    async def listen() -> None:
        async for _ in store.wakeups():
            woken.set()
            return

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0.3)  # LISTEN registered
    await store.append("w", 0, [env("w", TicketOpened(title="w"))])
    await asyncio.wait_for(woken.wait(), timeout=5)
    await listener
