"""Partner referrals over HTTP (警调 / 诉调 / 检调 / 访调对接): the same as `DisputeReferred` on the organ's inbound
topic."""

from __future__ import annotations

from fastapi import APIRouter

from services.mediation import handlers
from services.mediation.deps import MediationDep, Partner
from services.mediation.schemas import AckOut, ReferralIn

router = APIRouter(tags=["mediation"])


@router.post("/referrals", status_code=201, response_model=AckOut)
async def refer(body: ReferralIn, call: Partner, m: MediationDep) -> AckOut:
    """A partner organ's referral over HTTP; answered with the same acknowledgement its outbound topic gets."""
    return await handlers.refer(m, body, call)
