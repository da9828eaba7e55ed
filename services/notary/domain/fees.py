"""Fees (收费) and the waivers legal aid grants its recipients (flow 7): the fee charged at assessment.

An aid-linked application whose waiver has not arrived yet is refused assessment until it arrives, unless the
clerk explicitly proceeds without it (then the standard fee is charged).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.common import CaseId, PersonRef
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
    waiver: float = Field(gt=0, le=1)


class AssessFee(Command):
    """`waiver` is what the waiver registry holds for this applicant and matter at assessment time (or None).

    `claimed_aid_case_id`: the aid case the applicant presents (defaults to the linked one); a claim with no
    matching waiver is refused unless `proceed_without_waiver` (then the full fee is charged).
    """

    waiver: WaiverGrant | None = None
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
    share = waiver.waiver if waiver is not None else 0.0
    return [
        FeeAssessed(
            matter=state.matter,
            standard_fee=state.standard_fee,
            charged_fee=round(state.standard_fee * (1 - share), 2),
            waived=share > 0,
            waiver_share=share,
            aid_linked=claimed is not None or waiver is not None,
            aid_case_id=waiver.aid_case_id if waiver is not None else claimed,
            assessed_at=command.at,
        )
    ]
