"""The event store on a real MongoDB-wire server (FerretDB): concurrency, atomic commits, global order."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from shared.commands import CommandBus, CommandContext
from shared.envelope import Envelope
from shared.errors import ConcurrencyConflict
from shared.eventstore import MongoEventStore
from tests.unit.shared.sample import Note, Open, TicketNoted, TicketOpened, test_registry, ticket

pytestmark = pytest.mark.integration


def env(stream: str, payload) -> Envelope:
    return Envelope.wrap(payload, source="caseflow/test", subject=stream, correlationid=stream, actor="dept:test")


async def store_for(db) -> MongoEventStore:
    store = MongoEventStore(db)
    await store.ensure_indexes()
    return store


async def test_twenty_concurrent_writers_exactly_one_wins_each_version(mongo_db):
    store = await store_for(mongo_db)
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


async def test_twenty_concurrent_commands_with_retry_all_land_without_gaps(mongo_db):
    store = await store_for(mongo_db)
    bus = CommandBus(ticket, store, source="caseflow/test", registry=test_registry)
    await bus.execute("s-2", Open(title="t"), CommandContext(actor="a"))
    await asyncio.gather(*(bus.execute("s-2", Note(text=str(i)), CommandContext(actor="a")) for i in range(20)))
    state, stream = await bus.load("s-2")
    assert state.notes == 20
    assert stream.version == 21
    texts = sorted(e.data["text"] for e in stream.events[1:])
    assert texts == sorted(str(i) for i in range(20))  # no duplicates, none lost


async def test_one_command_many_events_is_one_atomic_commit(mongo_db):
    store = await store_for(mongo_db)
    events = [env("s-3", TicketOpened(title="t"))] + [env("s-3", TicketNoted(text="n", author="a")) for _ in range(3)]
    result = await store.append("s-3", 0, events)
    assert (result.first_version, result.last_version) == (1, 4)
    assert await mongo_db["commits"].count_documents({"stream_id": "s-3"}) == 1
    stream = await store.read_stream("s-3")
    assert list(stream.events) == events  # exact round trip through BSON


async def test_idempotency_key_returns_the_first_commit(mongo_db):
    store = await store_for(mongo_db)
    first = await store.append("s-4", 0, [env("s-4", TicketOpened(title="t"))], idempotency_key="req-1")
    again = await store.append("s-4", 0, [env("s-4", TicketOpened(title="t"))], idempotency_key="req-1")
    assert again.duplicate and again.position == first.position
    assert (await store.read_stream("s-4")).version == 1


async def test_read_all_is_in_global_position_order(mongo_db):
    store = await store_for(mongo_db)
    for i in range(5):
        await store.append(f"o-{i}", 0, [env(f"o-{i}", TicketOpened(title=str(i)))])
    commits = await store.read_all(0, 100)
    positions = [c.position for c in commits]
    assert positions == sorted(positions) and len(positions) == 5
    tail = await store.read_all(positions[1], 100)
    assert [c.stream_id for c in tail] == ["o-2", "o-3", "o-4"]


async def test_an_unfinished_idempotency_claim_is_taken_over_only_after_the_claim_timeout(mongo_db):
    """A writer that claimed a key but has not committed yet may only be slow: a retry with the same key is told to
    wait (409) rather than commit beside it; once the claim is older than the timeout its writer is presumed dead
    and the retry takes the key over — and then a repeat of the key returns that commit, not a third."""
    store = await store_for(mongo_db)
    claims = mongo_db["commits_idempotency"]
    started = datetime.now(UTC) - timedelta(seconds=30)  # 30 s: past the outbox settle, inside the claim timeout
    await claims.insert_one({"_id": "k-1", "stream_id": "s-9", "commit_id": "s-9:1", "token": "t-old", "at": started})
    with pytest.raises(ConcurrencyConflict, match="still in progress"):
        await store.append("s-10", 0, [env("s-10", TicketOpened(title="retry"))], idempotency_key="k-1")
    assert (await store.read_stream("s-10")).version == 0  # nothing was committed beside the slow writer

    dead = datetime.now(UTC) - store.claim_timeout - timedelta(seconds=1)
    await claims.update_one({"_id": "k-1"}, {"$set": {"at": dead}})
    first = await store.append("s-10", 0, [env("s-10", TicketOpened(title="retry"))], idempotency_key="k-1")
    again = await store.append("s-11", 0, [env("s-11", TicketOpened(title="again"))], idempotency_key="k-1")
    assert not first.duplicate and again.duplicate and again.stream_id == "s-10"
    assert (await store.read_stream("s-11")).version == 0


async def test_a_write_retried_after_its_reply_was_lost_lands_once_and_keeps_its_key(mongo_db):
    """PyMongo retries a write whose reply was lost (FerretDB restarting mid-write, found by the fault suite); the
    retry meets the first insert. That duplicate is this attempt's own commit, not a rival's: the append succeeds,
    keeps its idempotency key and its outbox entry, and a client retry under the key gets this commit back."""
    store = await store_for(mongo_db)
    collections = (store._keys, store._outbox, store._commits, store._confirmed)
    originals = [c.insert_one for c in collections]

    def replayed(insert):  # type: ignore[no-untyped-def]
        async def insert_one(doc, *args, **kwargs):  # type: ignore[no-untyped-def]
            await insert(doc, *args, **kwargs)  # the server wrote it; the reply never came back
            return await insert(doc, *args, **kwargs)  # PyMongo's retry: DuplicateKeyError

        return insert_one

    for c, insert in zip(collections, originals, strict=True):
        c.insert_one = replayed(insert)
    try:
        result = await store.append("s-9", 0, [env("s-9", TicketOpened(title="t"))], idempotency_key="req-9")
    finally:
        for c, insert in zip(collections, originals, strict=True):
            c.insert_one = insert
    assert not result.duplicate and (result.stream_id, result.first_version) == ("s-9", 1)
    assert [c.stream_id for c in await store.unpublished()] == ["s-9"]
    again = await store.append("s-10", 0, [env("s-10", TicketOpened(title="t"))], idempotency_key="req-9")
    assert again.duplicate and again.stream_id == "s-9"
    assert (await store.read_stream("s-10")).version == 0
