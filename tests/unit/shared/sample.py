"""A tiny aggregate used by the shared library's tests: a ticket that is opened, noted and closed."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from shared.decider import Decider
from shared.errors import InvalidTransition
from shared.events import Command, Event, EventRegistry

test_registry = EventRegistry()


@test_registry.register
class TicketOpened(Event):
    event_type = "test.ticket.opened"
    title: str


@test_registry.register
class TicketNoted(Event):
    event_type = "test.ticket.noted"
    version = 2
    text: str
    author: str  # added in v2; v1 events get "unknown"


@test_registry.upcaster("test.ticket.noted", 1)
def _noted_v1_to_v2(data: dict) -> dict:
    return {**data, "author": "unknown"}


@test_registry.register
class TicketClosed(Event):
    event_type = "test.ticket.closed"


class Open(Command):
    title: str


class Note(Command):
    text: str
    author: str = "me"


class Close(Command):
    at: datetime | None = None


@dataclass(frozen=True)
class Ticket:
    status: str = "none"
    title: str = ""
    notes: int = 0


def decide(cmd: Command, s: Ticket) -> list[Event]:
    match cmd:
        case Open(title=title):
            if s.status != "none":
                raise InvalidTransition("open", s.status)
            return [TicketOpened(title=title)]
        case Note(text=text, author=author):
            if s.status != "open":
                raise InvalidTransition("note", s.status)
            return [TicketNoted(text=text, author=author)]
        case Close():
            if s.status != "open":
                raise InvalidTransition("close", s.status)
            return [TicketClosed()]
    raise TypeError(cmd)


def evolve(s: Ticket, e: Event) -> Ticket:
    match e:
        case TicketOpened(title=title):
            return replace(s, status="open", title=title)
        case TicketNoted():
            return replace(s, notes=s.notes + 1)
        case TicketClosed():
            return replace(s, status="closed")
    return s


ticket = Decider("ticket", Ticket, decide, evolve)
