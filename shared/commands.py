"""The one write path every department uses: load → decide → append, with retries on conflict.

`execute` folds the stream with the service's decider, asks it what happened, wraps the new events in
envelopes (correlation id kept from the case's first event, trace context from the current span) and appends
them with optimistic concurrency, together with the read-model rows of the new state (`project`) in one
transaction. A repeated idempotency key returns the earlier outcome instead of deciding again, so a retried
POST or a redelivered partner message never acts twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from shared.decider import Decider
from shared.envelope import Envelope
from shared.errors import ConcurrencyConflict, IdempotencyKeyReused
from shared.events import Command, Event, EventRegistry
from shared.events import registry as default_registry
from shared.eventstore import EventStore, Stream, ViewWrite
from shared.logs import case_context
from shared.retry import Backoff
from shared.telemetry import case_traceparent

S = TypeVar("S")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommandContext:
    """Who asked, on whose behalf, and the ids that tie this command to the rest of the case."""

    actor: str
    correlation_id: str | None = None  # default: the case's existing correlation id, else the stream id
    causation_id: str | None = None
    idempotency_key: str | None = None
    time: datetime | None = None
    creates: bool = False  # the command opens a case under a fresh id: a retry replays the case made first

    @classmethod
    def from_event(cls, env: Envelope, *, actor: str | None = None, step: str = "") -> CommandContext:
        """Context for a command caused by an incoming event: the event id makes it idempotent."""
        return cls(
            actor=actor or env.actor,
            correlation_id=env.correlationid,
            causation_id=env.id,
            idempotency_key=f"evt:{env.id}{':' + step if step else ''}",
        )


@dataclass(frozen=True)
class Outcome(Generic[S]):
    stream_id: str
    state: S
    version: int
    events: tuple[Envelope, ...]  # appended by this command (empty for a duplicate)
    duplicate: bool = False
    correlation_id: str = ""


class CommandBus(Generic[S]):
    """Executes commands for one aggregate type of one department service."""

    def __init__(
        self,
        decider: Decider[S],
        store: EventStore,
        *,
        source: str,
        registry: EventRegistry = default_registry,
        on_committed: Any = None,
        project: Callable[[str, S, int], list[ViewWrite]] | None = None,
        max_attempts: int = 50,
    ) -> None:
        self.decider = decider
        self.store = store
        self.source = source
        self.registry = registry
        self.on_committed = on_committed  # async (stream_id, state, version, envelopes) -> None, after the commit
        self.project = project  # (stream_id, state, version) -> view rows written in the command's transaction
        self.max_attempts = max_attempts

    async def load(self, stream_id: str) -> tuple[S, Stream]:
        stream = await self.store.read_stream(stream_id)
        return self.decider.fold(self.payloads(stream.events)), stream

    def payloads(self, envelopes: tuple[Envelope, ...] | list[Envelope]) -> list[Event]:
        return [e.payload(self.registry) for e in envelopes]

    async def execute(self, stream_id: str, command: Command, ctx: CommandContext) -> Outcome[S]:
        with case_context(stream_id):
            backoff = Backoff(first=0.004, ceiling=0.2, jitter=True)
            for attempt in range(1, self.max_attempts + 1):
                if ctx.idempotency_key:
                    earlier = await self.store.find_key(ctx.idempotency_key)
                    if earlier is not None:
                        _same_case(earlier.stream_id, stream_id, ctx)
                        return await self._replay_outcome(earlier.stream_id)
                state, stream = await self.load(stream_id)
                new_events = self.decider.decide(command, state)
                if not new_events:
                    if stream.version:
                        await self._heal(stream_id, state, stream.version)
                    return Outcome(stream_id, state, stream.version, (), False, _correlation(stream, ctx))
                envelopes = self._wrap(stream, new_events, ctx, type(command).__name__)
                new_state = self.decider.fold(new_events, state)
                new_version = stream.version + len(envelopes)
                views = self.project(stream_id, new_state, new_version) if self.project else []
                try:
                    result = await self.store.append(
                        stream_id, stream.version, envelopes, idempotency_key=ctx.idempotency_key, views=views
                    )
                except ConcurrencyConflict:
                    if attempt == self.max_attempts:
                        raise
                    await backoff.sleep()  # jittered, growing: de-synchronises racers so each round lets one through
                    continue
                if result.duplicate:
                    _same_case(result.stream_id, stream_id, ctx)
                    return await self._replay_outcome(result.stream_id)
                if self.on_committed is not None:
                    await self.on_committed(stream_id, new_state, result.last_version, envelopes)
                return Outcome(
                    stream_id, new_state, result.last_version, tuple(envelopes), False, envelopes[0].correlationid
                )
        raise AssertionError("unreachable")

    async def _replay_outcome(self, stream_id: str) -> Outcome[S]:
        state, stream = await self.load(stream_id)
        corr = stream.events[0].correlationid if stream.events else stream_id
        await self._heal(stream_id, state, stream.version)
        return Outcome(stream_id, state, stream.version, (), True, corr)

    async def _heal(self, stream_id: str, state: S, version: int) -> None:
        """Run `on_committed` again for a stream a retry found already written, so a hook that a process died
        before running (a wake-up, an in-memory view in unit tests) still runs once."""
        if self.on_committed is not None and version:
            await self.on_committed(stream_id, state, version, [])

    def _wrap(self, stream: Stream, events: list[Event], ctx: CommandContext, command: str) -> list[Envelope]:
        correlation = _correlation(stream, ctx)
        # a case is one trace: a command on a case joins the trace of its last event
        traceparent = case_traceparent(stream.events[-1].traceparent if stream.events else None, command)
        return [
            Envelope.wrap(
                e,
                source=self.source,
                subject=stream.stream_id,
                correlationid=correlation,
                actor=ctx.actor,
                causationid=ctx.causation_id,
                traceparent=traceparent,
                time=ctx.time,
            )
            for e in events
        ]


def _same_case(earlier: str, stream_id: str, ctx: CommandContext) -> None:
    """A key names one act on one case: used before on another case, it is refused, never answered with that case."""
    if earlier != stream_id and not ctx.creates:
        raise IdempotencyKeyReused(
            f"Idempotency-Key was already used for another case ({earlier})", field="Idempotency-Key"
        )


def _correlation(stream: Stream, ctx: CommandContext) -> str:
    if stream.events:
        return stream.events[0].correlationid
    return ctx.correlation_id or stream.stream_id
