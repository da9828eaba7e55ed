"""The decider pattern that every domain module implements, free of infrastructure.

`decide(command, state) -> list[Event]` checks business rules and says what happened; `evolve(state, event)
-> state` applies one event. Both are pure: time comes in on the command, never from a clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

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


#: One pure rule per command type: `rule(command, state) -> events`.
Rules = Mapping[type[Command], Callable[[Any, S], list[Event]]]


def decide_by_type(rules: Rules[S], unknown: Callable[[Command, S], Exception]) -> Callable[[Command, S], list[Event]]:
    """A `decide` that looks up the rule for the command's type in `rules` (one pure function per command, as in a
    handler table); a command with no rule is refused with the error `unknown` makes."""

    def decide(command: Command, state: S) -> list[Event]:
        rule = rules.get(type(command))
        if rule is None:
            raise unknown(command, state)
        return rule(command, state)

    return decide
