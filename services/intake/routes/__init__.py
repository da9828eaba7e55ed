"""Intake's HTTP API, one module per resource. Scopes: `intake:write` for commands, `intake:read` for queries,
`intake:admin` for erasure and the advisor registry; every POST honours `Idempotency-Key` (shared/deps.py)."""

from fastapi import APIRouter

from services.intake.routes import advisors, calls, persons, requests

router = APIRouter()
for module in (requests, persons, calls, advisors):
    router.include_router(module.router)
