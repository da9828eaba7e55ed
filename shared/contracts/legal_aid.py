"""Legal aid (法律援助): events of an aid case. Extended by the legal aid service."""

from __future__ import annotations

from datetime import datetime

from shared.contracts.common import CaseId, PersonRef, ShortText
from shared.events import Event, event


@event
class NotaryFeeWaiverGranted(Event):
    """Flow 7: an aid recipient's notarisation for this aid matter has its fee reduced or waived."""

    event_type = "caseflow.legal_aid.notary_fee_waiver_granted"
    aid_case_id: CaseId
    person_ref: PersonRef
    notary_matter: ShortText  # matter catalogue id the waiver covers
    waiver: float = 1.0  # share of the standard fee waived: 1.0 = full waiver, 0.5 = halved
    granted_at: datetime
