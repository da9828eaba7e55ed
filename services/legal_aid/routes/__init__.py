"""Legal aid's HTTP API, one module per resource. Scopes (services/legal_aid/deps.py): `legal_aid:apply`,
`legal_aid:review`, `legal_aid:write`, `legal_aid:read`, and `partner:<organ>` for notices; every POST honours
`Idempotency-Key` (shared/deps.py)."""

from fastapi import APIRouter

from services.legal_aid.routes import applications, notices, providers, steps, worklist

router = APIRouter()
for module in (applications, notices, steps, worklist, providers):
    router.include_router(module.router)
