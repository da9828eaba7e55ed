"""Fees (收费) and the waivers legal aid grants its recipients (flow 7; 法律援助法 art. 53: 公证机构应当对受援人减收或者
免收公证费): the fee charged at assessment, exact to the fen.

An aid-linked application whose waiver has not arrived yet is refused assessment until it arrives, unless the
clerk explicitly proceeds without it (then the standard fee is charged). The assessment records whether legal aid
vouched for the applicant's aid claim, so a failed claim is never counted as aid-linked.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.common import FEN, CaseId, PersonRef, Share
from shared.contracts.notary import FeeAssessed
from shared.errors import DomainError, InvalidTransition, ValidationFailed
from shared.events import Command, Event

if TYPE_CHECKING:
    from services.notary.domain.applications import Application


class WaiverGrant(BaseModel):
    """A fee waiver from legal aid as the waiver registry holds it (flow 7)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    aid_case_id: CaseId
    person_ref: PersonRef
    notary_matter: str
    waiver: Annotated[Share, Field(gt=0)]


#: The law that reduces or waives an aid recipient's notary fee (not art. 32, which is about eligibility).
FEE_WAIVER_BASIS = "法律援助法 art. 53: 公证机构应当对受援人减收或者免收公证费"


class AssessFee(Command):
    """`waiver` is what the waiver registry holds for this applicant and matter at assessment time (or None).

    `claimed_aid_case_id`: the aid case the applicant presents (defaults to the linked one); a claim with no
    matching waiver is refused unless `proceed_without_waiver` (then the full fee is charged).
    `claim_vouched`: legal aid granted this applicant a waiver (for any matter) on the claimed aid case, so the
    case exists, aid was granted and the applicant is its recipient.
    """

    waiver: WaiverGrant | None = None
    claim_vouched: bool = False
    claimed_aid_case_id: CaseId | None = None
    proceed_without_waiver: bool = False
    at: datetime


def assess(command: AssessFee, state: Application) -> list[Event]:
    if state.status != "accepted":
        raise InvalidTransition("assess the fee of", state.status)
    waiver = command.waiver
    claimed = command.claimed_aid_case_id or state.aid_case_id
    if waiver is not None:
        # the registry is keyed by person and matter; re-check so a wrong lookup can never waive a fee
        if waiver.person_ref != state.applicant_ref:
            raise ValidationFailed("fee waiver is for another person than the applicant", field="waiver")
        if waiver.notary_matter != state.matter:
            raise ValidationFailed(
                f"fee waiver covers matter {waiver.notary_matter!r}, not {state.matter!r}", field="waiver"
            )
        if command.claimed_aid_case_id and waiver.aid_case_id != command.claimed_aid_case_id:
            waiver = None
    if waiver is None and claimed is not None and not command.proceed_without_waiver:
        raise DomainError(
            f"no fee waiver from legal aid covers this applicant and matter {state.matter!r} for aid case {claimed}: "
            "the applicant is not (yet) an aid recipient for it; assess again once legal aid's waiver arrives, "
            "or with proceed_without_waiver to charge the standard fee",
            field="waiver",
        )
    share = waiver.waiver if waiver is not None else Decimal(0)
    return [
        FeeAssessed(
            matter=state.matter,
            standard_fee=state.standard_fee,
            charged_fee=charged_fee(state.standard_fee, share),
            waived=share > 0,
            waiver_share=share,
            aid_linked=claimed is not None or waiver is not None,
            aid_link_verified=waiver is not None or (claimed is not None and command.claim_vouched),
            aid_case_id=waiver.aid_case_id if waiver is not None else claimed,
            waiver_basis=FEE_WAIVER_BASIS if share > 0 else None,
            assessed_at=command.at,
        )
    ]


def charged_fee(standard_fee: Decimal, waived_share: Decimal) -> Decimal:
    """The fee left after the waived share, exact and rounded half up to the fen."""
    return (standard_fee * (1 - waived_share)).quantize(FEN, ROUND_HALF_UP)
