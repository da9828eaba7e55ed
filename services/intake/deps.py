"""Intake's route dependencies: the wired service and who may call (`intake:read|write|admin`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.intake.bootstrap import Intake
from shared.deps import Call, caller


def intake(request: Request) -> Intake:
    service: Intake = request.app.state.intake
    return service


IntakeDep = Annotated[Intake, Depends(intake)]
Reader = Annotated[Call, caller("intake:read")]
Writer = Annotated[Call, caller("intake:write")]
Admin = Annotated[Call, caller("intake:admin")]
