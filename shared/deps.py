"""The dependencies every department route takes: who calls, when, and with which idempotency key.

`caller("scope", …)` gives a `Call`: the verified principal, the time the command counts at (from the clock
the app was built with) and the client's `Idempotency-Key` scoped to the route
(`http:POST /cases/{case_id}/close:<key>`); a replayed outcome is marked `Idempotent-Replay: true` on the
response (`call.answered`). One policy for every department: the same key on another route is another key; on
the same route it replays the first outcome for the same case, and is refused (409) for another case
(`CommandBus`). Routes that create a case with a fresh id say so (`call.context(creates=True)`): their retries
replay the case created first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request, Response

from shared import clock
from shared.api import IdempotencyKey
from shared.auth import Principal, require
from shared.commands import CommandContext, Outcome
from shared.viewquery import cursor_after

Clock = Callable[[], datetime]
S = TypeVar("S")


def utcnow() -> datetime:
    """Platform time (the scenario clock: real time unless `CASEFLOW_CLOCK_RATE` speeds it up)."""
    return clock.now()


def clock_of(request: Request) -> Clock:
    """The app's clock (`app.state.clock`, set by the service's bootstrap; tests pass a fixed one)."""
    clock: Clock = getattr(request.app.state, "clock", utcnow)
    return clock


ClockDep = Annotated[Clock, Depends(clock_of)]


@dataclass(frozen=True)
class Call:
    """One HTTP command: who asked, the time it counts at and its route-scoped idempotency key."""

    principal: Principal
    now: datetime
    key: str | None = None
    response: Response | None = None

    @property
    def actor(self) -> str:
        return self.principal.actor

    def context(self, *, creates: bool = False, correlation_id: str | None = None) -> CommandContext:
        return CommandContext(
            actor=self.principal.actor,
            idempotency_key=self.key,
            time=self.now,
            creates=creates,
            correlation_id=correlation_id,
        )

    def answered(self, outcome: Outcome[S]) -> Outcome[S]:
        """The outcome, with the response marked as a replay when the key had been used before."""
        if outcome.duplicate and self.response is not None:
            self.response.headers["Idempotent-Replay"] = "true"
        return outcome


#: a list's `after=` query parameter: the cursor the previous page answered with (keyset pagination)
Cursor = Annotated[
    str | None, Query(max_length=512, pattern=r"^[A-Za-z0-9_-]+$", description="`next` of the last page")
]


def next_page(docs: list[dict[str, Any]], limit: int, sort: str) -> str | None:
    """The cursor of the page after this one, or None when this page was the last."""
    return cursor_after(docs[-1], sort) if len(docs) == limit else None


def scoped_key(request: Request, key: str | None) -> str | None:
    """The client's key bound to the route template, so one key names one kind of act."""
    if key is None:
        return None
    route: Any = request.scope.get("route")
    template = getattr(route, "path", None) or request.url.path
    return f"http:{request.method} {template}:{key}"


def caller(*scopes: str) -> Any:
    """FastAPI dependency giving a `Call` for a bearer token holding at least one of `scopes`."""
    principal_dep = require(*scopes)

    async def dependency(
        request: Request,
        response: Response,
        principal: Principal = principal_dep,  # a default, not Annotated: the annotation is read from module scope
        idempotency_key: IdempotencyKey = None,
    ) -> Call:
        return Call(principal, clock_of(request)(), scoped_key(request, idempotency_key), response)

    return Depends(dependency)
