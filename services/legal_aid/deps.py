"""Legal aid's route dependencies: the wired service and who may call.

`legal_aid:apply` opens an application and contests a refusal, `legal_aid:review` decides eligibility,
`legal_aid:write` assigns, closes, reviews quality, pays the subsidy and grants notary fee waivers; any of the
three reads. Partners (`partner:court|police|procuratorate`) send notices in their own name.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.legal_aid.bootstrap import LegalAid
from shared.deps import Call, caller


def legal_aid(request: Request) -> LegalAid:
    service: LegalAid = request.app.state.legal_aid
    return service


LegalAidDep = Annotated[LegalAid, Depends(legal_aid)]
Reader = Annotated[Call, caller("legal_aid:read", "legal_aid:review", "legal_aid:write")]
Applicant = Annotated[Call, caller("legal_aid:apply")]
Reviewer = Annotated[Call, caller("legal_aid:review")]
Writer = Annotated[Call, caller("legal_aid:write")]
Partner = Annotated[Call, caller("partner:court", "partner:police", "partner:procuratorate")]
