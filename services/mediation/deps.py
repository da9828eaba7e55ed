"""Mediation's route dependencies: the wired service and who may call (`mediation:read|write|admin`; the partner
organs for their referrals, the court for its rulings)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import Depends, Request

from services.mediation.bootstrap import Mediation
from shared.contracts.common import REFERRING_ORGANS
from shared.deps import Call, caller


def mediation(request: Request) -> Mediation:
    service: Mediation = request.app.state.mediation
    return service


def organ(*scopes: str) -> Any:
    """`caller`, with the key also bound to the calling organ, so two organs that pick the same key never meet
    (nor hear of each other's dispute). To move into shared/deps.py's `scoped_key`, which binds it to the route."""
    call_of = caller(*scopes)

    async def dependency(call: Call = call_of) -> Call:  # a default, as in shared.deps: the annotation is a string
        return call if call.key is None else replace(call, key=f"{call.key}@{call.principal.subject}")

    return Depends(dependency)


MediationDep = Annotated[Mediation, Depends(mediation)]
Reader = Annotated[Call, caller("mediation:read")]
Writer = Annotated[Call, caller("mediation:write")]
Admin = Annotated[Call, caller("mediation:admin")]
Court = Annotated[Call, caller("partner:court")]
Partner = Annotated[Call, organ(*(f"partner:{p.value}" for p in sorted(REFERRING_ORGANS)))]
