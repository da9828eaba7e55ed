"""The decider pattern that every domain module implements, free of infrastructure.

`decide(command, state) -> list[Event]` checks business rules and says what happened; `evolve(state, event)
-> state` applies one event. Both are pure: time comes in on the command, never from a clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from shared.events import Command, Event

S = TypeVar("S")
C = TypeVar("C", bound=Command)


@dataclass(frozen=True)
class Decider(Generic[S]):
    """A department aggregate: its initial state and its two pure functions."""

    name: str
    initial_state: Callable[[], S]
    decide: Callable[[Command, S], list[Event]]
    evolve: Callable[[S, Event], S]

    def fold(self, events: Iterable[Event], state: S | None = None) -> S:
        current = self.initial_state() if state is None else state
        for event in events:
            current = self.evolve(current, event)
        return current

    def run(self, commands: Iterable[Command], state: S | None = None) -> tuple[S, list[Event]]:
        """Decide and evolve a sequence of commands: handy for tests that read as stories."""
        current = self.initial_state() if state is None else state
        recorded: list[Event] = []
        for command in commands:
            new = self.decide(command, current)
            recorded.extend(new)
            current = self.fold(new, current)
        return current, recorded
