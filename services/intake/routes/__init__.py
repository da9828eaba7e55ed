"""Intake's HTTP API, one module per resource. Scopes: `intake:write` for commands, `intake:read` for queries,
`intake:admin` for erasure and the advisor registry; every POST honours `Idempotency-Key` (shared/deps.py)."""

from fastapi import APIRouter

from services.intake.routes import advisors, calls, complaints, persons, requests, web_qc

router = APIRouter()
for module in (requests, complaints, web_qc, persons, calls, advisors):
    router.include_router(module.router)
