"""Notary's HTTP API, one module per resource. Scopes: `notary:write` for a clerk's commands, `notary:read` (or
write) for queries, `partner:court` for what a court sends; every POST honours `Idempotency-Key` (shared/deps.py)."""

from fastapi import APIRouter

from services.notary.routes import applications, catalogue, commissions, feedback

router = APIRouter()
for module in (catalogue, applications, feedback, commissions):
    router.include_router(module.router)
