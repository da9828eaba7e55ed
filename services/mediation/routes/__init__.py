"""Mediation's HTTP API, one module per resource. Scopes: `mediation:write` for commands, `mediation:read` for
queries, `mediation:admin` for the committee registry, `partner:<organ>` for referrals and the court's rulings;
every POST honours `Idempotency-Key` (shared/deps.py)."""

from fastapi import APIRouter

from services.mediation.routes import committees, disputes, referrals, worklists

router = APIRouter()
for module in (disputes, referrals, worklists, committees):
    router.include_router(module.router)
