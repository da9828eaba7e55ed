"""The citizens' own data, which only this service holds: read it (owner view) or erase it (PIPL)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from services.intake.deps import Admin, IntakeDep, Reader
from services.intake.handlers import stored
from services.intake.routes.requests import RequestId
from services.intake.schemas import PersonView
from shared.errors import NotFound

router = APIRouter(tags=["intake"])
PersonRefPath = Annotated[str, Path(pattern=r"^p-[0-9a-f]{16,64}$")]


@router.get("/requests/{request_id}/person", response_model=PersonView, summary="The citizen's data (owner view)")
async def get_person(request_id: RequestId, _: Reader, svc: IntakeDep) -> PersonView:
    doc = await stored(svc, request_id, "request", "request_id")
    ref = doc.get("person_ref")
    if not isinstance(ref, str) or not ref:
        raise NotFound("the request names no person", field="person_ref")
    return PersonView(person_ref=ref, **await svc.vault.get(ref))


@router.delete("/persons/{person_ref}", status_code=204, summary="Erase a person (PIPL deletion; crypto-shredding)")
async def erase(person_ref: PersonRefPath, _: Admin, svc: IntakeDep) -> Response:
    if not await svc.vault.erase(person_ref):
        raise NotFound(f"no person {person_ref} (or already erased)", field="person_ref")
    return Response(status_code=204)
