"""Notary's route dependencies: the wired service and who may call (`notary:read|write`, the court's
`partner:court`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.notary.bootstrap import Notary
from shared.deps import Call, caller


def notary(request: Request) -> Notary:
    service: Notary = request.app.state.notary
    return service


NotaryDep = Annotated[Notary, Depends(notary)]
Reader = Annotated[Call, caller("notary:read", "notary:write")]
Writer = Annotated[Call, caller("notary:write")]
Court = Annotated[Call, caller("partner:court")]
ReaderOrCourt = Annotated[Call, caller("notary:read", "notary:write", "partner:court")]
