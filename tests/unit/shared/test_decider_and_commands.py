import asyncio

import pytest

from shared.commands import CommandBus, CommandContext
from shared.decider import decide_by_type
from shared.errors import InvalidTransition
from shared.eventstore import InMemoryEventStore
from tests.unit.shared.sample import (
    Close,
    Note,
    Open,
    Ticket,
    TicketClosed,
    TicketNoted,
    TicketOpened,
    test_registry,
    ticket,
)


def test_a_ticket_story():
    state, events = ticket.run([Open(title="t"), Note(text="n"), Close()])
    assert state == Ticket(status="closed", title="t", notes=1)
    assert events == [TicketOpened(title="t"), TicketNoted(text="n", author="me"), TicketClosed()]


def test_invalid_transition_names_state_and_command():
    state, _ = ticket.run([Open(title="t"), Close()])
    with pytest.raises(InvalidTransition) as err:
        ticket.decide(Note(text="late"), state)
    assert err.value.state == "closed" and "note" in err.value.message


def test_decide_by_type_runs_the_rule_for_the_command_and_refuses_the_others():
    decide = decide_by_type(
        {Open: lambda c, s: [TicketOpened(title=c.title)]},
        lambda c, s: InvalidTransition(type(c).__name__, s.status, "no rule"),
    )
    assert decide(Open(title="t"), Ticket()) == [TicketOpened(title="t")]
    with pytest.raises(InvalidTransition) as err:
        decide(Close(), Ticket(status="open"))
    assert err.value.state == "open" and "no rule" in err.value.message


def bus(store=None) -> CommandBus:
    return CommandBus(ticket, store or InMemoryEventStore(), source="caseflow/test", registry=test_registry)


async def test_execute_appends_with_correlation_and_actor():
    b = bus()
    out = await b.execute("t-1", Open(title="x"), CommandContext(actor="dept:intake", correlation_id="corr-9"))
    out2 = await b.execute("t-1", Note(text="n"), CommandContext(actor="dept:legal_aid"))
    assert out.version == 1 and out2.version == 2
    assert [e.correlationid for e in out.events + out2.events] == ["corr-9", "corr-9"]
    assert out2.events[0].actor == "dept:legal_aid"


async def test_same_idempotency_key_never_acts_twice():
    store = InMemoryEventStore()
    b = bus(store)
    await b.execute("t-1", Open(title="x"), CommandContext(actor="a"))
    first = await b.execute("t-1", Note(text="n"), CommandContext(actor="a", idempotency_key="k-1"))
    again = await b.execute("t-1", Note(text="n"), CommandContext(actor="a", idempotency_key="k-1"))
    assert not first.duplicate and again.duplicate
    assert again.state.notes == 1
    assert len(store.all_events()) == 2


async def test_a_retry_repairs_the_view_a_crash_left_behind_after_the_commit():
    """Died between commit and view update (or cancelled there by a rebalance): the redelivered command with the same
    key appends nothing, but runs the view update again, so the view catches up instead of staying behind."""
    views: list[tuple[str, int]] = []
    crash = True

    async def committed(stream_id, state, version, _envelopes):  # type: ignore[no-untyped-def]
        nonlocal crash
        if crash:
            crash = False
            raise asyncio.CancelledError  # the process stops right after its commit
        views.append((stream_id, version))

    store = InMemoryEventStore()
    b = CommandBus(ticket, store, source="caseflow/test", registry=test_registry, on_committed=committed)
    with pytest.raises(asyncio.CancelledError):
        await b.execute("t-1", Open(title="x"), CommandContext(actor="a", idempotency_key="evt:1"))
    assert views == [] and len(store.all_events()) == 1  # stored, view behind
    again = await b.execute("t-1", Open(title="x"), CommandContext(actor="a", idempotency_key="evt:1"))
    assert again.duplicate and views == [("t-1", 1)] and len(store.all_events()) == 1


async def test_concurrent_commands_all_land_in_order():
    store = InMemoryEventStore()
    b = bus(store)
    await b.execute("t-1", Open(title="x"), CommandContext(actor="a"))
    await asyncio.gather(*(b.execute("t-1", Note(text=str(i)), CommandContext(actor="a")) for i in range(20)))
    state, stream = await b.load("t-1")
    assert state.notes == 20 and stream.version == 21
