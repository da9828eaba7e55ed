"""Intake use cases beyond a single command: rebuilding the read model from the event store."""

from __future__ import annotations

import logging

from pymongo.errors import OperationFailure

from services.intake.domain import IntakeState
from shared.eventstore import EventStore
from shared.readmodel import ReadModel

log = logging.getLogger(__name__)


async def rebuild_read_model(cases: ReadModel[IntakeState], store: EventStore, attempts: int = 3) -> int:
    """Drop and replay the intake read model; returns the number of streams rebuilt.

    FerretDB 1.24 (SQLite backend) now and then reports "index … already exists" when indexes are created right
    after the collection was dropped (`ReadModel.rebuild` does exactly that); a second drop-and-replay succeeds,
    and the replay is idempotent, so retry it.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await cases.rebuild(store)
        except OperationFailure as exc:
            if "already exists" not in str(exc) or attempt == attempts:
                raise
            log.warning("read model rebuild hit a stale index after drop (attempt %d), retrying", attempt)
    raise AssertionError("unreachable")
